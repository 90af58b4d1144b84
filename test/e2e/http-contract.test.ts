import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  appendMessagesResponseSchema,
  conversationSchema,
  errorBodySchema,
  messagePageSchema,
} from '../../lambda/http/contract/response-schemas.js';
import { type HttpAnswer, type ServerProcess, startServer, stopAllServers } from './server-process.js';

/** The contract's error shape, status, code and JSON content type, in one assertion. */
function expectError(answer: HttpAnswer, status: number, code: string): void {
  expect({ status: answer.status, code: answer.json?.error?.code }, answer.text).toEqual({ status, code });
  expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
  expect(errorBodySchema.safeParse(answer.json).success, answer.text).toBe(true);
  expect(answer.json.error.message.length).toBeGreaterThan(0);
}

const messagesPath = (id: string) => `/v1/conversations/${id}/messages`;
const user = (content: string) => ({ role: 'user', content });

describe('local server: the HTTP contract over real HTTP', () => {
  let server: ServerProcess;
  /** A conversation id no other test uses. */
  const fresh = (name: string) => `${name}-${randomUUID()}`;

  beforeAll(async () => {
    server = await startServer({
      dynamoDbEndpoint: inject('dynamoDbEndpoint'),
      tableName: `e2e-contract-${randomUUID()}`,
    });
  });
  afterAll(stopAllServers);

  describe('GET /health', () => {
    it('answers 200 {"status":"ok"}', async () => {
      const answer = await server.request('GET', '/health');

      expect(answer.status).toBe(200);
      expect(answer.json).toEqual({ status: 'ok' });
    });
  });

  describe('POST /v1/conversations/{conversationId}/messages', () => {
    it('appends a batch atomically with 201, contiguous seqs and messages preserved exactly', async () => {
      // Prepare
      const id = fresh('append');
      const messages = [
        { role: 'system', content: 'Be brief.' },
        {
          role: 'user',
          content: [{ type: 'text', text: 'Weather?', extra: { nested: [1, 'two', null] } }],
          metadata: { source: 'e2e', tags: ['a', 'b'], z: 1, a: 2 },
        },
        {
          id: 'client-id-3',
          role: 'assistant',
          content: '',
          toolCalls: [{ id: 'call-1', name: 'weather', arguments: { city: 'Oslo' } }],
        },
        { role: 'tool', content: '{"celsius":3}', toolCallId: 'call-1', name: 'weather' },
      ];

      // Act
      const answer = await server.request('POST', messagesPath(id), { body: { messages } });

      // Assess
      expect(answer.status, answer.text).toBe(201);
      expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
      expect(appendMessagesResponseSchema.safeParse(answer.json).success).toBe(true);
      expect(answer.json.conversationId).toBe(id);
      expect(answer.json.version).toBe(4);
      expect(answer.json.messages.map((message: { seq: number }) => message.seq)).toEqual([1, 2, 3, 4]);
      for (const [index, sent] of messages.entries()) {
        const { seq, createdAt, id: storedId, ...stored } = answer.json.messages[index];
        expect(stored).toEqual(Object.fromEntries(Object.entries(sent).filter(([key]) => key !== 'id')));
        expect(storedId).toBe(sent.id ?? storedId);
        expect(new Date(createdAt).toISOString()).toBe(createdAt);
      }
      const loaded = await server.request('GET', messagesPath(id));
      expect(loaded.json.messages).toEqual(answer.json.messages);
      // Key order inside metadata survives the round trip byte for byte.
      expect(loaded.text).toContain('"metadata":{"source":"e2e","tags":["a","b"],"z":1,"a":2}');
    });

    it('commits with a matching expectedVersion and answers a stale one with 409 version_conflict', async () => {
      // Prepare
      const id = fresh('expected-version');
      await server.request('POST', messagesPath(id), { body: { messages: [user('one')] } });

      // Act
      const matching = await server.request('POST', messagesPath(id), {
        body: { messages: [user('two')], expectedVersion: 1 },
      });
      const stale = await server.request('POST', messagesPath(id), {
        body: { messages: [user('stale')], expectedVersion: 1 },
      });

      // Assess
      expect(matching.status).toBe(201);
      expect(matching.json.version).toBe(2);
      expectError(stale, 409, 'version_conflict');
      expect(stale.json.error.currentVersion).toBe(2);
      expect((await server.request('GET', messagesPath(id))).json.version).toBe(2);
    });

    it('replays the same Idempotency-Key and body with 200 and Idempotent-Replayed: true, appending nothing', async () => {
      // Prepare
      const id = fresh('idempotent');
      const request = { body: { messages: [user('once')] }, headers: { 'Idempotency-Key': 'key-1' } };
      const original = await server.request('POST', messagesPath(id), request);

      // Act
      const replay = await server.request('POST', messagesPath(id), request);

      // Assess
      expect(original.status).toBe(201);
      expect(original.headers.get('idempotent-replayed')).toBeNull();
      expect(replay.status).toBe(200);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(replay.json).toEqual(original.json);
      expect((await server.request('GET', messagesPath(id))).json.version).toBe(1);
    });

    it('answers the same Idempotency-Key with a different body with 422 idempotency_key_reused', async () => {
      // Prepare
      const id = fresh('key-reused');
      const headers = { 'Idempotency-Key': 'key-1' };
      await server.request('POST', messagesPath(id), { body: { messages: [user('first')] }, headers });

      // Act
      const reused = await server.request('POST', messagesPath(id), {
        body: { messages: [user('different')] },
        headers,
      });

      // Assess
      expectError(reused, 422, 'idempotency_key_reused');
      expect((await server.request('GET', messagesPath(id))).json.version).toBe(1);
    });

    it('answers a message over 256 KiB with 413 payload_too_large as JSON and stores nothing', async () => {
      const id = fresh('big-message');
      const answer = await server.request('POST', messagesPath(id), {
        body: { messages: [user('x'.repeat(256 * 1024 + 1))] },
      });

      expectError(answer, 413, 'payload_too_large');
      expect((await server.request('GET', messagesPath(id))).json.version).toBe(0);
    });

    it('accepts a message of exactly 256 KiB of JSON', async () => {
      const id = fresh('limit-message');
      const overhead = JSON.stringify(user('')).length;
      const answer = await server.request('POST', messagesPath(id), {
        body: { messages: [user('x'.repeat(256 * 1024 - overhead))] },
      });

      expect(answer.status, answer.text).toBe(201);
    });

    it('answers a request body over 1 MiB with 413 payload_too_large as JSON, after reading it to the end', async () => {
      // Prepare: valid messages that only the body size limit rejects.
      const id = fresh('big-body');
      // Several MiB, so that a server answering before it has read the body would reset the connection.
      const body = JSON.stringify({
        messages: Array.from({ length: 24 }, () => user('y'.repeat(250 * 1024))),
      });
      expect(Buffer.byteLength(body)).toBeGreaterThan(5 * 1024 * 1024);

      // Act
      const answer = await server.request('POST', messagesPath(id), { body });

      // Assess
      expectError(answer, 413, 'payload_too_large');
      expect((await server.request('GET', messagesPath(id))).json.version).toBe(0);
    });

    it('answers a body that is not JSON with 400 invalid_request', async () => {
      const answer = await server.request('POST', messagesPath(fresh('bad-json')), {
        body: '{"messages": [',
      });

      expectError(answer, 400, 'invalid_request');
    });

    it('answers invalid messages and batches with 400 invalid_request', async () => {
      const bodies = [
        {},
        { messages: [] },
        { messages: [{ role: 'robot', content: 'hi' }] },
        { messages: [user('ok')], expectedVersion: -1 },
        { messages: Array.from({ length: 51 }, (_, index) => user(String(index))) },
      ];
      for (const body of bodies) {
        expectError(
          await server.request('POST', messagesPath(fresh('invalid')), { body }),
          400,
          'invalid_request',
        );
      }
    });

    it('answers JSON nested deeper than 32 levels with 400 invalid_request', async () => {
      let deep: unknown = 'bottom';
      for (let level = 0; level < 40; level++) deep = { level: deep };

      const answer = await server.request('POST', messagesPath(fresh('deep')), {
        body: { messages: [{ ...user('deep'), metadata: deep }] },
      });

      expectError(answer, 400, 'invalid_request');
    });
  });

  describe('GET /v1/conversations/{conversationId}/messages', () => {
    let id: string;
    beforeAll(async () => {
      id = fresh('paged');
      const messages = Array.from({ length: 7 }, (_, index) => user(`m${index + 1}`));
      await server.request('POST', messagesPath(id), { body: { messages } });
    });
    const seqs = (answer: HttpAnswer) => answer.json.messages.map((message: { seq: number }) => message.seq);

    it('pages backward from the newest messages with nextBefore', async () => {
      const newest = await server.request('GET', `${messagesPath(id)}?limit=3`);
      const older = await server.request(
        'GET',
        `${messagesPath(id)}?limit=3&before=${newest.json.nextBefore}`,
      );
      const oldest = await server.request(
        'GET',
        `${messagesPath(id)}?limit=3&before=${older.json.nextBefore}`,
      );

      expect(messagePageSchema.safeParse(newest.json).success).toBe(true);
      expect([seqs(newest), newest.json.nextBefore, newest.json.version]).toEqual([[5, 6, 7], 5, 7]);
      expect([seqs(older), older.json.nextBefore]).toEqual([[2, 3, 4], 2]);
      expect([seqs(oldest), oldest.json.nextBefore]).toEqual([[1], null]);
    });

    it('pages forward with after and nextAfter, bounded by before', async () => {
      const first = await server.request('GET', `${messagesPath(id)}?after=0&limit=4`);
      const rest = await server.request('GET', `${messagesPath(id)}?after=${first.json.nextAfter}&limit=4`);
      const window = await server.request('GET', `${messagesPath(id)}?after=2&before=5`);

      expect([seqs(first), first.json.nextAfter]).toEqual([[1, 2, 3, 4], 4]);
      expect([seqs(rest), rest.json.nextAfter]).toEqual([[5, 6, 7], null]);
      expect(seqs(window)).toEqual([3, 4]);
    });

    it('answers an unknown conversation with 200, version 0 and no messages', async () => {
      const answer = await server.request('GET', messagesPath(fresh('unknown')));

      expect(answer.status).toBe(200);
      expect(answer.json).toMatchObject({ version: 0, messages: [] });
    });

    it('answers bad query values with 400 invalid_request', async () => {
      for (const query of [
        'limit=0',
        'limit=1001',
        'limit=abc',
        'before=-1',
        'after=1.5',
        'limit=1&limit=2',
      ]) {
        const answer = await server.request('GET', `${messagesPath(id)}?${query}`);
        expectError(answer, 400, 'invalid_request');
      }
    });
  });

  describe('GET /v1/conversations/{conversationId}', () => {
    it('describes a conversation', async () => {
      const id = fresh('described');
      await server.request('POST', messagesPath(id), { body: { messages: [user('a'), user('b')] } });

      const answer = await server.request('GET', `/v1/conversations/${id}`);

      expect(answer.status).toBe(200);
      expect(conversationSchema.safeParse(answer.json).success).toBe(true);
      expect(answer.json).toMatchObject({ conversationId: id, version: 2, messageCount: 2 });
    });

    it('answers a conversation never written with 404 not_found', async () => {
      expectError(await server.request('GET', `/v1/conversations/${fresh('never')}`), 404, 'not_found');
    });
  });

  describe('DELETE /v1/conversations/{conversationId}', () => {
    it('answers 204, after which the conversation reads as version 0 and starts again at seq 1', async () => {
      // Prepare
      const id = fresh('deleted');
      const headers = { 'Idempotency-Key': 'before-delete' };
      await server.request('POST', messagesPath(id), { body: { messages: [user('a'), user('b')] }, headers });

      // Act
      const deleted = await server.request('DELETE', `/v1/conversations/${id}`);

      // Assess
      expect(deleted.status).toBe(204);
      expect(deleted.text).toBe('');
      expect((await server.request('GET', messagesPath(id))).json).toMatchObject({
        version: 0,
        messages: [],
      });
      expectError(await server.request('GET', `/v1/conversations/${id}`), 404, 'not_found');
      // Idempotency records went with it: the old key appends anew.
      const again = await server.request('POST', messagesPath(id), {
        body: { messages: [user('c')] },
        headers,
      });
      expect(again.status).toBe(201);
      expect(again.json.messages[0].seq).toBe(1);
    });

    it('answers 204 when nothing existed', async () => {
      expect((await server.request('DELETE', `/v1/conversations/${fresh('nothing')}`)).status).toBe(204);
    });
  });

  describe('conversation ids', () => {
    it('accepts every allowed character, percent-encoded or not, case-sensitively', async () => {
      // Prepare
      const id = `User_42.x@host:ticket-7-${randomUUID()}`;
      await server.request('POST', messagesPath(id), { body: { messages: [user('hi')] } });

      // Act
      const encoded = await server.request('GET', messagesPath(encodeURIComponent(id)));
      const otherCase = await server.request('GET', messagesPath(id.toLowerCase()));

      // Assess
      expect(encoded.json).toMatchObject({ conversationId: id, version: 1 });
      expect(otherCase.json.version).toBe(0);
    });

    it('answers a bad id with 400 invalid_request', async () => {
      for (const id of ['has%20space', 'semi%3Bcolon', 'hash%23', 'x'.repeat(257)]) {
        expectError(await server.request('GET', messagesPath(id)), 400, 'invalid_request');
      }
    });
  });

  describe('routing', () => {
    it('answers an unknown path with 404 not_found', async () => {
      for (const path of ['/', '/v1/conversation', '/v1/conversations/a/messages/extra', '/v2/x']) {
        expectError(await server.request('GET', path), 404, 'not_found');
      }
    });

    it('answers a known path with a wrong method with 405 method_not_allowed', async () => {
      const answers = [
        await server.request('PUT', '/v1/conversations/a'),
        await server.request('DELETE', messagesPath('a')),
        await server.request('PATCH', messagesPath('a'), { body: { messages: [] } }),
      ];
      for (const answer of answers) expectError(answer, 405, 'method_not_allowed');
      expect(answers[0]?.headers.get('allow')).toBe('DELETE, GET, PATCH');
    });
  });

  describe('tenancy (X-Tenant-Id)', () => {
    it('keeps tenants apart: same conversation id, unrelated conversations', async () => {
      // Prepare
      const id = fresh('shared-id');
      const alice = { 'X-Tenant-Id': 'alice' };
      const bob = { 'X-Tenant-Id': 'bob' };
      await server.request('POST', messagesPath(id), {
        body: { messages: [user('alice secret')] },
        headers: alice,
      });

      // Act
      const bobReads = await server.request('GET', messagesPath(id), { headers: bob });
      const bobDescribes = await server.request('GET', `/v1/conversations/${id}`, { headers: bob });
      const bobDeletes = await server.request('DELETE', `/v1/conversations/${id}`, { headers: bob });
      const bobAppends = await server.request('POST', messagesPath(id), {
        body: { messages: [user('bob')] },
        headers: bob,
      });
      const aliceReads = await server.request('GET', messagesPath(id), { headers: alice });
      const noHeaderReads = await server.request('GET', messagesPath(id));

      // Assess
      expect(bobReads.json).toMatchObject({ version: 0, messages: [] });
      expectError(bobDescribes, 404, 'not_found');
      expect(bobDeletes.status).toBe(204);
      expect(bobAppends.json.messages[0].seq).toBe(1);
      expect(aliceReads.json.messages.map((message: { content: string }) => message.content)).toEqual([
        'alice secret',
      ]);
      expect(noHeaderReads.json.version).toBe(0);
    });

    it('serves requests without the header as tenant "local"', async () => {
      const id = fresh('default-tenant');
      await server.request('POST', messagesPath(id), { body: { messages: [user('hi')] } });

      const asLocal = await server.request('GET', messagesPath(id), { headers: { 'X-Tenant-Id': 'local' } });

      expect(asLocal.json.version).toBe(1);
    });

    it('answers an invalid X-Tenant-Id with 400 invalid_request', async () => {
      for (const tenant of ['has space', 'semi;colon', 'x'.repeat(257)]) {
        const answer = await server.request('GET', messagesPath('any'), {
          headers: { 'X-Tenant-Id': tenant },
        });
        expectError(answer, 400, 'invalid_request');
      }
    });
  });
});
