import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { keys } from '../../../lambda/memory/table.js';
import { conversationEvent, jsonBody } from '../../support/api-gateway-events.js';

vi.hoisted(() => {
  process.env.TABLE_NAME = 'memory-test';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

const { handler } = await import('../../../lambda/http/handlers/get-summaries.js');

const dynamo = mockClient(DynamoDBDocumentClient);
const pk = keys.partition('tenant-a', 'conv-1');
const createdAt = '2025-01-01T00:00:00.000Z';
const stored = (seq: number) => ({ role: 'user', content: `m${seq}`, id: `id-${seq}`, seq, createdAt });
const messageItem = (seq: number) => ({ pk, sk: keys.message(seq), msg: JSON.stringify(stored(seq)) });
const headItem = (version: number, rewrites?: number) => ({
  pk,
  sk: keys.head,
  version,
  messageCount: version,
  createdAt,
  updatedAt: createdAt,
  ...(rewrites === undefined ? {} : { rewrites }),
});
const summary = {
  fromSeq: 1,
  throughSeq: 10,
  messageCount: 10,
  text: 'The user said: - [3] My name is Ada.',
  createdAt: '2025-01-02T00:00:00.000Z',
  model: 'offline',
  basedOn: 0,
};
const summaryItem = { pk, sk: keys.summary, ...summary, lifeCreatedAt: createdAt, op: 'op-1' };

const get = (query?: Record<string, string>) =>
  handler(conversationEvent('GET', 'conv-1', { suffix: '/summaries', query }));

describe('getSummaries handler', () => {
  beforeEach(() => {
    dynamo.reset();
  });

  it('answers the summary from one strongly consistent Query of the head and the summary', async () => {
    // Prepare
    dynamo.on(QueryCommand).resolves({ Items: [headItem(12), summaryItem] });

    // Act
    const response = await get();

    // Assess
    expect(response.statusCode).toBe(200);
    expect(jsonBody(response)).toEqual({
      conversationId: 'conv-1',
      version: 12,
      summaries: [summary],
      messages: [],
    });
    expect(dynamo).toHaveReceivedCommandExactlyOnceWith(QueryCommand, {
      TableName: 'memory-test',
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ScanIndexForward: false,
      ConsistentRead: true,
      Limit: 2,
    });
  });

  it('answers the newest messages after the summary with recent', async () => {
    // Prepare
    dynamo.on(QueryCommand).resolves({
      Items: [headItem(12), summaryItem, messageItem(12), messageItem(11), messageItem(10), messageItem(9)],
    });

    // Act
    const response = await get({ recent: '5' });

    // Assess: it stops at the summary's last seq.
    expect(response.statusCode).toBe(200);
    expect(jsonBody(response)).toMatchObject({ summaries: [summary], messages: [stored(11), stored(12)] });
    expect(dynamo).toHaveReceivedCommandWith(QueryCommand, { Limit: 7 });
  });

  it("answers no summary when the one stored is a past life's", async () => {
    // Prepare: the id was deleted and written again since the summary was made.
    const pastLife = { ...summaryItem, lifeCreatedAt: '2024-12-31T00:00:00.000Z' };
    dynamo.on(QueryCommand).resolves({ Items: [headItem(12, 1), pastLife, messageItem(12)] });

    // Act
    const response = await get({ recent: '1' });

    // Assess
    expect(jsonBody(response)).toEqual({
      conversationId: 'conv-1',
      version: 12,
      summaries: [],
      messages: [stored(12)],
    });
  });

  it('answers version 0 and no summary for an unknown conversation', async () => {
    // Prepare
    dynamo.on(QueryCommand).resolves({ Items: [] });

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
      expect(jsonBody(response)).toMatchObject({ error: { code: 'invalid_request' } });
      expect(dynamo).not.toHaveReceivedCommand(QueryCommand);
    },
  );

  it('answers 503 when DynamoDB keeps throttling', async () => {
    // Prepare
    dynamo
      .on(QueryCommand)
      .rejects(new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} }));

    // Act
    const response = await get();

    // Assess
    expect(response.statusCode).toBe(503);
    expect(jsonBody(response)).toMatchObject({ error: { code: 'unavailable' } });
  });
});
