import type { IncomingMessage } from 'node:http';

/** The client went away before its request body ended: nobody is left to answer. */
export class ClientClosedRequestError extends Error {
  override readonly name = 'ClientClosedRequestError';
  constructor() {
    super('The client closed the connection mid-request.');
  }
}

export type RequestBody =
  | { readonly tooLarge: false; readonly bytes: Buffer }
  | { readonly tooLarge: true; readonly receivedBytes: number };

/**
 * Reads a request body to its end. Past `limitBytes` it stops buffering but keeps reading (and discarding):
 * a server that answers while the client is still sending resets the connection, and the client then sees a
 * broken pipe instead of the 413 it should get. Rejects when the client goes away mid-body.
 */
export function readRequestBody(request: IncomingMessage, limitBytes: number): Promise<RequestBody> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let receivedBytes = 0;
    request.on('data', (chunk: Buffer) => {
      receivedBytes += chunk.length;
      if (receivedBytes <= limitBytes) chunks.push(chunk);
    });
    request.once('end', () =>
      resolve(
        receivedBytes > limitBytes
          ? { tooLarge: true, receivedBytes }
          : { tooLarge: false, bytes: Buffer.concat(chunks, receivedBytes) },
      ),
    );
    // A request stream fails only when its client resets the connection. After 'end', these are no-ops.
    request.once('error', () => reject(new ClientClosedRequestError()));
    request.once('close', () => reject(new ClientClosedRequestError()));
  });
}
