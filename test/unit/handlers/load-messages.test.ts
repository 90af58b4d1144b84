import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { handler } from '../../../lambda/http/handlers/load-messages.js';
import { metrics } from '../../../lambda/http/runtime/observability.js';
import { store } from '../../../lambda/http/runtime/store.js';
import { UnavailableError } from '../../../lambda/memory/errors.js';
import { conversationEvent, jsonBody } from '../../support/api-gateway-events.js';
import { stored, stubStore } from './store-stub.js';

const stub = stubStore(store);
const messages = [stored({ role: 'user', content: 'a' }, 2), stored({ role: 'assistant', content: 'b' }, 3)];

const load = (query?: Record<string, string>, options: { authorizer?: unknown } = {}) =>
  handler(conversationEvent('GET', 'conv-1', { suffix: '/messages', query, ...options }));

describe('loadMessages handler', () => {
  beforeEach(() => {
    stub.reset();
    stub.load.mockResolvedValue({
      conversationId: 'conv-1',
      version: 3,
      messages,
      nextBefore: 2,
      consumedCapacity: 0.5,
    });
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('answers 200 with the page, without the capacity it consumed, reading the newest 50 by default', async () => {
    // Act
    const response = await load();

    // Assess
    expect(response.statusCode).toBe(200);
    expect(jsonBody(response)).toEqual({ conversationId: 'conv-1', version: 3, messages, nextBefore: 2 });
    expect(stub.load).toHaveBeenCalledWith('tenant-a', 'conv-1', {
      limit: 50,
      attachments: { inlineBudgetBytes: 1024 * 1024 },
    });
  });

  it.each([
    [{ limit: '2' }, { limit: 2 }],
    [{ limit: '1000' }, { limit: 1000 }],
    [{ before: '3' }, { limit: 50, before: 3 }],
    [
      { after: '1', limit: '1' },
      { limit: 1, after: 1 },
    ],
  ])('passes the query %o to the store as numbers', async (query, options) => {
    // Act
    await load(query);

    // Assess
    expect(stub.load).toHaveBeenCalledWith('tenant-a', 'conv-1', {
      ...options,
      attachments: { inlineBudgetBytes: 1024 * 1024 },
    });
  });

  it('answers a forward page with nextAfter', async () => {
    // Prepare
    stub.load.mockResolvedValue({
      conversationId: 'conv-1',
      version: 3,
      messages,
      nextAfter: 3,
      consumedCapacity: 1,
    });

    // Act
    const response = await load({ after: '1' });

    // Assess
    expect(jsonBody(response)).toEqual({ conversationId: 'conv-1', version: 3, messages, nextAfter: 3 });
  });

  it.each([
    [{ limit: '0' }, /limit/],
    [{ limit: '1001' }, /limit/],
    [{ limit: 'ten' }, /limit: must be an integer/],
    [{ limit: '1e3' }, /limit/],
    [{ limit: ' 5' }, /limit/],
    [{ limit: '5,6' }, /limit/],
    [{ limit: '' }, /limit/],
    [{ before: '-1' }, /before/],
    [{ after: '1.5' }, /after/],
    [{ after: '99999999999999999999' }, /after/],
    [{ limt: '5' }, /limt/],
  ])('answers 400 invalid_request for the query %o, without the store', async (query, message) => {
    // Act
    const response = await load(query);

    // Assess
    expect(response.statusCode).toBe(400);
    expect(jsonBody(response).error).toEqual({
      code: 'invalid_request',
      message: expect.stringMatching(message),
    });
    expect(stub.load).not.toHaveBeenCalled();
  });

  it('answers 400 invalid_request for a bad conversation id', async () => {
    // Act
    const response = await handler(conversationEvent('GET', 'a/b', { suffix: '/messages' }));

    // Assess
    expect(response.statusCode).toBe(400);
    expect(jsonBody(response).error.code).toBe('invalid_request');
    expect(stub.load).not.toHaveBeenCalled();
  });

  it('answers 401 unauthorized without an authorizer context', async () => {
    // Act
    const response = await load(undefined, { authorizer: null });

    // Assess
    expect(response.statusCode).toBe(401);
    expect(jsonBody(response).error.code).toBe('unauthorized');
    expect(stub.load).not.toHaveBeenCalled();
  });

  it('answers 503 unavailable with Retry-After when the store cannot read', async () => {
    // Prepare
    stub.load.mockRejectedValue(
      new UnavailableError('The conversation kept being edited during the read. Retry.'),
    );

    // Act
    const response = await load();

    // Assess
    expect(response.statusCode).toBe(503);
    expect(response.headers).toMatchObject({ 'Retry-After': '1' });
    expect(jsonBody(response).error.code).toBe('unavailable');
  });

  it('counts the messages loaded and the capacity consumed', async () => {
    // Prepare
    const addMetric = vi.spyOn(metrics, 'addMetric');

    // Act
    await load();

    // Assess
    expect(addMetric.mock.calls).toEqual([
      ['messagesLoaded', 'Count', 2],
      ['consumedCapacity', 'Count', 0.5],
    ]);
  });
});
