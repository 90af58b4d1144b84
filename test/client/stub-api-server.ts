import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request as the stub received it. */
export interface ReceivedRequest {
  readonly method: string;
  /** Path and query, as sent. */
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  /** The body parsed as JSON, or undefined. */
  // biome-ignore lint/suspicious/noExplicitAny: tests assert on request bodies field by field.
  readonly json: any;
}

/** What the stub does with one request: answer it, or break the connection. */
export type StubReply =
  | {
      readonly status: number;
      readonly body?: unknown;
      readonly headers?: Readonly<Record<string, string>>;
      /** Answer only after this long (to exercise timeouts). */
      readonly delayMs?: number;
    }
  | { readonly destroy: true };

export type StubHandler = (request: ReceivedRequest) => StubReply;

/**
 * A real HTTP server on 127.0.0.1 that answers from a script: the next queued reply per request, then the
 * fallback. Every request is recorded.
 */
export class StubApiServer {
  readonly requests: ReceivedRequest[] = [];
  private readonly queue: StubHandler[] = [];
  private fallback: StubHandler = () => ({
    status: 500,
    body: { error: { code: 'internal', message: 'unscripted' } },
  });
  private server: Server | undefined;
  private sockets = new Set<import('node:net').Socket>();
  url = '';

  async start(): Promise<this> {
    this.server = createServer((request, response) => void this.handle(request, response));
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  /** Clears the script and the recorded requests. */
  reset(): void {
    this.requests.length = 0;
    this.queue.length = 0;
    this.fallback = () => ({ status: 500, body: { error: { code: 'internal', message: 'unscripted' } } });
  }

  /** Queues replies, one per request, in order. */
  reply(...replies: Array<StubReply | StubHandler>): this {
    this.queue.push(...replies.map((reply) => (typeof reply === 'function' ? reply : () => reply)));
    return this;
  }

  /** The reply for every request once the queue is empty. */
  otherwise(reply: StubReply | StubHandler): this {
    this.fallback = typeof reply === 'function' ? reply : () => reply;
    return this;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    let json: unknown;
    try {
      json = body.length > 0 ? JSON.parse(body) : undefined;
    } catch {
      json = undefined;
    }
    const received: ReceivedRequest = {
      method: request.method ?? '',
      url: request.url ?? '',
      headers: request.headers,
      body,
      json,
    };
    this.requests.push(received);
    const reply = (this.queue.shift() ?? this.fallback)(received);
    if ('destroy' in reply) {
      request.socket.destroy();
      return;
    }
    if (reply.delayMs) await new Promise((resolve) => setTimeout(resolve, reply.delayMs));
    if (response.destroyed) return;
    const text = reply.body === undefined ? '' : JSON.stringify(reply.body);
    response.writeHead(reply.status, {
      ...(text.length > 0 ? { 'content-type': 'application/json' } : {}),
      ...reply.headers,
    });
    response.end(text);
  }
}
