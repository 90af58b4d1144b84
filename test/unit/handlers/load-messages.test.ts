import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { keys } from '../../../lambda/memory/table.js';
import { conversationEvent, jsonBody } from '../../support/api-gateway-events.js';

vi.hoisted(() => {
  process.env.TABLE_NAME = 'memory-test';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

const { handler } = await import('../../../lambda/http/handlers/load-messages.js');
const { metrics } = await import('../../../lambda/http/runtime/observability.js');

const dynamo = mockClient(DynamoDBDocumentClient);
const pk = keys.partition('tenant-a', 'conv-1');
const createdAt = '2025-01-01T00:00:00.000Z';
const stored = (seq: number) => ({ role: 'user', content: `m${seq}`, id: `id-${seq}`, seq, createdAt });
const messageItem = (seq: number) => ({ pk, sk: keys.message(seq), msg: JSON.stringify(stored(seq)) });
const headItem = (version: number) => ({
  pk,
  sk: keys.head,
  version,
  messageCount: version,
  createdAt,
  updatedAt: createdAt,
});

const load = (query?: Record<string, string>, options: { authorizer?: unknown } = {}) =>
  handler(conversationEvent('GET', 'conv-1', { suffix: '/messages', query, ...options }));

describe('loadMessages handler', () => {
  beforeEach(() => {
    dynamo.reset();
  });

  afterEach(() => {
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  it('answers 200 with the newest 50 messages, ascending, from one strongly consistent Query', async () => {
    // Prepare
    dynamo
      .on(QueryCommand)
      .resolves({ Items: [headItem(3), messageItem(3), messageItem(2), messageItem(1)] });

    // Act
    const response = await load();

    // Assess
    expect(response.statusCode).toBe(200);
    expect(jsonBody(response)).toEqual({
      conversationId: 'conv-1',
      version: 3,
      messages: [stored(1), stored(2), stored(3)],
      nextBefore: null,
    });
    expect(dynamo).toHaveReceivedCommandExactlyOnceWith(QueryCommand, {
      TableName: 'memory-test',
      ExpressionAttributeValues: { ':pk': pk, ':prefix': keys.messagePrefix },
      ScanIndexForward: false,
      ConsistentRead: true,
      Limit: 51,
    });
  });

  it('pages backward with limit and answers nextBefore', async () => {
    // Prepare
    dynamo.on(QueryCommand).resolves({ Items: [headItem(3), messageItem(3), messageItem(2)] });

    // Act
    const response = await load({ limit: '2' });

    // Assess
    expect(response.statusCode).toBe(200);
    expect(jsonBody(response)).toMatchObject({ version: 3, messages: [stored(2), stored(3)], nextBefore: 2 });
    expect(dynamo).toHaveReceivedCommandWith(QueryCommand, { Limit: 3 });
  });

  it('pages forward from after and answers nextAfter', async () => {
    // Prepare
    dynamo.on(GetCommand).resolves({ Item: headItem(3) });
    dynamo.on(QueryCommand).resolves({ Items: [messageItem(2)] });

    // Act
    const response = await load({ after: '1', limit: '1' });

    // Assess
    expect(response.statusCode).toBe(200);
    expect(jsonBody(response)).toEqual({
      conversationId: 'conv-1',
      version: 3,
      messages: [stored(2)],
      nextAfter: 2,
    });
    expect(dynamo).toHaveReceivedCommandWith(QueryCommand, {
      ScanIndexForward: true,
      ExpressionAttributeValues: { ':pk': pk, ':lower': keys.message(2), ':upper': expect.any(String) },
    });
  });

  it('passes before as the exclusive upper bound', async () => {
    // Prepare
    dynamo.on(GetCommand).resolves({ Item: headItem(3) });
    dynamo.on(QueryCommand).resolves({ Items: [messageItem(2), messageItem(1)] });

    // Act
    const response = await load({ before: '3' });

    // Assess
    expect(jsonBody(response)).toMatchObject({ messages: [stored(1), stored(2)], nextBefore: null });
    expect(dynamo).toHaveReceivedCommandWith(QueryCommand, {
      ScanIndexForward: false,
      ExpressionAttributeValues: { ':pk': pk, ':lower': keys.message(1), ':upper': keys.message(2) },
    });
  });

  it('answers 200 with version 0 and no messages for an unknown conversation', async () => {
    // Prepare
    dynamo.on(QueryCommand).resolves({ Items: [] });

    // Act
    const response = await load();

    // Assess
    expect(response.statusCode).toBe(200);
    expect(jsonBody(response)).toEqual({
      conversationId: 'conv-1',
      version: 0,
      messages: [],
      nextBefore: null,
    });
  });

  it('accepts limit=1000, the largest page', async () => {
    // Prepare
    dynamo.on(QueryCommand).resolves({ Items: [] });

    // Act
    const response = await load({ limit: '1000' });

    // Assess
    expect(response.statusCode).toBe(200);
    expect(dynamo).toHaveReceivedCommandWith(QueryCommand, { Limit: 1001 });
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
  ])('answers 400 invalid_request for the query %o', async (query, message) => {
    // Act
    const response = await load(query);

    // Assess
    expect(response.statusCode).toBe(400);
    expect(jsonBody(response).error).toEqual({
      code: 'invalid_request',
      message: expect.stringMatching(message),
    });
    expect(dynamo).not.toHaveReceivedAnyCommand();
  });

  it('answers 400 invalid_request for a bad conversation id', async () => {
    // Act
    const response = await handler(conversationEvent('GET', 'a/b', { suffix: '/messages' }));

    // Assess
    expect(response.statusCode).toBe(400);
    expect(jsonBody(response).error.code).toBe('invalid_request');
  });

  it('answers 401 unauthorized without an authorizer context', async () => {
    // Act
    const response = await load(undefined, { authorizer: null });

    // Assess
    expect(response.statusCode).toBe(401);
    expect(jsonBody(response).error.code).toBe('unauthorized');
    expect(dynamo).not.toHaveReceivedAnyCommand();
  });

  it('answers 503 unavailable with Retry-After when DynamoDB keeps throttling', async () => {
    // Prepare
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    dynamo
      .on(QueryCommand)
      .rejects(new ProvisionedThroughputExceededException({ message: 'slow', $metadata: {} }));

    // Act
    const pending = load();
    await vi.runAllTimersAsync();
    const response = await pending;

    // Assess
    expect(response.statusCode).toBe(503);
    expect(response.headers).toMatchObject({ 'Retry-After': '1' });
    expect(jsonBody(response).error.code).toBe('unavailable');
  });

  it('counts the messages loaded and the capacity consumed', async () => {
    // Prepare
    dynamo.on(QueryCommand).resolves({
      Items: [headItem(2), messageItem(2), messageItem(1)],
      ConsumedCapacity: { CapacityUnits: 0.5 },
    });
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
