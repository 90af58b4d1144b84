import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../local/dynamodb-local.js';
import { ChatCompletionsStub, type StubAnswer } from './chat-completions-stub.js';
import {
  type HttpAnswer,
  noModelEnvironment,
  type ServerOptions,
  type ServerProcess,
  startServer,
  stopAllServers,
  temporaryDataDir,
  waitUntil,
} from './server-process.js';

/** A server on the suite's shared DynamoDB Local, on a table of its own. */
const sharedTable = (env: ServerOptions['env']): ServerOptions => ({
  dynamoDbEndpoint: inject('dynamoDbEndpoint'),
  tableName: `e2e-turns-${randomUUID()}`,
  env: { ...noModelEnvironment, ...env },
});

const turnsOf = (conversationId: string) => `/v1/conversations/${conversationId}/turns`;
const messagesOf = (conversationId: string) => `/v1/conversations/${conversationId}/messages`;

async function turn(
  server: ServerProcess,
  conversationId: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<HttpAnswer> {
  return server.request('POST', turnsOf(conversationId), { body, headers });
}

async function history(server: ServerProcess, conversationId: string): Promise<HttpAnswer> {
  return server.request('GET', `${messagesOf(conversationId)}?limit=1000`);
}

/** The handler's JSON log lines (POWERTOOLS_LOG_LEVEL=INFO) about turns, from the server's output. */
function turnLogLines(server: ServerProcess): Array<Record<string, unknown>> {
  return server
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line.route === 'AgentTurns');
}

describe('local server: agent turns', () => {
  afterAll(stopAllServers);

  describe('with the offline model', () => {
    let server: ServerProcess;

    beforeAll(async () => {
      server = await startServer(sharedTable({ MODEL_PROVIDER: 'offline', POWERTOOLS_LOG_LEVEL: 'INFO' }));
    });

    it('grows the context across turns', async () => {
      // Prepare
      const conversation = `grows-${randomUUID()}`;

      // Act
      const first = await turn(server, conversation, { message: 'My name is Ada.' });
      const second = await turn(server, conversation, { message: 'What is my name?' });

      // Assess
      expect(first.status, server.output()).toBe(201);
      expect(first.json).toMatchObject({ conversationId: conversation, version: 2, contextMessages: 0 });
      expect(first.json.model).toBe('offline');
      expect(first.json.reply.content).toBe('[offline] history: 0 messages, you said: My name is Ada.');
      expect(second.status).toBe(201);
      expect(second.json).toMatchObject({ version: 4, contextMessages: 2 });
      expect(second.json.reply.content).toBe('[offline] history: 2 messages, you said: What is my name?');
      const stored = await history(server, conversation);
      expect(stored.json.messages).toEqual([...first.json.messages, ...second.json.messages]);
      expect(stored.json.messages.map((message: { role: string }) => message.role)).toEqual([
        'user',
        'assistant',
        'user',
        'assistant',
      ]);
    });

    it('replays a turn with the same Idempotency-Key without a second model call', async () => {
      // Prepare
      const conversation = `replay-${randomUUID()}`;
      const request = { message: 'Only once, please.' };
      const headers = { 'Idempotency-Key': 'turn-1' };
      const first = await turn(server, conversation, request, headers);

      // Act
      const replay = await turn(server, conversation, request, headers);

      // Assess: the identical reply and version, nothing appended, and the model was not asked again.
      expect(first.status).toBe(201);
      expect(replay.status).toBe(200);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(replay.json).toEqual(first.json);
      expect((await history(server, conversation)).json.version).toBe(2);
      const lines = turnLogLines(server).filter((line) => line.conversationId === conversation);
      expect(lines.map((line) => [line.statusCode, line.replayed, line.modelCalls])).toEqual([
        [201, false, 1],
        [200, true, 0],
      ]);
      // A different body under the same key is refused.
      const reused = await turn(server, conversation, { message: 'Something else.' }, headers);
      expect(reused.status).toBe(422);
      expect(reused.json.error.code).toBe('idempotency_key_reused');
    });

    it('answers 409 version_conflict for a stale expectedVersion, storing nothing', async () => {
      // Prepare
      const conversation = `stale-${randomUUID()}`;
      await turn(server, conversation, { message: 'first' });
      const before = await history(server, conversation);

      // Act
      const stale = await turn(server, conversation, { message: 'second', expectedVersion: 0 });

      // Assess
      expect(stale.status).toBe(409);
      expect(stale.json.error).toMatchObject({ code: 'version_conflict', currentVersion: 2 });
      expect((await history(server, conversation)).json).toEqual(before.json);
      const current = await turn(server, conversation, { message: 'second', expectedVersion: 2 });
      expect(current.status).toBe(201);
      expect(current.json.version).toBe(4);
    });

    it('answers 400 for a blank message and 413 for a message over 256 KiB, storing nothing', async () => {
      // Prepare
      const conversation = `invalid-${randomUUID()}`;

      // Act
      const blank = await turn(server, conversation, { message: '  ' });
      const large = await turn(server, conversation, { message: 'x'.repeat(256 * 1024) });

      // Assess
      expect(blank.status).toBe(400);
      expect(blank.json.error.code).toBe('invalid_request');
      expect(large.status).toBe(413);
      expect(large.json.error.code).toBe('payload_too_large');
      expect((await server.request('GET', `/v1/conversations/${conversation}`)).status).toBe(404);
    });
  });

  it('keeps the context across a server restart: two turns, a restart, a third turn reports contextMessages: 4', async () => {
    // Prepare: the embedded DynamoDB Local on disk, as `npm start` runs it.
    const dataDir = temporaryDataDir();
    const env = { ...noModelEnvironment, MODEL_PROVIDER: 'offline' };
    const conversation = 'restart';
    const before = await startServer({ dataDir, env });
    const first = await turn(before, conversation, { message: 'one' });
    const second = await turn(before, conversation, { message: 'two' });
    before.signalGroup('SIGTERM');
    const exit = await before.exited;

    // Act
    const after = await startServer({ dataDir, env });
    const third = await turn(after, conversation, { message: 'three' });

    // Assess
    expect([first.status, second.status]).toEqual([201, 201]);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(third.status, after.output()).toBe(201);
    expect(third.json).toMatchObject({ version: 6, contextMessages: 4 });
    expect(third.json.reply.content).toBe('[offline] history: 4 messages, you said: three');
    const stored = await history(after, conversation);
    expect(stored.json.messages.map((message: { seq: number }) => message.seq)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  describe('with an OpenAI-compatible model', () => {
    const stub = new ChatCompletionsStub();
    let server: ServerProcess;

    beforeAll(async () => {
      await stub.start();
      server = await startServer(
        sharedTable({
          MODEL_PROVIDER: 'openai',
          MODEL_ID: 'stub-model',
          OPENAI_BASE_URL: stub.baseUrl,
          OPENAI_API_KEY: 'stub-key',
          MODEL_TIMEOUT_MS: '3000',
        }),
      );
    });

    afterAll(() => stub.stop());

    /** Runs a turn while another writer appends between the turn's load and its commit. */
    async function turnRacedByAppend(conversation: string, body: Record<string, unknown>) {
      let release: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      const callsBefore = stub.calls.length;
      stub.answer = async (call, index) => {
        if (index === callsBefore) await gate;
        return stub.reply('stub', call);
      };
      const pending = turn(server, conversation, body);
      expect(await waitUntil(() => stub.calls.length > callsBefore, 10_000)).toBe(true);
      const append = await server.request('POST', messagesOf(conversation), {
        body: { messages: [{ role: 'user', content: 'written meanwhile' }] },
      });
      release();
      return { answer: await pending, append, calls: stub.calls.slice(callsBefore) };
    }

    it('sends the history to the model with its key and stores its reply', async () => {
      // Prepare
      const conversation = `openai-${randomUUID()}`;
      stub.answer = (call) => stub.reply('stub', call);

      // Act
      const first = await turn(server, conversation, { message: 'hello', system: 'Be brief.' });
      const second = await turn(server, conversation, { message: 'again' });

      // Assess
      expect(first.status, server.output()).toBe(201);
      expect(first.json).toMatchObject({ model: 'stub-model', contextMessages: 0 });
      expect(first.json.reply.content).toBe('stub (history: 1)');
      expect(second.json.reply.content).toBe('stub (history: 2)');
      const [firstCall, secondCall] = stub.calls.slice(-2);
      expect(firstCall?.authorization).toBe('Bearer stub-key');
      expect(firstCall?.body.messages).toEqual([
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'hello' },
      ]);
      expect(secondCall?.body.messages.map((message) => message.content)).toEqual([
        'hello',
        'stub (history: 1)',
        'again',
      ]);
    });

    it('regenerates on the new history when another writer appends between load and commit', async () => {
      // Prepare
      const conversation = `raced-${randomUUID()}`;

      // Act
      const { answer, append, calls } = await turnRacedByAppend(conversation, { message: 'hello' });

      // Assess: two model calls, the second one saw the concurrent message; nothing lost or duplicated.
      expect(append.status).toBe(201);
      expect(answer.status, server.output()).toBe(201);
      expect(calls).toHaveLength(2);
      expect(calls[1]?.body.messages.map((message) => message.content)).toEqual([
        'written meanwhile',
        'hello',
      ]);
      expect(answer.json).toMatchObject({ version: 3, contextMessages: 1 });
      const stored = await history(server, conversation);
      expect(stored.json.messages.map((message: { content: string }) => message.content)).toEqual([
        'written meanwhile',
        'hello',
        'stub (history: 1)',
      ]);
    });

    it('answers 409 version_conflict with expectedVersion when another writer appends first, storing nothing of the turn', async () => {
      // Prepare
      const conversation = `raced-expected-${randomUUID()}`;

      // Act
      const { answer, append, calls } = await turnRacedByAppend(conversation, {
        message: 'hello',
        expectedVersion: 0,
      });

      // Assess
      expect(append.status).toBe(201);
      expect(answer.status).toBe(409);
      expect(answer.json.error).toMatchObject({ code: 'version_conflict', currentVersion: 1 });
      expect(calls).toHaveLength(1);
      const stored = await history(server, conversation);
      expect(stored.json.messages.map((message: { content: string }) => message.content)).toEqual([
        'written meanwhile',
      ]);
    });

    it.each<[string, StubAnswer, number, string, RegExp]>([
      [
        'answers 500',
        { status: 500, body: { error: 'boom' } },
        502,
        'model_error',
        /^The model provider failed \(HTTP 500\)\.$/,
      ],
      ['drops the connection', 'drop', 502, 'model_error', /^The model provider could not be reached\.$/],
      ['never answers', 'hang', 504, 'model_timeout', /^The model did not answer within 3000 ms\.$/],
    ])('stores nothing when the model %s', async (_, stubAnswer, status, code, message) => {
      // Prepare
      const conversation = `failing-${randomUUID()}`;
      stub.answer = (call) => stub.reply('stub', call);
      await turn(server, conversation, { message: 'before' });
      const before = await history(server, conversation);
      stub.answer = () => stubAnswer;

      // Act
      const failed = await turn(server, conversation, { message: 'this one fails' });

      // Assess
      expect(failed.status).toBe(status);
      expect(failed.json).toEqual({ error: { code, message: expect.stringMatching(message) } });
      expect((await history(server, conversation)).json).toEqual(before.json);
      expect(before.json.version).toBe(2);
    });
  });

  it('answers 502 model_error when the model endpoint is down, and the conversation is unchanged', async () => {
    // Prepare: nothing listens on the model port.
    const closedPort = await freePort();
    const server = await startServer(
      sharedTable({
        MODEL_PROVIDER: 'openai',
        MODEL_ID: 'gone-model',
        OPENAI_BASE_URL: `http://127.0.0.1:${closedPort}/v1`,
        OPENAI_API_KEY: 'unused',
      }),
    );
    const conversation = 'model-down';
    await server.request('POST', messagesOf(conversation), {
      body: { messages: [{ role: 'user', content: 'already here' }] },
    });
    const before = await history(server, conversation);

    // Act
    const failed = await turn(server, conversation, { message: 'hello?' }, { 'Idempotency-Key': 'k-1' });

    // Assess
    expect(failed.status).toBe(502);
    expect(failed.json).toEqual({
      error: { code: 'model_error', message: 'The model provider could not be reached.' },
    });
    expect((await history(server, conversation)).json).toEqual(before.json);
    expect(before.json.version).toBe(1);
  });
});
