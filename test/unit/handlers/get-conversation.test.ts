import { beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../lambda/http/handlers/get-conversation.js';
import { store } from '../../../lambda/http/runtime/store.js';
import { conversationEvent, jsonBody, jwtAuthorizer } from '../../support/api-gateway-events.js';
import { stubStore } from './store-stub.js';

const stub = stubStore(store);
const conversation = {
  conversationId: 'conv-1',
  version: 4,
  messageCount: 4,
  createdAt: '2025-01-01T00:00:00.000Z',
  updatedAt: '2025-01-02T00:00:00.000Z',
  expiresAt: '2025-02-01T00:00:00.000Z',
  title: 'Refund',
  metadata: { pinned: true },
  revision: 2,
};

describe('getConversation handler', () => {
  beforeEach(() => {
    stub.reset();
  });

  it('answers 200 with the conversation as the store reports it', async () => {
    // Prepare
    stub.getConversation.mockResolvedValue(conversation);

    // Act
    const response = await handler(conversationEvent('GET', 'conv-1'));

    // Assess
    expect(response.statusCode).toBe(200);
    expect(jsonBody(response)).toEqual(conversation);
    expect(stub.getConversation).toHaveBeenCalledWith('tenant-a', 'conv-1');
  });

  it('answers 404 not_found for a conversation the store does not know', async () => {
    // Prepare
    stub.getConversation.mockResolvedValue(undefined);

    // Act
    const response = await handler(conversationEvent('GET', 'conv-1'));

    // Assess
    expect(response.statusCode).toBe(404);
    expect(jsonBody(response)).toEqual({
      error: { code: 'not_found', message: "Conversation 'conv-1' does not exist." },
    });
  });

  it.each([
    ['a bad conversation id', conversationEvent('GET', 'conv#1'), 400, 'invalid_request'],
    ['no authorizer context', conversationEvent('GET', 'conv-1', { authorizer: null }), 401, 'unauthorized'],
    [
      'a token without the tenant claim',
      conversationEvent('GET', 'conv-1', { authorizer: jwtAuthorizer({ email: 'a@b.c' }) }),
      403,
      'forbidden',
    ],
  ])('answers %s with %i %s, without the store', async (_, event, status, code) => {
    // Act
    const response = await handler(event);

    // Assess
    expect(response.statusCode).toBe(status);
    expect(jsonBody(response).error.code).toBe(code);
    expect(stub.getConversation).not.toHaveBeenCalled();
  });
});
