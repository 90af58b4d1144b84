import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { keys, listing, listingKeys } from '../../../lambda/memory/table.js';
import { apiEvent, jsonBody } from '../../support/api-gateway-events.js';

vi.hoisted(() => {
  process.env.TABLE_NAME = 'memory-test';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

const { handler } = await import('../../../lambda/http/handlers/list-conversations.js');

const dynamo = mockClient(DynamoDBDocumentClient);
const tenant = 'tenant-a';
const minute = '0029536320';
const createdAt = '2026-11-30T12:00:00.000Z';

const listEvent = (query?: Record<string, string>, authorizer?: unknown) =>
  apiEvent({
    method: 'GET',
    path: '/v1/conversations',
    ...(query ? { query } : {}),
    ...(authorizer === undefined ? {} : { authorizer }),
  });

/** A live head as the listing reads it, with the index entry that names it. */
function conversation(id: string, overrides: Record<string, unknown> = {}) {
  const pk = keys.partition(tenant, id);
  const lsk = `${minute}#${id}`;
  return {
    entry: { pk, sk: keys.head, lpk: listingKeys.partition(tenant, listingKeys.shardOf(id)), lsk },
    head: { pk, version: 2, messageCount: 2, createdAt, updatedAt: createdAt, lsk, ...overrides },
  };
}

/** Answers each shard's Query with its entries, newest first, and BatchGetItem with the heads. */
function serve(
  conversations: ReturnType<typeof conversation>[],
  heads: ReadonlyArray<{ pk: string }> = conversations.map((c) => c.head),
) {
  dynamo.on(QueryCommand).callsFake((input: { ExpressionAttributeValues: Record<string, string> }) => ({
    Items: conversations
      .map((c) => c.entry)
      .filter((entry) => entry.lpk === input.ExpressionAttributeValues[':partition'])
      .sort((a, b) => (a.lsk < b.lsk ? 1 : -1)),
  }));
  dynamo
    .on(BatchGetCommand)
    .callsFake((input: { RequestItems: Record<string, { Keys: { pk: string }[] }> }) => ({
      Responses: {
        'memory-test': heads.filter((head) =>
          input.RequestItems['memory-test']?.Keys.some((key) => key.pk === head.pk),
        ),
      },
    }));
}

describe('listConversations handler', () => {
  beforeEach(() => {
    dynamo.reset();
  });

  it("answers a page of the caller's conversations, merged from the 16 shards of the index", async () => {
    // Prepare
    serve([conversation('b', { title: 'Refund', meta: '{"pinned":true}', revision: 2 }), conversation('a')]);

    // Act
    const response = await handler(listEvent({ limit: '10' }));

    // Assess
    expect(response.statusCode).toBe(200);
    expect(jsonBody(response)).toEqual({
      conversations: [
        {
          conversationId: 'b',
          version: 2,
          messageCount: 2,
          createdAt,
          updatedAt: createdAt,
          title: 'Refund',
          metadata: { pinned: true },
          revision: 2,
        },
        { conversationId: 'a', version: 2, messageCount: 2, createdAt, updatedAt: createdAt, revision: 0 },
      ],
      nextCursor: null,
    });
    const queries = dynamo.commandCalls(QueryCommand).map((call) => call.args[0].input);
    expect(queries).toHaveLength(16);
    expect(new Set(queries.map((query) => query.ExpressionAttributeValues?.[':partition']))).toEqual(
      new Set(listingKeys.allShards.map((shard) => listingKeys.partition(tenant, shard))),
    );
    for (const query of queries) {
      expect(query).toMatchObject({ IndexName: listing.index, ScanIndexForward: false });
      expect(query.ConsistentRead).toBeUndefined();
    }
    expect(dynamo).toHaveReceivedCommandTimes(BatchGetCommand, 1);
    expect(
      dynamo.commandCalls(BatchGetCommand)[0]?.args[0].input.RequestItems?.['memory-test'],
    ).toMatchObject({
      ConsistentRead: true,
      Keys: [
        { pk: keys.partition(tenant, 'b'), sk: keys.head },
        { pk: keys.partition(tenant, 'a'), sk: keys.head },
      ],
    });
  });

  it('reads the scope index of a prefix', async () => {
    // Prepare
    serve([]);

    // Act
    const response = await handler(listEvent({ prefix: 'user-42:' }));

    // Assess
    expect(jsonBody(response)).toEqual({ conversations: [], nextCursor: null });
    const partitions = dynamo
      .commandCalls(QueryCommand)
      .map((call) => [
        call.args[0].input.IndexName,
        call.args[0].input.ExpressionAttributeValues?.[':partition'],
      ]);
    expect(partitions).toEqual(
      listingKeys.allShards.map((shard) => [
        listing.scopedIndex,
        listingKeys.scopedPartition(tenant, shard, 'user-42:'),
      ]),
    );
  });

  it('skips entries whose head has died or moved on since the index was written, and fills the page from below', async () => {
    // Prepare: the index lags; 'moved' was written in a later minute, 'deleted' and 'expired' are dead
    const listed = ['fresh', 'moved', 'deleted', 'expired', 'older-1', 'older-2'].map((id) =>
      conversation(id),
    );
    const heads = listed.map(({ head }) => {
      if (head.pk.endsWith('#moved')) return { ...head, lsk: `0029536321#moved` };
      if (head.pk.endsWith('#deleted')) return { pk: head.pk, deleted: true, version: 2 };
      if (head.pk.endsWith('#expired')) return { ...head, liveUntil: 1 };
      return head;
    });
    serve(listed, heads);

    // Act
    const body = jsonBody(await handler(listEvent({ limit: '3' })));

    // Assess
    const expected = ['fresh', 'older-1', 'older-2'];
    expect(body.conversations.map((c: { conversationId: string }) => c.conversationId).sort()).toEqual(
      expected,
    );
  });

  it('pages with an opaque cursor: the next page starts below the last conversation of this one', async () => {
    // Prepare
    serve(['a', 'b', 'c'].map((id) => conversation(id)));

    // Act
    const first = jsonBody(await handler(listEvent({ limit: '2' })));
    dynamo.resetHistory();
    await handler(listEvent({ limit: '2', cursor: first.nextCursor }));

    // Assess
    expect(first.conversations.map((c: { conversationId: string }) => c.conversationId)).toEqual(['c', 'b']);
    expect(Buffer.from(first.nextCursor, 'base64url').toString()).toBe(`${minute}#b`);
    for (const call of dynamo.commandCalls(QueryCommand)) {
      expect(call.args[0].input).toMatchObject({
        KeyConditionExpression: 'lpk = :partition AND lsk < :below',
        ExpressionAttributeValues: { ':below': `${minute}#b` },
      });
    }
  });

  it.each([
    [{ limit: '0' }],
    [{ limit: '101' }],
    [{ limit: 'ten' }],
    [{ prefix: 'user-42' }],
    [{ prefix: 'a:b:' }],
    [{ cursor: 'not a cursor!' }],
    [{ cursor: Buffer.from('nonsense').toString('base64url') }],
    [{ order: 'id' }],
  ])('answers 400 invalid_request for the query %j, reading nothing', async (query) => {
    // Act
    const response = await handler(listEvent(query));

    // Assess
    expect(response.statusCode).toBe(400);
    expect(jsonBody(response).error.code).toBe('invalid_request');
    expect(dynamo.calls()).toHaveLength(0);
  });

  it('answers 401 without an authenticated identity', async () => {
    // Act
    const response = await handler(listEvent(undefined, null));

    // Assess
    expect(response.statusCode).toBe(401);
    expect(dynamo.calls()).toHaveLength(0);
  });

  it('answers 503 with Retry-After when DynamoDB keeps throttling', async () => {
    // Prepare
    dynamo
      .on(QueryCommand)
      .rejects(new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} }));

    // Act
    const response = await handler(listEvent());

    // Assess
    expect(response.statusCode).toBe(503);
    expect(response.headers?.['Retry-After']).toBe('1');
    expect(jsonBody(response).error.code).toBe('unavailable');
  });
});
