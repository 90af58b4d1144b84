import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AgentMemoryClient } from '../../../client/agent-memory-client.js';
import { bearerAuth } from '../../../client/bearer-auth.js';
import {
  AbortedError,
  IdempotencyKeyReusedError,
  InternalServerError,
  InvalidRequestError,
  ModelError,
  NetworkError,
  NotFoundError,
  RevisionConflictError,
  SuffixMismatchError,
  TimeoutError,
  UnavailableError,
  VersionConflictError,
} from '../../../client/errors.js';
import { backoffDelay, parseRetryAfter, retryPolicy } from '../../../client/retry-policy.js';
import { sigV4Auth } from '../../../client/sigv4-auth.js';
import { tenantHeaderAuth } from '../../../client/tenant-header-auth.js';
import { verifySigV4 } from '../../client/sigv4-verifier.js';
import { StubApiServer } from '../../client/stub-api-server.js';

const stored = (seq: number, content: string) => ({
  role: 'user' as const,
  content,
  id: `m${seq}`,
  seq,
  createdAt: '2025-01-01T00:00:00.000Z',
});
const appended = (version: number) => ({
  status: 201,
  body: { conversationId: 'c1', version, messages: [stored(version, 'hi')] },
});
const conflict = (currentVersion: number) => ({
  status: 409,
  body: { error: { code: 'version_conflict', message: 'conflict', currentVersion } },
});
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('AgentMemoryClient', () => {
  const stub = new StubApiServer();
  /** Fast retries: the tests are about which failures are retried, not about waiting. */
  const client = (options: Partial<ConstructorParameters<typeof AgentMemoryClient>[0]> = {}) =>
    new AgentMemoryClient({ baseUrl: stub.url, retry: { baseDelayMs: 1, maxDelayMs: 5 }, ...options });

  beforeAll(async () => {
    await stub.start();
  });
  afterAll(() => stub.stop());
  beforeEach(() => stub.reset());

  describe('append', () => {
    it('posts the messages as JSON with a fresh UUID Idempotency-Key and returns the stored result', async () => {
      // Prepare
      stub.reply(appended(1), appended(2));

      // Act
      const first = await client().append('user-42:ticket-7', [{ role: 'user', content: 'hi' }]);
      await client().append('user-42:ticket-7', [{ role: 'user', content: 'hi' }], { expectedVersion: 1 });

      // Assess
      expect(first).toEqual({ ...appended(1).body, replayed: false });
      const [one, two] = stub.requests;
      expect(one?.method).toBe('POST');
      expect(one?.url).toBe('/v1/conversations/user-42%3Aticket-7/messages');
      expect(one?.headers['content-type']).toBe('application/json');
      expect(one?.json).toEqual({ messages: [{ role: 'user', content: 'hi' }] });
      expect(two?.json).toEqual({ messages: [{ role: 'user', content: 'hi' }], expectedVersion: 1 });
      expect(one?.headers['idempotency-key']).toMatch(uuid);
      expect(two?.headers['idempotency-key']).toMatch(uuid);
      expect(one?.headers['idempotency-key']).not.toBe(two?.headers['idempotency-key']);
    });

    it('sends the caller’s key and reports a replay', async () => {
      // Prepare
      stub.reply({ ...appended(1), status: 200, headers: { 'idempotent-replayed': 'true' } });

      // Act
      const result = await client().append('c1', [{ role: 'user', content: 'hi' }], {
        idempotencyKey: 'mine-1',
      });

      // Assess
      expect(result.replayed).toBe(true);
      expect(stub.requests[0]?.headers['idempotency-key']).toBe('mine-1');
    });

    it('retries a 409 of an unconditional append with the same key', async () => {
      // Prepare
      stub.reply(conflict(3), conflict(4), appended(5));

      // Act
      const result = await client().append('c1', [{ role: 'user', content: 'hi' }]);

      // Assess
      expect(result.version).toBe(5);
      expect(stub.requests).toHaveLength(3);
      expect(new Set(stub.requests.map((request) => request.headers['idempotency-key'])).size).toBe(1);
    });

    it('never retries a 409 of a conditional append', async () => {
      // Prepare
      stub.reply(conflict(7), appended(8));

      // Act
      const error = await client()
        .append('c1', [{ role: 'user', content: 'hi' }], { expectedVersion: 3 })
        .catch((caught: unknown) => caught);

      // Assess
      expect(error).toBeInstanceOf(VersionConflictError);
      expect(error).toMatchObject({ status: 409, code: 'version_conflict', currentVersion: 7 });
      expect(stub.requests).toHaveLength(1);
    });
  });

  describe('retries', () => {
    it('retries 503 after the Retry-After seconds, with the same Idempotency-Key', async () => {
      // Prepare
      stub.reply(
        {
          status: 503,
          headers: { 'retry-after': '1' },
          body: { error: { code: 'unavailable', message: 'busy' } },
        },
        appended(1),
      );
      const started = Date.now();

      // Act
      const result = await client().append('c1', [{ role: 'user', content: 'hi' }]);

      // Assess
      expect(result.version).toBe(1);
      expect(Date.now() - started).toBeGreaterThanOrEqual(950);
      expect(stub.requests).toHaveLength(2);
      expect(stub.requests[1]?.headers['idempotency-key']).toBe(stub.requests[0]?.headers['idempotency-key']);
    });

    it('gives up on 429 after maxAttempts with a typed error carrying status, code and Retry-After', async () => {
      // Prepare
      stub.otherwise({
        status: 429,
        headers: { 'retry-after': '0', 'apigw-requestid': 'req-429' },
        body: { error: { code: 'throttled', message: 'slow down' } },
      });

      // Act
      const error = await client({ retry: { maxAttempts: 3, baseDelayMs: 1 } })
        .load('c1')
        .catch((caught: unknown) => caught);

      // Assess
      expect(error).toBeInstanceOf(UnavailableError);
      expect(error).toMatchObject({ status: 429, code: 'throttled', retryAfterMs: 0, requestId: 'req-429' });
      expect(stub.requests).toHaveLength(3);
    });

    it('throws at once when Retry-After is longer than maxRetryAfterMs', async () => {
      // Prepare
      stub.otherwise({
        status: 503,
        headers: { 'retry-after': '120' },
        body: { error: { code: 'unavailable', message: 'x' } },
      });

      // Act
      const error = await client()
        .load('c1')
        .catch((caught: unknown) => caught);

      // Assess
      expect(error).toMatchObject({ code: 'unavailable', retryAfterMs: 120_000 });
      expect(stub.requests).toHaveLength(1);
    });

    it('retries a connection broken before the response, with the same Idempotency-Key', async () => {
      // Prepare
      stub.reply({ destroy: true }, appended(1));

      // Act
      const result = await client().append('c1', [{ role: 'user', content: 'hi' }]);

      // Assess
      expect(result.version).toBe(1);
      expect(stub.requests).toHaveLength(2);
      expect(stub.requests[1]?.headers['idempotency-key']).toBe(stub.requests[0]?.headers['idempotency-key']);
    });

    it('reports a NetworkError when every attempt fails to connect', async () => {
      // Prepare
      const closed = new StubApiServer();
      await closed.start();
      const url = closed.url;
      await closed.stop();

      // Act
      const error = await new AgentMemoryClient({ baseUrl: url, retry: { maxAttempts: 2, baseDelayMs: 1 } })
        .load('c1')
        .catch((caught: unknown) => caught);

      // Assess
      expect(error).toBeInstanceOf(NetworkError);
      expect(error).toMatchObject({ status: 0, code: 'network_error' });
      expect((error as Error).message).toContain('ECONNREFUSED');
    });

    it('times an attempt out and retries it', async () => {
      // Prepare
      stub.reply({ ...appended(1), delayMs: 2000 }, appended(1));

      // Act
      const result = await client({ timeoutMs: 200 }).append('c1', [{ role: 'user', content: 'hi' }]);

      // Assess
      expect(result.version).toBe(1);
      expect(stub.requests).toHaveLength(2);
    });

    it('throws a TimeoutError when every attempt times out', async () => {
      // Prepare
      stub.otherwise({ ...appended(1), delayMs: 1000 });

      // Act
      const error = await client({ timeoutMs: 100, retry: { maxAttempts: 2, baseDelayMs: 1 } })
        .load('c1')
        .catch((caught: unknown) => caught);

      // Assess
      expect(error).toBeInstanceOf(TimeoutError);
      expect(stub.requests).toHaveLength(2);
    });

    it('stops at once when the caller aborts, also during a backoff', async () => {
      // Prepare
      stub.otherwise({
        status: 503,
        headers: { 'retry-after': '5' },
        body: { error: { code: 'unavailable', message: 'x' } },
      });
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 200);
      const started = Date.now();

      // Act
      const error = await client()
        .load('c1', { signal: controller.signal })
        .catch((caught: unknown) => caught);

      // Assess
      expect(error).toBeInstanceOf(AbortedError);
      expect(Date.now() - started).toBeLessThan(2000);
      expect(stub.requests).toHaveLength(1);
    });

    it('does not retry what retrying cannot fix (400, 422, 500, 502)', async () => {
      // Prepare
      stub.reply(
        { status: 400, body: { error: { code: 'invalid_request', message: 'bad' } } },
        { status: 422, body: { error: { code: 'idempotency_key_reused', message: 'reused' } } },
        { status: 500, body: { error: { code: 'internal', message: 'oops', requestId: 'req-500' } } },
        { status: 502, body: { error: { code: 'model_error', message: 'model failed' } } },
      );
      const api = client();
      const message = [{ role: 'user' as const, content: 'hi' }];

      // Act
      const errors: unknown[] = [];
      errors.push(await api.append('c1', message).catch((caught: unknown) => caught));
      errors.push(await api.append('c1', message).catch((caught: unknown) => caught));
      errors.push(await api.append('c1', message).catch((caught: unknown) => caught));
      errors.push(await api.turn('c1', 'hello').catch((caught: unknown) => caught));

      // Assess
      expect(errors[0]).toBeInstanceOf(InvalidRequestError);
      expect(errors[1]).toBeInstanceOf(IdempotencyKeyReusedError);
      expect(errors[2]).toBeInstanceOf(InternalServerError);
      expect(errors[2]).toMatchObject({ status: 500, requestId: 'req-500' });
      expect(errors[3]).toBeInstanceOf(ModelError);
      expect(errors[3]).toMatchObject({ status: 502, code: 'model_error' });
      expect(stub.requests).toHaveLength(4);
    });
  });

  describe('backoff', () => {
    it('draws full jitter below a ceiling that doubles per attempt up to maxDelayMs', () => {
      // Prepare
      const policy = retryPolicy({ baseDelayMs: 100, maxDelayMs: 1000 });

      // Act
      const delays = [1, 2, 3, 4, 5].map((attempt) => backoffDelay(attempt, policy, () => 0.5));
      const lowest = backoffDelay(3, policy, () => 0);

      // Assess
      expect(delays).toEqual([50, 100, 200, 400, 500]);
      expect(lowest).toBe(0);
    });

    it('reads Retry-After as seconds or as an HTTP date', () => {
      // Prepare
      const now = Date.parse('2025-01-01T00:00:00Z');

      // Act
      const seconds = parseRetryAfter('3', now);
      const date = parseRetryAfter('Wed, 01 Jan 2025 00:00:10 GMT', now);
      const garbage = parseRetryAfter('soon', now);

      // Assess
      expect(seconds).toBe(3000);
      expect(date).toBe(10_000);
      expect(garbage).toBeUndefined();
    });
  });

  describe('routes', () => {
    it('maps each operation to the contract’s method, path, query and body', async () => {
      // Prepare
      const info = { conversationId: 'c1', version: 2, messageCount: 2, createdAt: 'x', updatedAt: 'y' };
      const turn = {
        conversationId: 'c1',
        version: 2,
        messages: [stored(1, 'q'), { ...stored(2, 'a'), role: 'assistant' }],
        reply: { ...stored(2, 'a'), role: 'assistant' },
        contextMessages: 0,
        model: 'offline',
      };
      const edit = {
        conversationId: 'c1',
        version: 3,
        removed: [stored(2, 'a')],
        messages: [stored(3, 'b')],
      };
      stub.reply(
        { status: 200, body: { conversationId: 'c1', version: 2, messages: [], nextBefore: null } },
        { status: 200, body: info },
        { status: 404, body: { error: { code: 'not_found', message: 'none' } } },
        { status: 204 },
        { status: 201, body: turn },
        { status: 200, body: edit },
      );
      const api = client({ baseUrl: `${stub.url}/prod/` });

      // Act
      const page = await api.load('c1', { limit: 10, before: 5 });
      const found = await api.getConversation('c1');
      const missing = await api.getConversation('c2');
      await api.deleteConversation('c1');
      const turned = await api.turn('c1', 'q', { system: 'Be brief.', expectedVersion: 0 });
      const edited = await api.replaceSuffix(
        'c1',
        { expectedSuffix: [{ role: 'user', content: 'a' }], replacement: [{ role: 'user', content: 'b' }] },
        { expectedVersion: 2 },
      );

      // Assess
      expect(stub.requests.map((request) => `${request.method} ${request.url}`)).toEqual([
        'GET /prod/v1/conversations/c1/messages?limit=10&before=5',
        'GET /prod/v1/conversations/c1',
        'GET /prod/v1/conversations/c2',
        'DELETE /prod/v1/conversations/c1',
        'POST /prod/v1/conversations/c1/turns',
        'POST /prod/v1/conversations/c1/edits',
      ]);
      expect(page.version).toBe(2);
      expect(found).toEqual(info);
      expect(missing).toBeUndefined();
      expect(turned).toEqual({ ...turn, replayed: false });
      expect(stub.requests[4]?.json).toEqual({ message: 'q', expectedVersion: 0, system: 'Be brief.' });
      expect(stub.requests[4]?.headers['idempotency-key']).toMatch(uuid);
      expect(edited).toEqual({ ...edit, replayed: false });
      expect(stub.requests[5]?.json).toEqual({
        expectedSuffix: [{ role: 'user', content: 'a' }],
        replacement: [{ role: 'user', content: 'b' }],
        expectedVersion: 2,
      });
    });

    it('maps a suffix_mismatch 409 to SuffixMismatchError and does not retry it', async () => {
      // Prepare
      stub.otherwise({
        status: 409,
        body: { error: { code: 'suffix_mismatch', message: 'ends otherwise', currentVersion: 4 } },
      });

      // Act
      const error = await client()
        .replaceSuffix('c1', { expectedSuffix: [{ role: 'user', content: 'x' }], replacement: [] })
        .catch((caught: unknown) => caught);

      // Assess
      expect(error).toBeInstanceOf(SuffixMismatchError);
      expect(error).toMatchObject({ status: 409, code: 'suffix_mismatch', currentVersion: 4 });
      expect(stub.requests).toHaveLength(1);
    });

    it('iterates every page backward, then forward', async () => {
      // Prepare
      const pageOf = (seqs: number[], cursor: Record<string, number | null>) => ({
        status: 200,
        body: {
          conversationId: 'c1',
          version: 5,
          messages: seqs.map((seq) => stored(seq, `m${seq}`)),
          ...cursor,
        },
      });
      stub.reply(
        pageOf([4, 5], { nextBefore: 4 }),
        pageOf([2, 3], { nextBefore: 2 }),
        pageOf([1], { nextBefore: null }),
        pageOf([1, 2], { nextAfter: 2 }),
        pageOf([3, 4], { nextAfter: 4 }),
        pageOf([5], { nextAfter: null }),
      );
      const api = client();

      // Act
      const backward: number[] = [];
      for await (const message of api.messages('c1', { limit: 2 })) backward.push(message.seq);
      const forward: number[][] = [];
      for await (const page of api.pages('c1', { limit: 2, direction: 'forward' })) {
        forward.push(page.messages.map((message) => message.seq));
      }

      // Assess
      expect(backward).toEqual([5, 4, 3, 2, 1]);
      expect(forward).toEqual([[1, 2], [3, 4], [5]]);
      expect(stub.requests.map((request) => request.url.split('?')[1])).toEqual([
        'limit=2',
        'limit=2&before=4',
        'limit=2&before=2',
        'limit=2&after=0',
        'limit=2&after=2',
        'limit=2&after=4',
      ]);
    });

    it('lists conversations lazily, following nextCursor, with prefix and limit in the query', async () => {
      // Prepare
      const info = (conversationId: string) => ({
        conversationId,
        version: 1,
        messageCount: 1,
        createdAt: '2026-11-30T12:00:00.000Z',
        updatedAt: '2026-11-30T12:00:00.000Z',
        revision: 0,
      });
      stub.reply(
        { status: 200, body: { conversations: [info('user-42:b'), info('user-42:a')], nextCursor: 'c2' } },
        { status: 200, body: { conversations: [info('user-42:0')], nextCursor: 'c3' } },
      );
      const api = client();

      // Act: stop after three conversations: the third page is never asked for
      const seen: string[] = [];
      for await (const conversation of api.list({ prefix: 'user-42:', limit: 2 })) {
        seen.push(conversation.conversationId);
        if (seen.length === 3) break;
      }

      // Assess
      expect(seen).toEqual(['user-42:b', 'user-42:a', 'user-42:0']);
      expect(stub.requests.map((request) => request.url)).toEqual([
        '/v1/conversations?prefix=user-42%3A&limit=2',
        '/v1/conversations?prefix=user-42%3A&limit=2&cursor=c2',
      ]);
    });

    it('patches with a fresh key that its retries reuse, and maps revision_conflict and not_found', async () => {
      // Prepare
      const patched = {
        conversationId: 'c1',
        version: 3,
        messageCount: 3,
        createdAt: '2026-11-30T12:00:00.000Z',
        updatedAt: '2026-11-30T12:00:00.000Z',
        title: 'Refund',
        revision: 1,
      };
      stub.reply(
        {
          status: 503,
          headers: { 'retry-after': '0' },
          body: { error: { code: 'unavailable', message: 'x' } },
        },
        { status: 200, body: patched },
        { status: 409, body: { error: { code: 'revision_conflict', message: 'x', currentRevision: 4 } } },
        { status: 404, body: { error: { code: 'not_found', message: 'x' } } },
      );
      const api = client();

      // Act
      const result = await api.patch(
        'c1',
        { title: 'Refund', metadata: { pinned: null } },
        { expectedVersion: 3 },
      );
      const conflict = await api
        .patch('c1', { title: 'Other' }, { expectedRevision: 0 })
        .catch((error: unknown) => error);
      const missing = await api.patch('gone', { title: 'x' }).catch((error: unknown) => error);

      // Assess
      expect(result).toEqual({ ...patched, replayed: false });
      const [first, retry, conditional] = stub.requests;
      expect(first?.method).toBe('PATCH');
      expect(first?.url).toBe('/v1/conversations/c1');
      expect(first?.json).toEqual({ title: 'Refund', metadata: { pinned: null }, expectedVersion: 3 });
      expect(first?.headers['idempotency-key']).toMatch(uuid);
      expect(retry?.headers['idempotency-key']).toBe(first?.headers['idempotency-key']);
      expect(conditional?.json).toEqual({ title: 'Other', expectedRevision: 0 });
      expect(conflict).toBeInstanceOf(RevisionConflictError);
      expect(conflict).toMatchObject({ status: 409, currentRevision: 4 });
      expect(missing).toBeInstanceOf(NotFoundError);
      expect(stub.requests).toHaveLength(4);
    });

    it('reads a multi-page history again when it changed between pages', async () => {
      // Prepare
      const pageOf = (version: number, seqs: number[], nextBefore: number | null) => ({
        status: 200,
        body: {
          conversationId: 'c1',
          version,
          messages: seqs.map((seq) => stored(seq, `m${seq}`)),
          nextBefore,
        },
      });
      stub.reply(
        pageOf(
          1500,
          Array.from({ length: 1000 }, (_, i) => i + 501),
          501,
        ),
        pageOf(1502, [1], null),
        pageOf(
          1502,
          Array.from({ length: 1000 }, (_, i) => i + 503),
          503,
        ),
        pageOf(
          1502,
          Array.from({ length: 502 }, (_, i) => i + 1),
          null,
        ),
      );

      // Act
      const snapshot = await client().loadAll('c1');

      // Assess
      expect(snapshot.version).toBe(1502);
      expect(snapshot.messages.map((message) => message.seq)).toEqual(
        Array.from({ length: 1502 }, (_, i) => i + 1),
      );
      expect(stub.requests).toHaveLength(4);
    });

    it('uses an injected fetch', async () => {
      // Prepare
      const calls: string[] = [];
      const fetchStub: typeof fetch = async (input) => {
        calls.push(String(input));
        return new Response(
          JSON.stringify({ status: 'ok', conversationId: 'c1', version: 0, messages: [] }),
          {
            status: 200,
          },
        );
      };

      // Act
      const page = await new AgentMemoryClient({ baseUrl: 'https://api.example.com', fetch: fetchStub }).load(
        'c1',
      );

      // Assess
      expect(calls).toEqual(['https://api.example.com/v1/conversations/c1/messages']);
      expect(page.version).toBe(0);
    });
  });

  describe('auth', () => {
    const credentials = {
      accessKeyId: 'AKIDEXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
      sessionToken: 'session-token-1',
    };

    it('signs every attempt with SigV4 for execute-api in the configured region', async () => {
      // Prepare
      stub.reply({ status: 503, headers: { 'retry-after': '0' }, body: {} }, appended(1), {
        status: 200,
        body: { conversationId: 'a:b', version: 1, messages: [] },
      });
      const api = client({
        baseUrl: `${stub.url}/prod`,
        auth: sigV4Auth({ region: 'eu-west-1', credentials: async () => credentials }),
      });

      // Act
      await api.append('a:b', [{ role: 'user', content: 'hi' }]);
      await api.load('a:b', { limit: 5, after: 0 });

      // Assess
      expect(stub.requests).toHaveLength(3);
      for (const request of stub.requests) {
        const verified = verifySigV4(request, credentials.secretAccessKey);
        expect(verified.valid).toBe(true);
        expect(verified.accessKeyId).toBe('AKIDEXAMPLE');
        expect(verified.scope).toMatch(/^\d{8}\/eu-west-1\/execute-api\/aws4_request$/);
        expect(verified.signedHeaders).toEqual(expect.arrayContaining(['host', 'x-amz-date']));
        expect(request.headers['x-amz-security-token']).toBe('session-token-1');
      }
      expect(verifySigV4(stub.requests[0] as never, credentials.secretAccessKey).signedHeaders).toEqual(
        expect.arrayContaining(['content-type', 'idempotency-key']),
      );
    });

    it('fails the signature check when the secret differs (the verifier can fail)', async () => {
      // Prepare
      stub.reply(appended(1));
      const api = client({ auth: sigV4Auth({ region: 'eu-west-1', credentials }) });

      // Act
      await api.append('c1', [{ role: 'user', content: 'hi' }]);

      // Assess
      expect(verifySigV4(stub.requests[0] as never, 'another-secret').valid).toBe(false);
      expect(verifySigV4(stub.requests[0] as never, credentials.secretAccessKey).valid).toBe(true);
    });

    it('sends a bearer token, asking a token function again for every attempt', async () => {
      // Prepare
      stub.reply({ status: 503, headers: { 'retry-after': '0' }, body: {} }, appended(1), appended(2));
      let issued = 0;
      const rotating = client({ auth: bearerAuth(async () => `token-${++issued}`) });
      const fixed = client({ auth: bearerAuth('static-token') });

      // Act
      await rotating.append('c1', [{ role: 'user', content: 'hi' }]);
      await fixed.append('c1', [{ role: 'user', content: 'hi' }]);

      // Assess
      expect(stub.requests.map((request) => request.headers.authorization)).toEqual([
        'Bearer token-1',
        'Bearer token-2',
        'Bearer static-token',
      ]);
    });

    it('sends X-Tenant-Id for the local server', async () => {
      // Prepare
      stub.reply({ status: 200, body: { conversationId: 'c1', version: 0, messages: [] } });

      // Act
      await client({ auth: tenantHeaderAuth('acme') }).load('c1');

      // Assess
      expect(stub.requests[0]?.headers['x-tenant-id']).toBe('acme');
    });
  });
});
