import { beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../lambda/http/handlers/list-conversations.js';
import { store } from '../../../lambda/http/runtime/store.js';
import { UnavailableError } from '../../../lambda/memory/errors.js';
import { apiEvent, jsonBody } from '../../support/api-gateway-events.js';
import { stubStore } from './store-stub.js';

const stub = stubStore(store);
const conversation = (conversationId: string, title?: string) => ({
  conversationId,
  version: 2,
  messageCount: 2,
  createdAt: '2026-11-30T12:00:00.000Z',
  updatedAt: '2026-11-30T12:01:00.000Z',
  ...(title === undefined ? {} : { title }),
  revision: 0,
});
const list = (query: Record<string, string> = {}, authorizer?: unknown) =>
  handler(
    apiEvent({
      method: 'GET',
      path: '/v1/conversations',
      query,
      ...(authorizer === undefined ? {} : { authorizer }),
    }),
  );

describe('listConversations handler', () => {
  beforeEach(() => {
    stub.reset();
    stub.listConversations.mockResolvedValue({
      conversations: [conversation('user-42:b', 'Refund'), conversation('a')],
      nextCursor: 'next',
      consumedCapacity: 58,
    });
  });

  it("answers 200 with the store's page of the caller's tenant, the default limit 50", async () => {
    // Act
    const response = await list();

    // Assess
    expect(response.statusCode).toBe(200);
    expect(jsonBody(response)).toEqual({
      conversations: [conversation('user-42:b', 'Refund'), conversation('a')],
      nextCursor: 'next',
    });
    expect(stub.listConversations).toHaveBeenCalledWith('tenant-a', {
      limit: 50,
      cursor: undefined,
      prefix: undefined,
    });
  });

  it('passes limit, cursor and prefix on', async () => {
    // Act
    await list({ limit: '7', cursor: 'abc_-1', prefix: 'user-42:' });

    // Assess
    expect(stub.listConversations).toHaveBeenCalledWith('tenant-a', {
      limit: 7,
      cursor: 'abc_-1',
      prefix: 'user-42:',
    });
  });

  it.each([
    ['limit 0', { limit: '0' }],
    ['limit 101', { limit: '101' }],
    ['limit 1e1', { limit: '1e1' }],
    ['a cursor of other characters', { cursor: 'a b' }],
    ['a prefix without its colon', { prefix: 'user-42' }],
    ['a prefix of two scopes', { prefix: 'a:b:' }],
    ['an unknown parameter', { sort: 'asc' }],
  ])('answers %s with 400 invalid_request, without the store', async (_, query) => {
    // Act
    const response = await list(query);

    // Assess
    expect(response.statusCode).toBe(400);
    expect(jsonBody(response).error.code).toBe('invalid_request');
    expect(stub.listConversations).not.toHaveBeenCalled();
  });

  it('answers 401 without an authenticated identity, without the store', async () => {
    // Act
    const response = await list({}, null);

    // Assess
    expect(response.statusCode).toBe(401);
    expect(stub.listConversations).not.toHaveBeenCalled();
  });

  it('answers 503 with Retry-After when the store is unavailable', async () => {
    // Prepare
    stub.listConversations.mockRejectedValue(new UnavailableError('DynamoDB keeps throttling.', 2));

    // Act
    const response = await list();

    // Assess
    expect(response.statusCode).toBe(503);
    expect(response.headers?.['Retry-After']).toBe('2');
    expect(jsonBody(response).error.code).toBe('unavailable');
  });
});
