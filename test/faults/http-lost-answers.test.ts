import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { keys } from '../../lambda/memory/table.js';
import { type ServerProcess, startServer, stopAllServers } from '../e2e/server-process.js';
import { DynamoDbProxy, dynamoDbErrors } from './dynamodb-proxy.js';
import { type LostAnswerOptions, lostAnswer } from './fault-rules.js';

/*
 * The issue's effects, end to end: `npm start`'s server process on DynamoDB Local behind the fault proxy. A
 * transaction is applied by DynamoDB and its answer lost; its resend is cancelled as a TransactionConflict
 * (once, as observed, or every time after another writer got in). Each request must be answered as what
 * happened, and stored once.
 */

const contents = (answer: { json: { messages: Array<{ content: unknown }> } }) =>
  answer.json.messages.map((message) => message.content);
let counter = 0;
const newId = () => `http-lost-${++counter}`;
const messagesPath = (id: string) => `/v1/conversations/${id}/messages`;
const user = (content: string) => ({ role: 'user', content });

describe('local server when DynamoDB answers are lost', () => {
  let proxy: DynamoDbProxy;
  let server: ServerProcess;
  const history = async (id: string) => (await server.request('GET', `${messagesPath(id)}?limit=1000`)).json;

  beforeAll(async () => {
    proxy = await DynamoDbProxy.start(inject('dynamoDbEndpoint'));
    server = await startServer({
      dynamoDbEndpoint: proxy.endpoint,
      tableName: `faults-${randomUUID()}`,
      env: { POWERTOOLS_LOG_LEVEL: 'INFO' },
    });
  });
  afterEach(() => {
    proxy.rule = () => 'forward';
  });
  afterAll(async () => {
    await stopAllServers();
    await proxy.stop();
  });

  /** The sequence exactly, and the harder one where the store must settle it from the table. */
  const variants: Array<[string, (id: string) => Omit<LostAnswerOptions, 'partition'>]> = [
    ['the resend is cancelled once as a conflict', () => ({ resends: 'conflict-once' })],
    [
      'another writer gets in, then every resend is cancelled as a conflict',
      (id) => ({
        resends: 'conflict-always',
        beforeResend: () => server.request('POST', messagesPath(id), { body: { messages: [user('other')] } }),
      }),
    ],
  ];

  describe.each(variants)('when %s', (_variant, faults) => {
    const lose = (id: string) => {
      proxy.rule = lostAnswer({ partition: keys.partition('local', id), ...faults(id) });
    };

    it('an append without a key is answered 201 and stored once', async () => {
      // Prepare
      const id = newId();
      await server.request('POST', messagesPath(id), { body: { messages: [user('before')] } });
      lose(id);

      // Act
      const answer = await server.request('POST', messagesPath(id), {
        body: { messages: [user('a'), user('b')] },
      });

      // Assess
      const stored = await history(id);
      expect(answer.status, answer.text).toBe(201);
      expect(contents(answer)).toEqual(['a', 'b']);
      expect(stored.messages.filter((m: { content: string }) => m.content === 'a')).toHaveLength(1);
      expect(stored.messages.slice(1, 3)).toEqual(answer.json.messages);
    });

    it('an append with expectedVersion is answered 201, not 409 version_conflict', async () => {
      // Prepare
      const id = newId();
      await server.request('POST', messagesPath(id), { body: { messages: [user('before')] } });
      lose(id);

      // Act
      const answer = await server.request('POST', messagesPath(id), {
        body: { messages: [user('mine')], expectedVersion: 1 },
      });

      // Assess
      expect(answer.status, answer.text).toBe(201);
      expect(answer.json.version).toBe(2);
      expect((await history(id)).messages[1]).toEqual(answer.json.messages[0]);
    });

    it('an edit is answered 200 with what it did, not 409 suffix_mismatch', async () => {
      // Prepare
      const id = newId();
      await server.request('POST', messagesPath(id), { body: { messages: [user('a'), user('b')] } });
      lose(id);

      // Act
      const answer = await server.request('POST', `/v1/conversations/${id}/edits`, {
        body: { expectedSuffix: [user('b')], replacement: [user('B')] },
      });

      // Assess
      const stored = await history(id);
      expect(answer.status, answer.text).toBe(200);
      expect(contents({ json: { messages: answer.json.removed } })).toEqual(['b']);
      expect(stored.messages.map((m: { content: string }) => m.content).slice(0, 2)).toEqual(['a', 'B']);
      expect(stored.messages[1]).toEqual(answer.json.messages[0]);
    });

    it.each([
      ['without a key', {}],
      ['with an Idempotency-Key', { 'idempotency-key': 'patch-once' }],
    ])('a PATCH %s is answered 200 as applied, applied once', async (_key, headers) => {
      // Prepare
      const id = newId();
      await server.request('POST', messagesPath(id), { body: { messages: [user('before')] } });
      lose(id);

      // Act
      const answer = await server.request('PATCH', `/v1/conversations/${id}`, {
        body: { title: 'Mine', metadata: { step: 1 } },
        headers,
      });

      // Assess: one revision, and the messages' version where the append left it
      const stored = await server.request('GET', `/v1/conversations/${id}`);
      expect(answer.status, answer.text).toBe(200);
      expect(answer.headers.get('idempotent-replayed')).toBeNull();
      expect(answer.json).toMatchObject({ title: 'Mine', metadata: { step: 1 }, revision: 1 });
      expect(stored.json).toMatchObject({ title: 'Mine', metadata: { step: 1 }, revision: 1 });
      expect(stored.json.version).toBe((await history(id)).version);
    });

    it('an agent turn is answered 201 once and stores its user message and reply once', async () => {
      // Prepare
      const id = newId();
      await server.request('POST', messagesPath(id), { body: { messages: [user('before')] } });
      lose(id);

      // Act
      const answer = await server.request('POST', `/v1/conversations/${id}/turns`, {
        body: { message: 'What did I say?' },
      });

      // Assess
      const stored = await history(id);
      expect(answer.status, answer.text).toBe(201);
      expect(stored.messages.filter((m: { role: string }) => m.role === 'assistant')).toHaveLength(1);
      expect(
        stored.messages.filter((m: { content: string }) => m.content === 'What did I say?'),
      ).toHaveLength(1);
      expect(stored.messages.slice(1, 3)).toEqual(answer.json.messages);
    });

    const chatMessage = { id: 'u-1', role: 'user', parts: [{ type: 'text', text: 'use weather city=Oslo' }] };
    const tools = [{ name: 'weather', inputSchema: { type: 'object' } }];
    const finishedOnce = (answer: { status: number; text: string }) => {
      expect(answer.status, answer.text).toBe(200);
      expect(answer.text).toContain('"type":"finish"');
      expect(answer.text).not.toContain('"type":"error"');
    };

    it("useChat's chat turn finishes once and stores one user message and one reply", async () => {
      // Prepare
      const id = newId();
      await server.request('POST', messagesPath(id), { body: { messages: [user('before')] } });
      lose(id);

      // Act
      const answer = await server.request('POST', '/v1/chats', { body: { id, message: chatMessage, tools } });

      // Assess
      finishedOnce(answer);
      const stored = (await history(id)).messages as Array<{ id: string; role: string }>;
      expect(stored.filter((m) => m.id === 'u-1')).toHaveLength(1);
      expect(stored.filter((m) => m.role === 'assistant')).toHaveLength(1);
    });

    it("useChat's continuation (a client tool output) finishes once: one assistant message with that id", async () => {
      // Prepare: a reply that calls a tool the browser runs, stored without faults.
      const id = newId();
      await server.request('POST', '/v1/chats', { body: { id, message: chatMessage, tools } });
      const [, reply] = (await history(id)).messages;
      const withOutput = {
        id: reply.id,
        role: 'assistant',
        parts: reply.content.map((part: { type: string }) =>
          part.type === 'tool-weather' ? { ...part, state: 'output-available', output: '-3°C' } : part,
        ),
      };
      lose(id);

      // Act: the history edit that replaces the message loses its answer.
      const answer = await server.request('POST', '/v1/chats', { body: { id, message: withOutput, tools } });

      // Assess
      finishedOnce(answer);
      const stored = (await history(id)).messages as Array<{ id: string; role: string; content: unknown }>;
      expect(stored.filter((m) => m.id === reply.id)).toHaveLength(1);
      expect(stored.filter((m) => m.role === 'assistant')).toHaveLength(1);
      expect(JSON.stringify(stored.find((m) => m.id === reply.id)?.content)).toContain(
        '[offline] tool results: weather=-3°C',
      );
    });
  });

  describe('the local write fence', () => {
    // The write fence's read of the head (local/write-fence.ts): the key, and the compactor's mark.
    const fenceRead = (request: { operation: string; body: { ProjectionExpression?: string } }) =>
      request.operation === 'GetItem' && request.body?.ProjectionExpression === 'pk, summaryDue';

    it('answers a write 201 when its durability read fails a few times before it succeeds', async () => {
      // Prepare: more failures than one read's SDK retries absorb.
      const id = newId();
      let failures = 6;
      proxy.rule = (request) =>
        fenceRead(request) && failures-- > 0 ? { reply: dynamoDbErrors.internalServerError() } : 'forward';

      // Act
      const answer = await server.request('POST', messagesPath(id), { body: { messages: [user('x')] } });

      // Assess
      expect(answer.status, answer.text).toBe(201);
      expect(failures).toBeLessThan(0);
      expect((await history(id)).messages).toEqual(answer.json.messages);
    });

    it('answers an unkeyed write that DynamoDB Local applied with its result even when durability is never confirmed; a keyed one 503, and its retry replays', async () => {
      // Prepare
      const id = newId();
      proxy.rule = (request) =>
        fenceRead(request) ? { reply: dynamoDbErrors.internalServerError() } : 'forward';

      // Act
      const unkeyed = await server.request('POST', messagesPath(id), {
        body: { messages: [user('no key')] },
      });
      const keyed = await server.request('POST', messagesPath(id), {
        body: { messages: [user('keyed')] },
        headers: { 'Idempotency-Key': 'fence-1' },
      });
      proxy.rule = () => 'forward';
      const retried = await server.request('POST', messagesPath(id), {
        body: { messages: [user('keyed')] },
        headers: { 'Idempotency-Key': 'fence-1' },
      });

      // Assess
      expect(unkeyed.status, unkeyed.text).toBe(201);
      expect(keyed.status).toBe(503);
      expect(keyed.headers.get('retry-after')).toBe('1');
      expect(keyed.json.error).toMatchObject({
        code: 'unavailable',
        message: expect.stringMatching(/applied/),
      });
      expect(retried.status).toBe(200);
      expect(retried.headers.get('idempotent-replayed')).toBe('true');
      expect((await history(id)).messages.map((m: { content: string }) => m.content)).toEqual([
        'no key',
        'keyed',
      ]);
      expect(server.output()).toMatch(/applied, but DynamoDB Local did not confirm/);
    });
  });

  it('logs each request with the function name of its own route, also while other routes run', async () => {
    // Prepare: the append waits in DynamoDB while a read of another route completes.
    const id = newId();
    proxy.rule = (request) => (request.operation === 'TransactWriteItems' ? { delayMs: 400 } : 'forward');

    // Act
    const append = server.request('POST', messagesPath(id), { body: { messages: [user('slow')] } });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await server.request('GET', messagesPath(id));
    expect((await append).status).toBe(201);

    // Assess
    const lines = server
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { route?: string; conversationId?: string; function_name?: string });
    const logged = lines.filter((line) => line.conversationId === id);
    expect(logged.map((line) => [line.route, line.function_name])).toEqual([
      ['LoadMessages', 'agent-memory-local-LoadMessages'],
      ['AppendMessages', 'agent-memory-local-AppendMessages'],
    ]);
  });
});
