import { Writable } from 'node:stream';

/*
 * Lambda's response streaming, as the Node.js runtime provides it (the `awslambda` global), for the local server
 * and tests: `awslambda.streamifyResponse(handler)` marks a handler as streaming, and
 * `awslambda.HttpResponseStream.from(stream, { statusCode, headers })` makes the stream's first write send that
 * metadata as JSON followed by 8 NUL bytes, the framing API Gateway's REST API reads from a streaming function.
 * LambdaResponseStream receives exactly those bytes and plays API Gateway's part: it splits the metadata from
 * the body and hands both on. So a handler writes the same bytes here as in Lambda.
 */

const streamingHandlers = new WeakSet<object>();
const delimiter = Buffer.alloc(8);

type FirstWriteHook = (write: (chunk: string | Uint8Array) => void) => void;

/** Where a response goes: its metadata once, then body pieces in order; each may take its time. */
export interface ResponseSink {
  head(metadata: { statusCode?: number; headers?: Record<string, string> }): Promise<void> | void;
  body(chunk: Buffer): Promise<void> | void;
  end(): Promise<void> | void;
}

/** The stream a streaming handler writes to (the runtime's response stream, as far as handlers use it). */
export class LambdaResponseStream extends Writable {
  /** Set by HttpResponseStream.from: runs once, just before the first write, as in the runtime. */
  _onBeforeFirstWrite: FirstWriteHook | undefined;
  private written = false;
  private prelude: Buffer | undefined = Buffer.alloc(0);

  constructor(private readonly sink: ResponseSink) {
    super();
  }

  setContentType(contentType: string): void {
    if (this.written) throw new Error('Cannot set content-type, too late.');
    this.contentType = contentType;
  }

  contentType = 'application/octet-stream';

  override write(chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
    if (!this.written) {
      this.written = true;
      this._onBeforeFirstWrite?.((first) => super.write(first));
    }
    return super.write(chunk, encoding as BufferEncoding, callback as (error?: Error | null) => void);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.take(chunk).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    Promise.resolve()
      .then(async () => {
        if (this.prelude !== undefined && this.contentType !== httpIntegrationContentType) {
          // A plain stream (no HttpResponseStream.from): API Gateway would see no metadata; answer it as is.
          await this.sink.head({ statusCode: 200, headers: { 'content-type': this.contentType } });
          if (this.prelude.length > 0) await this.sink.body(this.prelude);
        }
        await this.sink.end();
      })
      .then(() => callback(), callback);
  }

  /** Metadata until the delimiter, then body. */
  private async take(chunk: Buffer): Promise<void> {
    if (this.prelude === undefined) return this.sink.body(chunk);
    if (this.contentType !== httpIntegrationContentType) {
      this.prelude = undefined;
      await this.sink.head({ statusCode: 200, headers: { 'content-type': this.contentType } });
      return this.sink.body(chunk);
    }
    const buffered = Buffer.concat([this.prelude, chunk]);
    const at = buffered.indexOf(delimiter);
    if (at < 0) {
      this.prelude = buffered;
      return;
    }
    this.prelude = undefined;
    await this.sink.head(JSON.parse(buffered.subarray(0, at).toString('utf8')));
    const rest = buffered.subarray(at + delimiter.length);
    if (rest.length > 0) await this.sink.body(rest);
  }
}

const httpIntegrationContentType = 'application/vnd.awslambda.http-integration-response';

export type StreamingLambdaHandler = (
  event: unknown,
  stream: LambdaResponseStream,
  context: unknown,
) => Promise<void>;

export function isStreamingHandler(handler: unknown): handler is StreamingLambdaHandler {
  return typeof handler === 'function' && streamingHandlers.has(handler);
}

/**
 * Adds response streaming to the `awslambda` global unless a runtime provided it (other libraries keep their own
 * members there, e.g. AWS's invoke store); call it before importing a streaming handler.
 */
export function installLambdaResponseStreaming(): void {
  const global = globalThis as { awslambda?: Record<string, unknown> };
  if (typeof global.awslambda?.streamifyResponse === 'function') return;
  global.awslambda = {
    ...global.awslambda,
    streamifyResponse<H extends object>(handler: H): H {
      streamingHandlers.add(handler);
      return handler;
    },
    HttpResponseStream: {
      from(stream: LambdaResponseStream, metadata: Record<string, unknown>): LambdaResponseStream {
        stream.setContentType(httpIntegrationContentType);
        const prelude = JSON.stringify(metadata);
        stream._onBeforeFirstWrite = (write) => {
          write(prelude);
          write(delimiter);
        };
        return stream;
      },
    },
  };
}
