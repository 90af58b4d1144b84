import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { handler } from '../../../lambda/http/handlers/get-summaries.js';
import { store } from '../../../lambda/http/runtime/store.js';
import { UnavailableError } from '../../../lambda/memory/errors.js';
import { conversationEvent, jsonBody } from '../../support/api-gateway-events.js';
import { stored, stubStore } from './store-stub.js';

const stub = stubStore(store);
const summary = {
  fromSeq: 1,
  throughSeq: 10,
  messageCount: 10,
  text: 'The user said:\n- [3] My name is Ada.',
  createdAt: '2026-01-02T00:00:00.000Z',
  model: 'offline',
  basedOn: 0,
};
const after = [
  stored({ role: 'user', content: 'm11' }, 11),
  stored({ role: 'assistant', content: 'm12' }, 12),
];

const get = (query?: Record<string, string>) =>
  handler(conversationEvent('GET', 'conv-1', { suffix: '/summaries', query }));

describe('getSummaries handler', () => {
  beforeEach(() => {
    stub.reset();
    stub.loadContext.mockResolvedValue({
      conversationId: 'conv-1',
      version: 12,
      messageCount: 12,
      summary,
      messages: after,
      consumedCapacity: 1,
    });
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('answers the summary alone by default (recent=0), without the store-only fields', async () => {
    // Act
    const response = await get();

    // Assess
    expect(response.statusCode).toBe(200);
    expect(jsonBody(response)).toEqual({
      conversationId: 'conv-1',
      version: 12,
      summaries: [summary],
      messages: after,
    });
    expect(stub.loadContext).toHaveBeenCalledWith('tenant-a', 'conv-1', { limit: 0 });
  });

  it('reads "summary + recent" with recent=N', async () => {
    // Act
    await get({ recent: '20' });

    // Assess
    expect(stub.loadContext).toHaveBeenCalledWith('tenant-a', 'conv-1', { limit: 20 });
  });

  it('answers an empty list when the conversation has no summary (none yet, or an edit deleted it)', async () => {
    // Prepare
    stub.loadContext.mockResolvedValue({
      conversationId: 'conv-1',
      version: 0,
      messageCount: 0,
      messages: [],
      consumedCapacity: 0.5,
    });

    // Act
    const response = await get();

    // Assess
    expect(jsonBody(response)).toEqual({ conversationId: 'conv-1', version: 0, summaries: [], messages: [] });
  });

  it.each([['-1'], ['1001'], ['2.5'], ['x']])(
    'answers 400 for recent=%s, reading nothing',
    async (recent) => {
      // Act
      const response = await get({ recent });

      // Assess
      expect(response.statusCode).toBe(400);
      expect(jsonBody(response).error.code).toBe('invalid_request');
      expect(stub.loadContext).not.toHaveBeenCalled();
    },
  );

  it('answers 503 when the store is unavailable', async () => {
    // Prepare
    stub.loadContext.mockRejectedValue(new UnavailableError('DynamoDB is unavailable.'));

    // Act
    const response = await get();

    // Assess
    expect(response.statusCode).toBe(503);
    expect(jsonBody(response).error.code).toBe('unavailable');
  });
});
