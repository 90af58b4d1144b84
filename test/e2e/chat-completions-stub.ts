import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ChatCall {
  readonly body: { model: string; messages: Array<{ role: string; content: unknown }> };
  readonly authorization: string | undefined;
}

/**
 * A status and body; no answer at all ('hang'); a dropped connection ('drop'); or a streamed completion (`stream`:
 * its text in pieces, `delayMs` apart, as chat-completions chunks of Server-Sent Events).
 */
export type StubAnswer =
  | { status: number; body: unknown }
  | 'hang'
  | 'drop'
  | { stream: readonly string[]; delayMs: number };

/**
 * An OpenAI-compatible chat-completions endpoint on a free loopback port, answering as `answer` says:
 * a status and body, no answer at all ('hang'), or a dropped connection ('drop').
 */
export class ChatCompletionsStub {
  readonly calls: ChatCall[] = [];
  answer: (call: ChatCall, index: number) => Promise<StubAnswer> | StubAnswer = () => this.reply('ok');
  private server: Server | undefined;
  private port = 0;

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}/v1`;
  }

  async start(): Promise<void> {
    this.server = createServer((request, response) => void this.handle(request, response));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  /** A chat completion whose text says how many messages the request carried before the new one. */
  reply(text: string, call?: ChatCall): StubAnswer {
    const history = call === undefined ? 0 : call.body.messages.length - 1;
    return {
      status: 200,
      body: {
        id: `chatcmpl-${randomUUID()}`,
        object: 'chat.completion',
        model: call?.body.model ?? 'stub-model',
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: `${text} (history: ${history})` },
            finish_reason: 'stop',
          },
        ],
        usage: { prompt_tokens: 10, completion_tokens: 3, total_tokens: 13 },
      },
    };
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const call: ChatCall = {
      body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
      authorization: request.headers.authorization,
    };
    this.calls.push(call);
    const answer = await this.answer(call, this.calls.length - 1);
    if (answer === 'hang') return;
    if (answer === 'drop') {
      request.socket.destroy();
      return;
    }
    if ('stream' in answer) {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      const chunk = (delta: object, finish: string | null = null) =>
        `data: ${JSON.stringify({ id: 'chatcmpl-stub', object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
      response.write(chunk({ role: 'assistant', content: '' }));
      for (const piece of answer.stream) {
        await new Promise((resolve) => setTimeout(resolve, answer.delayMs));
        if (response.destroyed) return;
        response.write(chunk({ content: piece }));
      }
      response.write(chunk({}, 'stop'));
      response.end('data: [DONE]\n\n');
      return;
    }
    response.writeHead(answer.status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(answer.body));
  }
}
