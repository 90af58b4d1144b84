import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { handler } from '../../../lambda/http/handlers/edit-history.js';
import { metrics } from '../../../lambda/http/runtime/observability.js';
import { store } from '../../../lambda/http/runtime/store.js';
import {
  IdempotencyKeyReusedError,
  IdempotentResultGoneError,
  PayloadTooLargeError,
  SuffixMismatchError,
  UnavailableError,
  VersionConflictError,
} from '../../../lambda/memory/errors.js';
import { apiEvent, jsonBody } from '../../support/api-gateway-events.js';
import { appended, stored, stubStore } from './store-stub.js';

const stub = stubStore(store);
const draft = { role: 'assistant', content: 'draft' };
const final = { role: 'assistant', content: 'final' };

const edit = (
  body: unknown,
  options: { headers?: Record<string, string>; conversationId?: string; authorizer?: unknown } = {},
) => {
  const conversationId = options.conversationId ?? 'conv-1';
  return handler(
    apiEvent({
      method: 'POST',
      path: `/v1/conversations/${conversationId}/edits`,
      pathParameters: { conversationId },
      body,
      headers: options.headers,
      authorizer: options.authorizer,
    }),
  );
};

/** Nests `value` in `depth` levels of arrays. */
const nested = (depth: number, value: unknown = 'x'): unknown =>
  Array.from({ length: depth }).reduce((inner) => [inner], value);

describe('editHistory handler', () => {
  beforeEach(() => {
    stub.reset();
    stub.replaceSuffix.mockResolvedValue({
      ...appended('conv-1', [stored(final, 4)], { consumedCapacity: 6 }),
      removed: [stored(draft, 3)],
    });
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('answers 200 with what the edit removed and the replacement as stored', async () => {
    // Act
    const response = await edit({ expectedSuffix: [draft], replacement: [final] });

    // Assess
    expect(response.statusCode).toBe(200);
    expect(response.headers).not.toHaveProperty('Idempotent-Replayed');
    expect(jsonBody(response)).toEqual({
      conversationId: 'conv-1',
      version: 4,
      removed: [stored(draft, 3)],
      messages: [stored(final, 4)],
    });
    expect(stub.replaceSuffix).toHaveBeenCalledWith(
      'tenant-a',
      'conv-1',
      { expectedSuffix: [draft], replacement: [final] },
      {
        expectedVersion: undefined,
        idempotencyKey: undefined,
        attachments: { inlineBudgetBytes: 1024 * 1024 },
      },
    );
  });

  it('passes expectedVersion and the Idempotency-Key on, and answers a replay with Idempotent-Replayed', async () => {
    // Prepare
    stub.replaceSuffix.mockResolvedValue({
      ...appended('conv-1', [stored(final, 4)], { replayed: true }),
      removed: [],
    });

    // Act
    const replay = await edit(
      { expectedSuffix: [draft], replacement: [final], expectedVersion: 3 },
      { headers: { 'Idempotency-Key': 'edit-1' } },
    );

    // Assess
    expect(replay.statusCode).toBe(200);
    expect(replay.headers).toMatchObject({ 'Idempotent-Replayed': 'true' });
    expect(jsonBody(replay).removed).toEqual([]);
    expect(stub.replaceSuffix.mock.calls[0]?.[3]).toEqual({
      expectedVersion: 3,
      idempotencyKey: 'edit-1',
      attachments: { inlineBudgetBytes: 1024 * 1024 },
    });
  });

  it.each([
    [new SuffixMismatchError(3), 409, { code: 'suffix_mismatch', currentVersion: 3 }],
    [new VersionConflictError(4), 409, { code: 'version_conflict', currentVersion: 4 }],
    [new IdempotentResultGoneError(), 410, { code: 'idempotency_result_gone' }],
    [new PayloadTooLargeError('replacement.0 is over 256 KiB.'), 413, { code: 'payload_too_large' }],
    [new IdempotencyKeyReusedError(), 422, { code: 'idempotency_key_reused' }],
    [new UnavailableError('DynamoDB is throttling.'), 503, { code: 'unavailable' }],
  ])('answers the store refusing with %s as %i', async (error, status, body) => {
    // Prepare
    stub.replaceSuffix.mockRejectedValue(error);

    // Act
    const response = await edit({ expectedSuffix: [draft], replacement: [final] });

    // Assess
    expect(response.statusCode).toBe(status);
    expect(jsonBody(response).error).toEqual({ message: error.message, ...body });
  });

  it.each([
    ['bad JSON', '{"expectedSuffix": [', /not valid JSON/],
    ['no replacement', { expectedSuffix: [draft] }, /replacement/],
    ['no expectedSuffix', { replacement: [draft] }, /expectedSuffix/],
    ['two empty lists', { expectedSuffix: [], replacement: [] }, /1 to 50 messages together/],
    [
      '51 messages together',
      {
        expectedSuffix: Array.from({ length: 26 }, () => draft),
        replacement: Array.from({ length: 25 }, () => draft),
      },
      /1 to 50 messages together/,
    ],
    ['an unknown field', { expectedSuffix: [], replacement: [draft], force: true }, /force/],
    [
      'an unknown role',
      { expectedSuffix: [], replacement: [{ role: 'robot', content: 'x' }] },
      /replacement\.0\.role/,
    ],
    ['a replacement that is no list', { expectedSuffix: [], replacement: draft }, /replacement/],
    [
      'a negative expectedVersion',
      { expectedSuffix: [], replacement: [draft], expectedVersion: -1 },
      /expectedVersion/,
    ],
    [
      'a message nested 33 levels deep',
      { expectedSuffix: [], replacement: [{ role: 'user', content: 'x', metadata: { a: nested(32) } }] },
      /nested deeper/,
    ],
  ])('answers 400 invalid_request for %s, without the store', async (_, body, message) => {
    // Act
    const response = await edit(body);

    // Assess
    expect(response.statusCode).toBe(400);
    expect(jsonBody(response).error).toEqual({
      code: 'invalid_request',
      message: expect.stringMatching(message),
    });
    expect(stub.replaceSuffix).not.toHaveBeenCalled();
  });

  it('answers 400 invalid_request for a bad conversation id or Idempotency-Key', async () => {
    // Act
    const badId = await edit({ expectedSuffix: [], replacement: [draft] }, { conversationId: 'a/b' });
    const badKey = await edit(
      { expectedSuffix: [], replacement: [draft] },
      { headers: { 'idempotency-key': 'k'.repeat(256) } },
    );

    // Assess
    expect(jsonBody(badId).error).toMatchObject({ code: 'invalid_request', message: /conversationId/ });
    expect(jsonBody(badKey).error).toMatchObject({ code: 'invalid_request', message: /idempotency-key/ });
    expect(stub.replaceSuffix).not.toHaveBeenCalled();
  });

  it('answers 401 unauthorized without an authorizer context, before reading the body', async () => {
    // Act
    const response = await edit('{bad json', { authorizer: null });

    // Assess
    expect(response.statusCode).toBe(401);
    expect(jsonBody(response).error.code).toBe('unauthorized');
  });

  it('answers 413 payload_too_large for a request body over 1 MiB, without the store', async () => {
    // Act
    const response = await edit({
      expectedSuffix: [],
      replacement: Array.from({ length: 5 }, () => ({ role: 'user', content: 'x'.repeat(220_000) })),
    });

    // Assess
    expect(response.statusCode).toBe(413);
    expect(jsonBody(response).error.message).toMatch(/1 MiB/);
    expect(stub.replaceSuffix).not.toHaveBeenCalled();
  });

  it('counts edits, removed and appended messages and consumed capacity', async () => {
    // Prepare
    const addMetric = vi.spyOn(metrics, 'addMetric');

    // Act
    await edit({ expectedSuffix: [draft], replacement: [final] });

    // Assess
    expect(addMetric.mock.calls).toEqual([
      ['edits', 'Count', 1],
      ['messagesRemoved', 'Count', 1],
      ['messagesAppended', 'Count', 1],
      ['consumedCapacity', 'Count', 6],
    ]);
  });
});
