import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { keys } from '../../../lambda/memory/table.js';
import { conversationEvent, jsonBody } from '../../support/api-gateway-events.js';

vi.hoisted(() => {
  process.env.TABLE_NAME = 'memory-test';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

const { handler } = await import('../../../lambda/http/handlers/delete-conversation.js');

const dynamo = mockClient(DynamoDBDocumentClient);
const pk = keys.partition('tenant-a', 'conv-1');

describe('deleteConversation handler', () => {
  beforeEach(() => {
    dynamo.reset();
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('answers 204 without a body after deleting every item of the conversation', async () => {
    // Prepare
    dynamo.on(GetCommand).resolves({ Item: { pk, sk: keys.head, version: 2 } });
    dynamo.on(UpdateCommand).resolves({ Attributes: { pk, sk: keys.head, version: 2, deleted: true } });
    dynamo
      .on(QueryCommand)
      .resolves({ Items: [{ sk: keys.message(1) }, { sk: keys.message(2) }, { sk: keys.head }] });
    dynamo.on(TransactWriteCommand).resolves({});

    // Act
    const response = await handler(conversationEvent('DELETE', 'conv-1'));

    // Assess
    expect(response).toEqual({ statusCode: 204 });
    expect(dynamo).toHaveReceivedCommandWith(UpdateCommand, {
      Key: { pk, sk: keys.head },
      UpdateExpression: expect.stringContaining('SET deleted = :true'),
    });
    const deleted = dynamo
      .commandCalls(TransactWriteCommand)
      .flatMap((call) => call.args[0].input.TransactItems ?? [])
      .flatMap((item) => (item.Delete ? [item.Delete.Key] : []));
    expect(deleted).toEqual([
      { pk, sk: keys.message(1) },
      { pk, sk: keys.message(2) },
      { pk, sk: keys.head },
    ]);
  });

  it('answers 204 when nothing existed, writing nothing', async () => {
    // Prepare
    dynamo.on(GetCommand).resolves({});
    dynamo.on(QueryCommand).resolves({ Items: [] });

    // Act
    const response = await handler(conversationEvent('DELETE', 'conv-1'));

    // Assess
    expect(response).toEqual({ statusCode: 204 });
    expect(dynamo).not.toHaveReceivedCommand(TransactWriteCommand);
  });

  it('answers 400 invalid_request for a bad conversation id', async () => {
    // Act
    const response = await handler(conversationEvent('DELETE', 'conv 1'));

    // Assess
    expect(response.statusCode).toBe(400);
    expect(dynamo).not.toHaveReceivedAnyCommand();
  });

  it('answers 401 unauthorized without an authorizer context', async () => {
    // Act
    const response = await handler(conversationEvent('DELETE', 'conv-1', { authorizer: null }));

    // Assess
    expect(response.statusCode).toBe(401);
    expect(dynamo).not.toHaveReceivedAnyCommand();
  });

  it('answers 503 unavailable with Retry-After when DynamoDB keeps throttling', async () => {
    // Prepare
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    dynamo
      .on(GetCommand)
      .rejects(new ProvisionedThroughputExceededException({ message: 'slow', $metadata: {} }));

    // Act
    const pending = handler(conversationEvent('DELETE', 'conv-1'));
    await vi.runAllTimersAsync();
    const response = await pending;

    // Assess
    expect(response.statusCode).toBe(503);
    expect(response.headers).toMatchObject({ 'Retry-After': '1' });
    expect(jsonBody(response).error.code).toBe('unavailable');
  });
});
