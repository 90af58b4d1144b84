import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { StoredMessage } from '../../../lambda/memory/message.js';
import { keys } from '../../../lambda/memory/table.js';
import { apiEvent, conversationEvent, jsonBody } from '../../support/api-gateway-events.js';
import { cancelled } from '../../support/dynamodb-errors.js';

vi.hoisted(() => {
  process.env.TABLE_NAME = 'memory-test';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

const { handler } = await import('../../../lambda/http/handlers/edit-history.js');
const append = (await import('../../../lambda/http/handlers/append-messages.js')).handler;
const { metrics } = await import('../../../lambda/http/runtime/observability.js');

const dynamo = mockClient(DynamoDBDocumentClient);
const pk = keys.partition('tenant-a', 'conv-1');
const createdAt = '2025-01-01T00:00:00.000Z';

const stored = (seq: number): StoredMessage => ({
  role: seq % 2 === 1 ? 'user' : 'assistant',
  content: `m${seq}`,
  id: `id-${seq}`,
  seq,
  createdAt,
});
/** How a client sends stored(seq) back: the message without what the store added. */
const sent = (seq: number) => ({ role: stored(seq).role, content: stored(seq).content });
const messageItem = (message: StoredMessage) => ({
  pk,
  sk: keys.message(message.seq),
  msg: JSON.stringify(message),
});
const headItem = (version: number) => ({
  pk,
  sk: keys.head,
  version,
  messageCount: version,
  createdAt,
  updatedAt: createdAt,
});
/** The newest-first Query of a conversation of `version` messages (head first). */
const conversationOf = (version: number) => ({
  Items: [
    headItem(version),
    ...Array.from({ length: version }, (_, index) => messageItem(stored(version - index))),
  ],
});

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

const sentTransactions = (): TransactWriteCommandInput[] =>
  dynamo.commandCalls(TransactWriteCommand).map((call) => call.args[0].input);

/** Makes DynamoDB answer as if `first` (an earlier request's transaction with `key`) had committed. */
function answerReplayOf(first: TransactWriteCommandInput | undefined, key: string, version: number) {
  const items = first?.TransactItems ?? [];
  const record = items.find((item) => String(item.Put?.Item?.sk).startsWith('IDEM#'))?.Put?.Item;
  const messages = items.filter((item) => item.Put?.Item?.msg !== undefined).map((item) => item.Put?.Item);
  dynamo.reset();
  dynamo.on(GetCommand, { Key: { pk, sk: keys.idempotency(key) } }).resolves({ Item: record });
  dynamo.on(GetCommand, { Key: { pk, sk: keys.head } }).resolves({ Item: { pk, sk: keys.head, version } });
  dynamo.on(QueryCommand).resolves(conversationOf(version));
  dynamo
    .on(QueryCommand, { KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lower AND :upper' })
    .resolves({ Items: messages as Array<Record<string, unknown>> });
  dynamo.on(TransactWriteCommand).rejects(new Error('a replay must not write'));
}

/** Nests `value` in `depth` levels of arrays. */
const nested = (depth: number, value: unknown = 'x'): unknown =>
  Array.from({ length: depth }).reduce((inner) => [inner], value);

describe('editHistory handler', () => {
  beforeEach(() => {
    dynamo.reset();
    dynamo.on(GetCommand).resolves({});
    dynamo.on(QueryCommand).resolves(conversationOf(3));
    dynamo.on(TransactWriteCommand).resolves({});
  });

  afterEach(() => {
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  it('answers 200 with what it removed and the replacement as stored, with new seqs after the version', async () => {
    // Prepare
    const replacement = [{ role: 'user', content: 'edited' }];

    // Act
    const response = await edit({ expectedSuffix: [sent(3)], replacement });

    // Assess
    expect(response.statusCode).toBe(200);
    expect(response.headers).toEqual({ 'Content-Type': 'application/json' });
    const body = jsonBody(response);
    expect(body).toMatchObject({ conversationId: 'conv-1', version: 4, removed: [stored(3)] });
    expect(body.messages).toEqual([
      {
        role: 'user',
        content: 'edited',
        id: expect.stringMatching(/^[0-9A-Z]{26}$/),
        seq: 4,
        createdAt: expect.any(String),
      },
    ]);
    const items = sentTransactions()[0]?.TransactItems ?? [];
    expect(items[0]?.Update?.ExpressionAttributeValues).toMatchObject({
      ':base': 3,
      ':version': 4,
      ':count': 0,
    });
    expect(items[1]?.Delete?.Key).toEqual({ pk, sk: keys.message(3) });
    expect(JSON.parse(items[2]?.Put?.Item?.msg as string)).toEqual(body.messages[0]);
    expect(items).toHaveLength(3);
  });

  it('raises the version by one for an edit that only removes', async () => {
    // Act
    const response = await edit({ expectedSuffix: [sent(2), sent(3)], replacement: [] });

    // Assess
    expect(response.statusCode).toBe(200);
    expect(jsonBody(response)).toEqual({
      conversationId: 'conv-1',
      version: 4,
      removed: [stored(2), stored(3)],
      messages: [],
    });
    const items = sentTransactions()[0]?.TransactItems ?? [];
    expect(items[0]?.Update?.ExpressionAttributeValues).toMatchObject({ ':version': 4, ':count': -2 });
    expect(items.slice(1, 3).map((item) => item.Delete?.Key?.sk)).toEqual([keys.message(2), keys.message(3)]);
    // Nothing it adds could show later that it committed, so it leaves a marker of its version.
    expect(items[3]?.Put?.Item).toMatchObject({ sk: keys.removal(4), version: 4, op: expect.any(String) });
    expect(items).toHaveLength(4);
  });

  it('appends when expectedSuffix is empty, removing nothing', async () => {
    // Act
    const response = await edit({
      expectedSuffix: [],
      replacement: [{ role: 'assistant', content: 'more' }],
    });

    // Assess
    expect(response.statusCode).toBe(200);
    expect(jsonBody(response)).toMatchObject({
      version: 4,
      removed: [],
      messages: [{ seq: 4, content: 'more' }],
    });
  });

  it('compares an expected message with its id when one is given', async () => {
    // Act
    const same = await edit({ expectedSuffix: [{ ...sent(3), id: 'id-3' }], replacement: [] });
    const other = await edit({ expectedSuffix: [{ ...sent(3), id: 'id-9' }], replacement: [] });

    // Assess
    expect(same.statusCode).toBe(200);
    expect(other.statusCode).toBe(409);
    expect(jsonBody(other).error.code).toBe('suffix_mismatch');
  });

  it('answers 409 suffix_mismatch with currentVersion when the conversation ends otherwise, changing nothing', async () => {
    // Act
    const response = await edit({ expectedSuffix: [sent(2)], replacement: [{ role: 'user', content: 'x' }] });

    // Assess
    expect(response.statusCode).toBe(409);
    expect(jsonBody(response)).toEqual({
      error: {
        code: 'suffix_mismatch',
        message: 'The conversation (version 3) does not end with the expected messages.',
        currentVersion: 3,
      },
    });
    expect(dynamo).not.toHaveReceivedCommand(TransactWriteCommand);
  });

  it('answers 409 version_conflict with currentVersion when expectedVersion is stale, changing nothing', async () => {
    // Act
    const response = await edit({ expectedSuffix: [sent(3)], replacement: [], expectedVersion: 2 });

    // Assess
    expect(response.statusCode).toBe(409);
    expect(jsonBody(response)).toEqual({
      error: { code: 'version_conflict', message: 'The conversation is at version 3.', currentVersion: 3 },
    });
    expect(dynamo).not.toHaveReceivedCommand(TransactWriteCommand);
  });

  it('answers 409 version_conflict when another writer commits first under expectedVersion', async () => {
    // Prepare
    dynamo
      .on(TransactWriteCommand)
      .rejects(cancelled({ Code: 'ConditionalCheckFailed', Item: headItem(4) }, { Code: 'None' }));

    // Act
    const response = await edit({ expectedSuffix: [sent(3)], replacement: [], expectedVersion: 3 });

    // Assess
    expect(response.statusCode).toBe(409);
    expect(jsonBody(response).error).toMatchObject({ code: 'version_conflict', currentVersion: 4 });
  });

  it('replays a repeated Idempotency-Key with 200, Idempotent-Replayed: true and nothing removed', async () => {
    // Prepare
    const body = { expectedSuffix: [sent(3)], replacement: [{ role: 'user', content: 'edited' }] };
    const first = await edit(body, { headers: { 'idempotency-key': 'edit-1' } });
    answerReplayOf(sentTransactions()[0], 'edit-1', 4);
    const addMetric = vi.spyOn(metrics, 'addMetric');

    // Act
    const replay = await edit(body, { headers: { 'Idempotency-Key': 'edit-1' } });

    // Assess
    expect(first.statusCode).toBe(200);
    expect(first.headers).not.toHaveProperty('Idempotent-Replayed');
    expect(replay.statusCode).toBe(200);
    expect(replay.headers).toMatchObject({ 'Idempotent-Replayed': 'true' });
    expect(jsonBody(replay)).toEqual({ ...jsonBody(first), removed: [] });
    expect(dynamo).not.toHaveReceivedCommand(TransactWriteCommand);
    expect(addMetric).toHaveBeenCalledWith('editReplays', 'Count', 1);
  });

  it('answers 422 idempotency_key_reused for a key an append of this conversation used', async () => {
    // Prepare: the append writes its idempotency record under the same key.
    await append(
      conversationEvent('POST', 'conv-1', {
        suffix: '/messages',
        body: { messages: [sent(3)] },
        headers: { 'idempotency-key': 'shared-1' },
      }),
    );
    answerReplayOf(sentTransactions()[0], 'shared-1', 3);

    // Act
    const response = await edit(
      { expectedSuffix: [sent(3)], replacement: [] },
      { headers: { 'idempotency-key': 'shared-1' } },
    );

    // Assess
    expect(response.statusCode).toBe(422);
    expect(jsonBody(response).error.code).toBe('idempotency_key_reused');
    expect(dynamo).not.toHaveReceivedCommand(TransactWriteCommand);
  });

  it.each([
    ['bad JSON', '{"expectedSuffix": [', /not valid JSON/],
    ['no replacement', { expectedSuffix: [sent(3)] }, /replacement/],
    ['no expectedSuffix', { replacement: [sent(3)] }, /expectedSuffix/],
    ['two empty lists', { expectedSuffix: [], replacement: [] }, /1 to 50 messages together/],
    [
      '51 messages together',
      {
        expectedSuffix: Array.from({ length: 26 }, () => sent(1)),
        replacement: Array.from({ length: 25 }, () => sent(1)),
      },
      /1 to 50 messages together/,
    ],
    ['an unknown field', { expectedSuffix: [], replacement: [sent(1)], force: true }, /force/],
    [
      'an unknown role',
      { expectedSuffix: [], replacement: [{ role: 'robot', content: 'x' }] },
      /replacement\.0\.role/,
    ],
    ['a replacement that is no list', { expectedSuffix: [], replacement: sent(1) }, /replacement/],
    [
      'a negative expectedVersion',
      { expectedSuffix: [], replacement: [sent(1)], expectedVersion: -1 },
      /expectedVersion/,
    ],
    [
      'a message nested 33 levels deep',
      { expectedSuffix: [], replacement: [{ role: 'user', content: 'x', metadata: { a: nested(32) } }] },
      /nested deeper/,
    ],
  ])('answers 400 invalid_request for %s, calling nothing', async (_, body, message) => {
    // Act
    const response = await edit(body);

    // Assess
    expect(response.statusCode).toBe(400);
    expect(jsonBody(response).error).toEqual({
      code: 'invalid_request',
      message: expect.stringMatching(message),
    });
    expect(dynamo).not.toHaveReceivedAnyCommand();
  });

  it('answers 400 invalid_request for a bad conversation id or Idempotency-Key', async () => {
    // Act
    const badId = await edit({ expectedSuffix: [], replacement: [sent(1)] }, { conversationId: 'a/b' });
    const badKey = await edit(
      { expectedSuffix: [], replacement: [sent(1)] },
      { headers: { 'idempotency-key': 'k'.repeat(256) } },
    );

    // Assess
    expect(badId.statusCode).toBe(400);
    expect(jsonBody(badId).error.message).toMatch(/conversationId/);
    expect(badKey.statusCode).toBe(400);
    expect(jsonBody(badKey).error.message).toMatch(/idempotency-key/);
    expect(dynamo).not.toHaveReceivedAnyCommand();
  });

  it('answers 401 unauthorized without an authorizer context, before reading the body', async () => {
    // Act
    const response = await edit('{bad json', { authorizer: null });

    // Assess
    expect(response.statusCode).toBe(401);
    expect(jsonBody(response).error.code).toBe('unauthorized');
    expect(dynamo).not.toHaveReceivedAnyCommand();
  });

  it('answers 413 payload_too_large for a replacement message over 256 KiB, changing nothing', async () => {
    // Act
    const response = await edit({
      expectedSuffix: [sent(3)],
      replacement: [{ role: 'user', content: 'x'.repeat(256 * 1024) }],
    });

    // Assess
    expect(response.statusCode).toBe(413);
    expect(jsonBody(response).error).toMatchObject({
      code: 'payload_too_large',
      message: expect.stringMatching(/256 KiB/),
    });
    expect(dynamo).not.toHaveReceivedAnyCommand();
  });

  it('answers 413 payload_too_large for a request body over 1 MiB', async () => {
    // Act
    const response = await edit({
      expectedSuffix: [],
      replacement: Array.from({ length: 5 }, () => ({ role: 'user', content: 'x'.repeat(220_000) })),
    });

    // Assess
    expect(response.statusCode).toBe(413);
    expect(jsonBody(response).error.message).toMatch(/1 MiB/);
    expect(dynamo).not.toHaveReceivedAnyCommand();
  });

  it('answers 503 unavailable with Retry-After when DynamoDB keeps throttling', async () => {
    // Prepare
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    dynamo
      .on(QueryCommand)
      .rejects(new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} }));

    // Act
    const pending = edit({ expectedSuffix: [sent(3)], replacement: [] });
    await vi.runAllTimersAsync();
    const response = await pending;

    // Assess
    expect(response.statusCode).toBe(503);
    expect(response.headers).toMatchObject({ 'Retry-After': '1' });
    expect(jsonBody(response).error.code).toBe('unavailable');
    expect(dynamo).not.toHaveReceivedCommand(TransactWriteCommand);
  });

  it('counts edits, removed and appended messages and consumed capacity', async () => {
    // Prepare
    dynamo.on(QueryCommand).resolves({ ...conversationOf(3), ConsumedCapacity: { CapacityUnits: 1 } });
    dynamo.on(TransactWriteCommand).resolves({ ConsumedCapacity: [{ CapacityUnits: 5 }] });
    const addMetric = vi.spyOn(metrics, 'addMetric');

    // Act
    await edit({ expectedSuffix: [sent(2), sent(3)], replacement: [{ role: 'user', content: 'x' }] });

    // Assess
    expect(addMetric.mock.calls).toEqual([
      ['edits', 'Count', 1],
      ['messagesRemoved', 'Count', 2],
      ['messagesAppended', 'Count', 1],
      ['consumedCapacity', 'Count', 6],
    ]);
  });
});
