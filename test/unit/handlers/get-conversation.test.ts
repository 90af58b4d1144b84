import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { keys } from '../../../lambda/memory/table.js';
import { conversationEvent, jsonBody, jwtAuthorizer } from '../../support/api-gateway-events.js';

vi.hoisted(() => {
  process.env.TABLE_NAME = 'memory-test';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

const { handler } = await import('../../../lambda/http/handlers/get-conversation.js');

const dynamo = mockClient(DynamoDBDocumentClient);
const pk = keys.partition('tenant-a', 'conv-1');
const createdAt = '2025-01-01T00:00:00.000Z';
const updatedAt = '2025-01-02T00:00:00.000Z';

describe('getConversation handler', () => {
  beforeEach(() => {
    dynamo.reset();
  });

  it('answers 200 with the conversation metadata', async () => {
    // Prepare
    dynamo
      .on(GetCommand)
      .resolves({ Item: { pk, sk: keys.head, version: 4, messageCount: 4, createdAt, updatedAt } });

    // Act
    const response = await handler(conversationEvent('GET', 'conv-1'));

    // Assess
    expect(response.statusCode).toBe(200);
    expect(jsonBody(response)).toEqual({
      conversationId: 'conv-1',
      version: 4,
      messageCount: 4,
      createdAt,
      updatedAt,
    });
    expect(dynamo).toHaveReceivedCommandExactlyOnceWith(GetCommand, {
      TableName: 'memory-test',
      Key: { pk, sk: keys.head },
      ConsistentRead: true,
    });
  });

  it('answers expiresAt as ISO-8601 when the conversation has a retention', async () => {
    // Prepare
    const expiresAt = Math.floor(Date.now() / 1000) + 3600;
    dynamo.on(GetCommand).resolves({
      Item: { pk, sk: keys.head, version: 1, messageCount: 1, createdAt, updatedAt, liveUntil: expiresAt },
    });

    // Act
    const response = await handler(conversationEvent('GET', 'conv-1'));

    // Assess
    expect(jsonBody(response).expiresAt).toBe(new Date(expiresAt * 1000).toISOString());
  });

  it('answers 404 not_found for a conversation never written', async () => {
    // Prepare
    dynamo.on(GetCommand).resolves({});

    // Act
    const response = await handler(conversationEvent('GET', 'conv-1'));

    // Assess
    expect(response.statusCode).toBe(404);
    expect(jsonBody(response)).toEqual({
      error: { code: 'not_found', message: "Conversation 'conv-1' does not exist." },
    });
  });

  it('answers 400 invalid_request for a bad conversation id', async () => {
    // Act
    const response = await handler(conversationEvent('GET', 'conv#1'));

    // Assess
    expect(response.statusCode).toBe(400);
    expect(jsonBody(response).error.code).toBe('invalid_request');
    expect(dynamo).not.toHaveReceivedAnyCommand();
  });

  it('answers 401 unauthorized without an authorizer context', async () => {
    // Act
    const response = await handler(conversationEvent('GET', 'conv-1', { authorizer: null }));

    // Assess
    expect(response.statusCode).toBe(401);
    expect(dynamo).not.toHaveReceivedAnyCommand();
  });

  it('answers 403 forbidden for a token without the tenant claim', async () => {
    // Act
    const response = await handler(
      conversationEvent('GET', 'conv-1', { authorizer: jwtAuthorizer({ email: 'a@b.c' }) }),
    );

    // Assess
    expect(response.statusCode).toBe(403);
    expect(jsonBody(response).error).toEqual({
      code: 'forbidden',
      message: "The token has no 'sub' claim to identify the caller's tenant.",
    });
    expect(dynamo).not.toHaveReceivedAnyCommand();
  });
});
