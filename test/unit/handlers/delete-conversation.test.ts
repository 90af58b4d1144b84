import { beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../lambda/http/handlers/delete-conversation.js';
import { store } from '../../../lambda/http/runtime/store.js';
import { UnavailableError } from '../../../lambda/memory/errors.js';
import { conversationEvent, jsonBody } from '../../support/api-gateway-events.js';
import { stubStore } from './store-stub.js';

const stub = stubStore(store);

describe('deleteConversation handler', () => {
  beforeEach(() => {
    stub.reset();
    stub.deleteConversation.mockResolvedValue(undefined);
  });

  it('answers 204 without a body once the store deleted the conversation', async () => {
    // Act
    const response = await handler(conversationEvent('DELETE', 'conv-1'));

    // Assess
    expect(response).toEqual({ statusCode: 204 });
    expect(stub.deleteConversation).toHaveBeenCalledWith('tenant-a', 'conv-1');
  });

  it('answers 503 unavailable with Retry-After when the store could not finish the delete', async () => {
    // Prepare
    stub.deleteConversation.mockRejectedValue(
      new UnavailableError('DynamoDB did not confirm the delete. Retry it: a delete is safe to repeat.'),
    );

    // Act
    const response = await handler(conversationEvent('DELETE', 'conv-1'));

    // Assess
    expect(response.statusCode).toBe(503);
    expect(response.headers).toMatchObject({ 'Retry-After': '1' });
    expect(jsonBody(response).error).toMatchObject({ code: 'unavailable', message: /safe to repeat/ });
  });

  it.each([
    ['a bad conversation id', conversationEvent('DELETE', 'conv 1'), 400],
    ['no authorizer context', conversationEvent('DELETE', 'conv-1', { authorizer: null }), 401],
  ])('answers %s with %i, without the store', async (_, event, status) => {
    // Act
    const response = await handler(event);

    // Assess
    expect(response.statusCode).toBe(status);
    expect(stub.deleteConversation).not.toHaveBeenCalled();
  });
});
