import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { handler } from '../../../lambda/http/handlers/append-messages.js';
import { logger, metrics } from '../../../lambda/http/runtime/observability.js';
import { store } from '../../../lambda/http/runtime/store.js';
import {
  IdempotencyKeyReusedError,
  IdempotentResultGoneError,
  PayloadTooLargeError,
  StoreFailureError,
  UnavailableError,
  VersionConflictError,
  WriteOutcomeUnknownError,
} from '../../../lambda/memory/errors.js';
import { conversationEvent, jsonBody } from '../../support/api-gateway-events.js';
import { appended, stored, stubStore } from './store-stub.js';

const stub = stubStore(store);
const hello = { role: 'user', content: 'hello' };

const append = (body: unknown, options: { headers?: Record<string, string>; conversationId?: string } = {}) =>
  handler(
    conversationEvent('POST', options.conversationId ?? 'conv-1', {
      suffix: '/messages',
      body,
      headers: options.headers,
    }),
  );

/** Nests `value` in `depth` levels of arrays. */
const nested = (depth: number, value: unknown = 'x'): unknown =>
  Array.from({ length: depth }).reduce((inner) => [inner], value);

describe('appendMessages handler', () => {
  beforeEach(() => {
    stub.reset();
    stub.append.mockImplementation(async (_tenant, conversationId, messages) =>
      appended(
        conversationId,
        messages.map((message, index) => stored(message as typeof hello, index + 1)),
      ),
    );
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('answers 201 with the stored messages, appended for the tenant of the authorizer', async () => {
    // Act
    const response = await append({ messages: [hello, { role: 'assistant', content: 'hi' }] });

    // Assess
    expect(response.statusCode).toBe(201);
    expect(response.headers).toEqual({ 'Content-Type': 'application/json' });
    expect(jsonBody(response)).toEqual({
      conversationId: 'conv-1',
      version: 2,
      messages: [stored(hello, 1), stored({ role: 'assistant', content: 'hi' }, 2)],
    });
    expect(stub.append).toHaveBeenCalledWith(
      'tenant-a',
      'conv-1',
      [hello, { role: 'assistant', content: 'hi' }],
      {
        expectedVersion: undefined,
        idempotencyKey: undefined,
        attachments: { inlineBudgetBytes: 1024 * 1024 },
      },
    );
  });

  it('passes expectedVersion and the Idempotency-Key (any case) on to the store', async () => {
    // Act
    await append({ messages: [hello], expectedVersion: 4 }, { headers: { 'Idempotency-Key': 'key-1' } });

    // Assess
    expect(stub.append).toHaveBeenCalledWith('tenant-a', 'conv-1', [hello], {
      expectedVersion: 4,
      idempotencyKey: 'key-1',
      // Values in S3 come back inline within 1 MiB, then as attachment parts.
      attachments: { inlineBudgetBytes: 1024 * 1024 },
    });
  });

  it('decodes a base64-encoded body', async () => {
    // Prepare
    const event = conversationEvent('POST', 'conv-1', {
      suffix: '/messages',
      body: Buffer.from(JSON.stringify({ messages: [{ role: 'user', content: 'héllo ✓' }] })).toString(
        'base64',
      ),
      isBase64Encoded: true,
    });

    // Act
    const response = await handler(event);

    // Assess
    expect(response.statusCode).toBe(201);
    expect(jsonBody(response).messages[0].content).toBe('héllo ✓');
  });

  it('passes the messages to the store exactly as sent, unknown keys and their order included', async () => {
    // Prepare
    const raw =
      '{"messages":[{"role":"user","content":[{"zeta":1,"type":"text","text":"a"}],' +
      '"metadata":{"b":1,"__proto__":{"kept":true},"a":[1,{"x":null}]}}]}';

    // Act
    await append(raw);

    // Assess
    const sent = (
      stub.append.mock.calls[0]?.[2] as Array<{ content: unknown; metadata: unknown }> | undefined
    )?.[0];
    expect(sent).toBeDefined();
    expect(JSON.stringify(sent?.content)).toBe('[{"zeta":1,"type":"text","text":"a"}]');
    expect(JSON.stringify(sent?.metadata)).toBe('{"b":1,"__proto__":{"kept":true},"a":[1,{"x":null}]}');
  });

  it('answers a replay with 200 and Idempotent-Replayed: true, counted as a replay', async () => {
    // Prepare
    stub.append.mockResolvedValue(appended('conv-1', [stored(hello, 1)], { replayed: true }));
    const addMetric = vi.spyOn(metrics, 'addMetric');

    // Act
    const replay = await append({ messages: [hello] }, { headers: { 'idempotency-key': 'key-1' } });

    // Assess
    expect(replay.statusCode).toBe(200);
    expect(replay.headers).toMatchObject({ 'Idempotent-Replayed': 'true' });
    expect(jsonBody(replay)).toEqual({ conversationId: 'conv-1', version: 1, messages: [stored(hello, 1)] });
    expect(addMetric).toHaveBeenCalledWith('replays', 'Count', 1);
    expect(addMetric).not.toHaveBeenCalledWith('appends', expect.anything(), expect.anything());
  });

  it.each([
    [new VersionConflictError(3), 409, { code: 'version_conflict', currentVersion: 3 }],
    [new IdempotentResultGoneError(), 410, { code: 'idempotency_result_gone' }],
    [new PayloadTooLargeError('messages.0 is 262145 bytes of JSON.'), 413, { code: 'payload_too_large' }],
    [new IdempotencyKeyReusedError(), 422, { code: 'idempotency_key_reused' }],
    [new UnavailableError('DynamoDB is throttling.'), 503, { code: 'unavailable' }],
    [
      new WriteOutcomeUnknownError(),
      503,
      { code: 'unavailable', message: expect.stringMatching(/at most once/) },
    ],
  ])('answers the store refusing with %s as %i', async (error, status, body) => {
    // Prepare
    stub.append.mockRejectedValue(error);

    // Act
    const response = await append({ messages: [hello] });

    // Assess
    expect(response.statusCode).toBe(status);
    expect(jsonBody(response).error).toEqual({ message: error.message, ...body });
    if (status === 503) expect(response.headers).toMatchObject({ 'Retry-After': '1' });
  });

  it('counts a version conflict', async () => {
    // Prepare
    stub.append.mockRejectedValue(new VersionConflictError(3));
    const addMetric = vi.spyOn(metrics, 'addMetric');

    // Act
    await append({ messages: [hello], expectedVersion: 2 });

    // Assess
    expect(addMetric).toHaveBeenCalledWith('conflicts', 'Count', 1);
  });

  it.each([
    [
      'the store failing',
      new StoreFailureError('The conversation table does not exist.', { cause: 'secret-table' }),
    ],
    ['a bug', new TypeError('secret is not a function')],
  ])('answers 500 internal without details for %s, logging the cause', async (_, failure) => {
    // Prepare
    stub.append.mockRejectedValue(failure);
    const logError = vi.spyOn(logger, 'error');

    // Act
    const response = await append({ messages: [hello] });

    // Assess
    expect(response.statusCode).toBe(500);
    expect(jsonBody(response)).toEqual({
      error: {
        code: 'internal',
        message: 'The server failed to handle the request.',
        requestId: 'request-1',
      },
    });
    expect(response.body).not.toMatch(/secret|table/i);
    expect(logError).toHaveBeenCalledOnce();
    const [, fields] = logError.mock.calls[0] as [string, { error: Error; statusCode: number }];
    expect(fields).toMatchObject({ statusCode: 500, error: failure });
  });

  it.each([
    ['plain', false],
    ['base64-encoded', true],
  ])(
    'answers 413 payload_too_large for a %s request body over 1 MiB, without the store',
    async (_, base64) => {
      // Prepare: each message is within its own limit; together they are over 1 MiB.
      const text = JSON.stringify({
        messages: Array.from({ length: 5 }, () => ({ role: 'user', content: 'x'.repeat(220_000) })),
      });
      const event = conversationEvent('POST', 'conv-1', {
        suffix: '/messages',
        body: base64 ? Buffer.from(text).toString('base64') : text,
        isBase64Encoded: base64,
      });

      // Act
      const response = await handler(event);

      // Assess
      expect(response.statusCode).toBe(413);
      expect(jsonBody(response).error).toEqual({
        code: 'payload_too_large',
        message: `The request body is ${Buffer.byteLength(text)} bytes; the limit is 1048576 (1 MiB).`,
      });
      expect(stub.append).not.toHaveBeenCalled();
    },
  );

  it.each([
    ['bad JSON', '{"messages": [', /not valid JSON/],
    ['an empty body', '', /not valid JSON/],
    ['a JSON array', '[]', /expected object/],
    ['no messages', { messages: [] }, /messages/],
    ['51 messages', { messages: Array.from({ length: 51 }, () => hello) }, /messages/],
    ['an unknown role', { messages: [{ role: 'robot', content: 'x' }] }, /messages\.0\.role/],
    ['an unknown top-level field', { messages: [hello], idempotencyKey: 'k' }, /idempotencyKey/],
    ['a negative expectedVersion', { messages: [hello], expectedVersion: -1 }, /expectedVersion/],
    ['a fractional expectedVersion', { messages: [hello], expectedVersion: 1.5 }, /expectedVersion/],
    [
      'a message nested 33 levels deep',
      { messages: [{ role: 'user', content: 'x', metadata: { a: nested(32) } }] },
      /nested deeper/,
    ],
    [
      'hostile nesting (no stack overflow)',
      `{"messages":[{"role":"user","content":"x","metadata":{"a":${'['.repeat(200_000)}${']'.repeat(200_000)}}}]}`,
      /nested deeper than 34 levels/,
    ],
  ])('answers 400 invalid_request for %s, without the store', async (_, body, message) => {
    // Act
    const response = await append(body);

    // Assess
    expect(response.statusCode).toBe(400);
    expect(jsonBody(response).error).toEqual({
      code: 'invalid_request',
      message: expect.stringMatching(message),
    });
    expect(stub.append).not.toHaveBeenCalled();
  });

  it('passes on a message nested exactly 32 levels deep', async () => {
    // Prepare: the message object is level 1, metadata 2, then 30 arrays.
    const message = { role: 'user', content: 'x', metadata: { a: nested(30) } };

    // Act
    const response = await append({ messages: [message] });

    // Assess
    expect(response.statusCode).toBe(201);
  });

  it.each([
    ['bad id!', 'a space and a !'],
    ['x'.repeat(257), '257 characters'],
    ['%ZZ', 'a malformed escape'],
  ])('answers 400 invalid_request for the conversation id %s (%s)', async (conversationId) => {
    // Act
    const response = await append({ messages: [hello] }, { conversationId });

    // Assess
    expect(response.statusCode).toBe(400);
    expect(jsonBody(response).error).toMatchObject({
      code: 'invalid_request',
      message: expect.stringMatching(/conversationId/),
    });
    expect(stub.append).not.toHaveBeenCalled();
  });

  it('decodes a URL-encoded conversation id such as user-42%3Aticket-7', async () => {
    // Act
    const response = await append({ messages: [hello] }, { conversationId: 'user-42%3Aticket-7' });

    // Assess
    expect(jsonBody(response).conversationId).toBe('user-42:ticket-7');
    expect(stub.append).toHaveBeenCalledWith('tenant-a', 'user-42:ticket-7', [hello], expect.anything());
  });

  it.each([
    ['empty', ''],
    ['not printable ASCII', 'clé'],
    ['longer than 255 characters', 'k'.repeat(256)],
  ])('answers 400 invalid_request for an Idempotency-Key that is %s', async (_, key) => {
    // Act
    const response = await append({ messages: [hello] }, { headers: { 'idempotency-key': key } });

    // Assess
    expect(response.statusCode).toBe(400);
    expect(jsonBody(response).error.message).toMatch(/idempotency-key/);
    expect(stub.append).not.toHaveBeenCalled();
  });

  it('answers 401 unauthorized without an authorizer context, before reading the body', async () => {
    // Prepare
    const event = conversationEvent('POST', 'conv-1', {
      suffix: '/messages',
      body: '{bad json',
      authorizer: null,
    });

    // Act
    const response = await handler(event);

    // Assess
    expect(response.statusCode).toBe(401);
    expect(jsonBody(response).error.code).toBe('unauthorized');
    expect(stub.append).not.toHaveBeenCalled();
  });

  it('counts appends, appended messages and consumed capacity', async () => {
    // Prepare
    stub.append.mockResolvedValue(
      appended('conv-1', [stored(hello, 1), stored(hello, 2)], { consumedCapacity: 5 }),
    );
    const addMetric = vi.spyOn(metrics, 'addMetric');

    // Act
    await append({ messages: [hello, hello] });

    // Assess
    expect(addMetric.mock.calls).toEqual([
      ['appends', 'Count', 1],
      ['messagesAppended', 'Count', 2],
      ['consumedCapacity', 'Count', 5],
    ]);
  });
});
