import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AgentMemoryClient, ToolResultsMismatchError } from '../../client/index.js';
import { readServerSentEvents } from '../../lambda/streaming/server-sent-events.js';
import { runToolLoop } from '../../scripts/tool-loop.js';
import { ChatCompletionsStub } from './chat-completions-stub.js';
import { noModelEnvironment, type ServerProcess, startServer, stopAllServers } from './server-process.js';

const sharedTable = (env: Record<string, string>) => ({
  dynamoDbEndpoint: inject('dynamoDbEndpoint'),
  tableName: `e2e-tool-loop-${randomUUID()}`,
  env: { ...noModelEnvironment, ...env },
});

describe('local server: tools and streaming', () => {
  afterAll(stopAllServers);

  it('runs scripts/tool-loop.ts: the weather/clock loop, its replays and races, streamed and hung up', async () => {
    // Prepare
    const server = await startServer(sharedTable({ MODEL_PROVIDER: 'offline' }));
    const lines: string[] = [];

    // Act
    await runToolLoop(server.url, (line) => lines.push(line));

    // Assess: every step reported (the script throws on any failed check).
    expect(lines.map((line) => line.split(' ')[0])).toEqual([
      'turn:',
      'continuation',
      'the',
      'two',
      'two',
      'streamed',
      'client',
    ]);
  });

  it('runs the client tool loop: calls, their results (a failing tool as an error result), the answer', async () => {
    // Prepare
    const server = await startServer(sharedTable({ MODEL_PROVIDER: 'offline' }));
    const client = new AgentMemoryClient({ baseUrl: server.url });
    const conversationId = `run-tools-${randomUUID()}`;
    const calls: unknown[] = [];
    const streamed: string[] = [];

    // Act
    const { result, steps } = await client.runTools(
      conversationId,
      'use weather city=Paris and clock',
      {
        weather: {
          inputSchema: { type: 'object' },
          execute: (args) => {
            calls.push(args);
            return { temperature: 18 };
          },
        },
        clock: {
          inputSchema: { type: 'object' },
          execute: () => {
            throw new Error('the clock is broken');
          },
        },
      },
      { onEvent: (event) => streamed.push(event.type) },
    );

    // Assess
    expect(calls).toEqual([{ city: 'Paris' }]);
    expect(steps.map((step) => step.awaitingToolResults)).toEqual([true, false]);
    expect(result.reply.content).toBe(
      '[offline] tool results: weather={"temperature":18}, clock=the clock is broken',
    );
    expect(streamed.filter((type) => type === 'tool_call')).toHaveLength(2);
    const stored = (await client.load(conversationId)).messages;
    expect(stored.map((message) => message.role)).toEqual(['user', 'assistant', 'tool', 'tool', 'assistant']);
    expect(stored[3]).toMatchObject({ name: 'clock', metadata: { isError: true } });

    // A refused continuation is the typed error, before any event.
    const refused = client.streamTurn(conversationId, {
      toolResults: [{ toolCallId: 'nope', content: 'x' }],
    });
    await expect(refused.next()).rejects.toMatchObject({ code: 'no_pending_tool_calls', status: 409 });
    const mismatch = await client.turn(`${conversationId}-2`, 'use weather', {
      tools: [{ name: 'weather', inputSchema: { type: 'object' } }],
    });
    const wrong = client.continueTurn(`${conversationId}-2`, [{ toolCallId: 'nope', content: 'x' }]);
    await expect(wrong).rejects.toBeInstanceOf(ToolResultsMismatchError);
    await expect(wrong).rejects.toMatchObject({
      missing: [mismatch.reply.toolCalls?.[0]?.id],
      unknown: ['nope'],
    });
  });

  describe('with a model that streams slowly (an OpenAI-compatible stub, 10 pieces 150 ms apart)', () => {
    const stub = new ChatCompletionsStub();
    const pieces = ['The ', 'answer ', 'arrives ', 'one ', 'piece ', 'at ', 'a ', 'time, ', 'slowly', '.'];
    let server: ServerProcess;

    beforeAll(async () => {
      await stub.start();
      stub.answer = () => ({ stream: pieces, delayMs: 150 });
      server = await startServer(
        sharedTable({
          MODEL_PROVIDER: 'openai',
          MODEL_ID: 'slow-model',
          OPENAI_BASE_URL: stub.baseUrl,
          OPENAI_API_KEY: 'stub-key',
        }),
      );
    });

    afterAll(() => stub.stop());

    it('delivers the first delta well before the turn ends, and done equals what is stored', async () => {
      // Prepare
      const client = new AgentMemoryClient({ baseUrl: server.url });
      const conversationId = `slow-${randomUUID()}`;
      const started = performance.now();
      let firstDeltaMs: number | undefined;
      const deltas: string[] = [];

      // Act
      const stream = client.streamTurn(conversationId, 'Tell me slowly.');
      let next = await stream.next();
      while (!next.done) {
        if (next.value.type === 'delta') {
          firstDeltaMs ??= performance.now() - started;
          deltas.push(next.value.text);
        }
        next = await stream.next();
      }
      const wholeMs = performance.now() - started;

      // Assess
      console.log(
        `slow model: first delta after ${Math.round(firstDeltaMs ?? -1)} ms, whole turn ${Math.round(wholeMs)} ms`,
      );
      expect(wholeMs).toBeGreaterThan(1400);
      expect(firstDeltaMs).toBeLessThan(wholeMs / 3);
      expect(deltas).toEqual(pieces);
      const stored = await client.load(conversationId);
      expect(next.value.messages).toEqual(stored.messages);
      expect(stored.messages[1]?.content).toBe(pieces.join(''));
    });

    it('commits the turn of a client that hangs up after the first delta; the retry gets it as one delta', async () => {
      // Prepare
      const conversationId = `hang-up-${randomUUID()}`;
      const url = `${server.url}/v1/conversations/${conversationId}/turns`;
      const request = {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'text/event-stream',
          'idempotency-key': 'k-1',
        },
        body: JSON.stringify({ message: 'Tell me slowly.' }),
      };
      const abort = new AbortController();
      const answer = await fetch(url, { ...request, signal: abort.signal });
      const events: string[] = [];

      // Act: hang up after the first delta, long before the model is done.
      await (async () => {
        for await (const event of readServerSentEvents(answer.body as AsyncIterable<Uint8Array>)) {
          events.push(event.event);
          if (event.event === 'delta') return abort.abort();
        }
      })().catch(() => undefined);
      const client = new AgentMemoryClient({ baseUrl: server.url });
      const stored = await waitForMessages(client, conversationId, 2);
      const retry = await fetch(url, request);
      const retried = [];
      for await (const event of readServerSentEvents(retry.body as AsyncIterable<Uint8Array>))
        retried.push(event);

      // Assess
      expect(events).toEqual(['delta']);
      expect(stored.map((message) => [message.role, message.content])).toEqual([
        ['user', 'Tell me slowly.'],
        ['assistant', pieces.join('')],
      ]);
      expect(retried.map((event) => event.event)).toEqual(['delta', 'done']);
      expect(JSON.parse(retried[0]?.data ?? '{}')).toEqual({ text: pieces.join('') });
      expect(JSON.parse(retried[1]?.data ?? '{}').messages).toEqual(stored);
      expect((await client.load(conversationId)).messages).toHaveLength(2);
    });
  });
});

async function waitForMessages(client: AgentMemoryClient, conversationId: string, count: number) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const { messages } = await client.load(conversationId);
    if (messages.length >= count || Date.now() > deadline) return messages;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
