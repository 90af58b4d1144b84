import { ProvisionedThroughputExceededException, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { keys } from '../../../lambda/memory/table.js';
import { conversationEvent, jsonBody } from '../../support/api-gateway-events.js';
import { cancelled } from '../../support/dynamodb-errors.js';

vi.hoisted(() => {
  process.env.TABLE_NAME = 'memory-test';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

const { handler } = await import('../../../lambda/http/handlers/append-messages.js');
const { logger, metrics } = await import('../../../lambda/http/runtime/observability.js');

const dynamo = mockClient(DynamoDBDocumentClient);
const pk = keys.partition('tenant-a', 'conv-1');
const hello = { role: 'user', content: 'hello' };

const append = (body: unknown, options: { headers?: Record<string, string>; conversationId?: string } = {}) =>
  handler(
    conversationEvent('POST', options.conversationId ?? 'conv-1', {
      suffix: '/messages',
      body,
      headers: options.headers,
    }),
  );

const sentTransactions = (): TransactWriteCommandInput[] =>
  dynamo.commandCalls(TransactWriteCommand).map((call) => call.args[0].input);

/** A user message whose JSON is exactly `bytes` long. */
const messageOfBytes = (bytes: number) => {
  const overhead = Buffer.byteLength(JSON.stringify({ role: 'user', content: '' }));
  return { role: 'user', content: 'x'.repeat(bytes - overhead) };
};

/** Nests `value` in `depth` levels of arrays. */
const nested = (depth: number, value: unknown = 'x'): unknown =>
  Array.from({ length: depth }).reduce((inner) => [inner], value);

describe('appendMessages handler', () => {
  beforeEach(() => {
    dynamo.reset();
    dynamo.on(GetCommand).resolves({});
    dynamo.on(TransactWriteCommand).resolves({});
  });

  afterEach(() => {
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  it('answers 201 with the stored messages and writes them under the caller tenant', async () => {
    // Prepare
    const messages = [hello, { role: 'assistant', content: [{ type: 'text', text: 'hi' }] }];

    // Act
    const response = await append({ messages });

    // Assess
    expect(response.statusCode).toBe(201);
    expect(response.headers).toEqual({ 'Content-Type': 'application/json' });
    const body = jsonBody(response);
    expect(body).toMatchObject({ conversationId: 'conv-1', version: 2 });
    expect(body.messages).toHaveLength(2);
    expect(body.messages[0]).toMatchObject({ ...hello, seq: 1 });
    expect(body.messages[1]).toMatchObject({ ...messages[1], seq: 2 });
    expect(body.messages[0].id).toMatch(/^[0-9A-Z]{26}$/);
    expect(body.messages[0].createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(dynamo).toHaveReceivedCommandWith(GetCommand, {
      TableName: 'memory-test',
      Key: { pk, sk: keys.head },
    });
    const items = sentTransactions()[0]?.TransactItems ?? [];
    expect(items.map((item) => item.Put?.Item?.pk ?? item.Update?.Key?.pk)).toEqual([pk, pk, pk]);
  });

  it('commits on expectedVersion without reading the head first', async () => {
    // Act
    const response = await append({ messages: [hello], expectedVersion: 4 });

    // Assess
    expect(response.statusCode).toBe(201);
    expect(jsonBody(response)).toMatchObject({ version: 5, messages: [{ seq: 5 }] });
    expect(dynamo).not.toHaveReceivedCommand(GetCommand);
    expect(sentTransactions()[0]?.TransactItems?.[0]?.Update?.ExpressionAttributeValues).toMatchObject({
      ':base': 4,
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
    const response = await append(raw);

    // Assess
    expect(response.statusCode).toBe(201);
    const stored = JSON.parse(sentTransactions()[0]?.TransactItems?.[1]?.Put?.Item?.msg as string);
    expect(JSON.stringify(stored.content)).toBe('[{"zeta":1,"type":"text","text":"a"}]');
    expect(JSON.stringify(stored.metadata)).toBe('{"b":1,"__proto__":{"kept":true},"a":[1,{"x":null}]}');
  });

  it('replays a repeated Idempotency-Key with 200 and Idempotent-Replayed: true, appending nothing', async () => {
    // Prepare: the first request commits; its idempotency record is what DynamoDB returns the second time.
    const headers = { 'idempotency-key': 'key-1' };
    const first = await append({ messages: [hello] }, { headers });
    const [head, message, record] = sentTransactions()[0]?.TransactItems ?? [];
    dynamo.reset();
    dynamo.on(GetCommand).resolves({ Item: { pk, sk: keys.head, version: 1 } });
    dynamo
      .on(TransactWriteCommand)
      .rejects(
        cancelled(
          { Code: 'ConditionalCheckFailed', Item: { ...head?.Put?.Item } },
          { Code: 'None' },
          { Code: 'ConditionalCheckFailed', Item: { ...record?.Put?.Item } },
        ),
      );
    dynamo.on(QueryCommand).resolves({ Items: [message?.Put?.Item ?? {}] });
    const addMetric = vi.spyOn(metrics, 'addMetric');

    // Act
    const replay = await append({ messages: [hello] }, { headers: { 'Idempotency-Key': 'key-1' } });

    // Assess
    expect(first.statusCode).toBe(201);
    expect(first.headers).not.toHaveProperty('Idempotent-Replayed');
    expect(replay.statusCode).toBe(200);
    expect(replay.headers).toMatchObject({ 'Idempotent-Replayed': 'true' });
    expect(jsonBody(replay)).toEqual(jsonBody(first));
    expect(dynamo).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
    expect(addMetric).toHaveBeenCalledWith('replays', 'Count', 1);
    expect(addMetric).not.toHaveBeenCalledWith('appends', expect.anything(), expect.anything());
  });

  it('answers 410 idempotency_result_gone when an edit removed what the key wrote', async () => {
    // Prepare: the key's record is there, its message is not (a later edit removed it).
    const headers = { 'idempotency-key': 'key-1' };
    await append({ messages: [hello] }, { headers });
    const [head, , record] = sentTransactions()[0]?.TransactItems ?? [];
    dynamo.reset();
    dynamo.on(GetCommand).resolves({ Item: { pk, sk: keys.head, version: 2 } });
    dynamo
      .on(TransactWriteCommand)
      .rejects(
        cancelled(
          { Code: 'ConditionalCheckFailed', Item: { ...head?.Put?.Item, version: 2 } },
          { Code: 'None' },
          { Code: 'ConditionalCheckFailed', Item: { ...record?.Put?.Item } },
        ),
      );
    dynamo.on(QueryCommand).resolves({ Items: [] });

    // Act
    const response = await append({ messages: [hello] }, { headers });

    // Assess
    expect(response.statusCode).toBe(410);
    expect(jsonBody(response).error.code).toBe('idempotency_result_gone');
    expect(dynamo).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
  });

  it('answers 422 idempotency_key_reused when the key comes back with another body', async () => {
    // Prepare
    const headers = { 'idempotency-key': 'key-1' };
    await append({ messages: [hello] }, { headers });
    const [head, , record] = sentTransactions()[0]?.TransactItems ?? [];
    dynamo.reset();
    dynamo.on(GetCommand).resolves({ Item: { pk, sk: keys.head, version: 1 } });
    dynamo
      .on(TransactWriteCommand)
      .rejects(
        cancelled(
          { Code: 'ConditionalCheckFailed', Item: { ...head?.Put?.Item } },
          { Code: 'None' },
          { Code: 'ConditionalCheckFailed', Item: { ...record?.Put?.Item } },
        ),
      );

    // Act
    const response = await append({ messages: [{ role: 'user', content: 'something else' }] }, { headers });

    // Assess
    expect(response.statusCode).toBe(422);
    expect(jsonBody(response).error.code).toBe('idempotency_key_reused');
  });

  it('answers 409 version_conflict with currentVersion when expectedVersion is stale', async () => {
    // Prepare
    dynamo
      .on(TransactWriteCommand)
      .rejects(
        cancelled(
          { Code: 'ConditionalCheckFailed', Item: { pk, sk: keys.head, version: 3 } },
          { Code: 'None' },
        ),
      );
    const addMetric = vi.spyOn(metrics, 'addMetric');

    // Act
    const response = await append({ messages: [hello], expectedVersion: 2 });

    // Assess
    expect(response.statusCode).toBe(409);
    expect(jsonBody(response)).toEqual({
      error: { code: 'version_conflict', message: 'The conversation is at version 3.', currentVersion: 3 },
    });
    expect(addMetric).toHaveBeenCalledWith('conflicts', 'Count', 1);
  });

  it('answers 413 payload_too_large for a message one byte over 256 KiB, storing nothing', async () => {
    // Prepare
    const big = messageOfBytes(256 * 1024 + 1);

    // Act
    const response = await append({ messages: [big] });

    // Assess
    expect(response.statusCode).toBe(413);
    expect(jsonBody(response).error).toMatchObject({
      code: 'payload_too_large',
      message: expect.stringMatching(/256 KiB/),
    });
    expect(dynamo).not.toHaveReceivedCommand(TransactWriteCommand);
  });

  it('accepts a message of exactly 256 KiB', async () => {
    // Act
    const response = await append({ messages: [messageOfBytes(256 * 1024)] });

    // Assess
    expect(response.statusCode).toBe(201);
  });

  it.each([
    ['plain', false],
    ['base64-encoded', true],
  ])('answers 413 payload_too_large for a %s request body over 1 MiB', async (_, isBase64Encoded) => {
    // Prepare: each message is within its own limit; together they are over 1 MiB.
    const text = JSON.stringify({
      messages: Array.from({ length: 5 }, () => ({ role: 'user', content: 'x'.repeat(220_000) })),
    });
    const event = conversationEvent('POST', 'conv-1', {
      suffix: '/messages',
      body: isBase64Encoded ? Buffer.from(text).toString('base64') : text,
      isBase64Encoded,
    });

    // Act
    const response = await handler(event);

    // Assess
    expect(response.statusCode).toBe(413);
    expect(jsonBody(response).error).toEqual({
      code: 'payload_too_large',
      message: `The request body is ${Buffer.byteLength(text)} bytes; the limit is 1048576 (1 MiB).`,
    });
    expect(dynamo).not.toHaveReceivedAnyCommand();
  });

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
  ])('answers 400 invalid_request for %s, storing nothing', async (_, body, message) => {
    // Act
    const response = await append(body);

    // Assess
    expect(response.statusCode).toBe(400);
    expect(jsonBody(response).error).toEqual({
      code: 'invalid_request',
      message: expect.stringMatching(message),
    });
    expect(dynamo).not.toHaveReceivedAnyCommand();
  });

  it('accepts a message nested exactly 32 levels deep', async () => {
    // Prepare: the message object is level 1, metadata 2, then 30 arrays.
    const message = { role: 'user', content: 'x', metadata: { a: nested(30) } };

    // Act
    const response = await append({ messages: [message] });

    // Assess
    expect(response.statusCode).toBe(201);
  });

  it('rejects hostile nesting with 400 instead of overflowing the stack', async () => {
    // Prepare
    const body = `{"messages":[{"role":"user","content":"x","metadata":{"a":${'['.repeat(200_000)}${']'.repeat(200_000)}}}]}`;

    // Act
    const response = await append(body);

    // Assess
    expect(response.statusCode).toBe(400);
    expect(jsonBody(response).error.message).toMatch(/nested deeper than 34 levels/);
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
    expect(dynamo).not.toHaveReceivedAnyCommand();
  });

  it('accepts a URL-encoded conversation id such as user-42%3Aticket-7', async () => {
    // Act
    const response = await append({ messages: [hello] }, { conversationId: 'user-42%3Aticket-7' });

    // Assess
    expect(response.statusCode).toBe(201);
    expect(jsonBody(response).conversationId).toBe('user-42:ticket-7');
    expect(dynamo).toHaveReceivedCommandWith(GetCommand, {
      Key: { pk: keys.partition('tenant-a', 'user-42:ticket-7'), sk: keys.head },
    });
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
    expect(dynamo).not.toHaveReceivedAnyCommand();
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
    expect(dynamo).not.toHaveReceivedAnyCommand();
  });

  it('answers 503 unavailable with Retry-After when DynamoDB keeps throttling', async () => {
    // Prepare
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    dynamo
      .on(GetCommand)
      .rejects(new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} }));

    // Act
    const pending = append({ messages: [hello] });
    await vi.runAllTimersAsync();
    const response = await pending;

    // Assess
    expect(response.statusCode).toBe(503);
    expect(response.headers).toMatchObject({ 'Retry-After': '1', 'Content-Type': 'application/json' });
    expect(jsonBody(response).error.code).toBe('unavailable');
  });

  it('answers 500 internal without details, logging the cause', async () => {
    // Prepare
    const failure = new ResourceNotFoundException({
      message: 'Requested resource not found: secret-table',
      $metadata: {},
    });
    dynamo.on(GetCommand).rejects(failure);
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
    expect(response.body).not.toMatch(/secret|DynamoDB|table|Resource/i);
    expect(logError).toHaveBeenCalledOnce();
    const [, fields] = logError.mock.calls[0] as [string, { error: Error; statusCode: number }];
    expect(fields.statusCode).toBe(500);
    expect(fields.error.cause).toBe(failure);
  });

  it('counts appends, appended messages and consumed capacity', async () => {
    // Prepare
    dynamo.on(GetCommand).resolves({ ConsumedCapacity: { CapacityUnits: 1 } });
    dynamo.on(TransactWriteCommand).resolves({ ConsumedCapacity: [{ CapacityUnits: 4 }] });
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
