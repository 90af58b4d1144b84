import { randomUUID } from 'node:crypto';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConversationStore } from '../../lambda/memory/conversation-store.js';
import { keys } from '../../lambda/memory/table.js';
import { ensureConversationTable } from '../../local/conversation-table.js';
import { type DynamoDbLocal, localClientConfig, startDynamoDbLocal } from '../../local/dynamodb-local.js';

describe('npm start on a table from before the listing', () => {
  // A DynamoDB Local of its own: on the shared one, under the load of the whole suite, building an index twice
  // took over 120 s (2-4 s alone), as a developer's own `npm start` takes it.
  let dynamo: DynamoDbLocal;
  let raw: DynamoDBClient;
  let client: DynamoDBDocumentClient;
  beforeAll(async () => {
    dynamo = await startDynamoDbLocal({ inMemory: true });
    raw = new DynamoDBClient(localClientConfig(dynamo.endpoint));
    client = DynamoDBDocumentClient.from(raw);
  });
  afterAll(async () => {
    raw?.destroy();
    await dynamo?.stop();
  });

  it('adds the listing indexes and lists the live conversations it already holds', async () => {
    // Prepare: the table as it was (keys only, no index), with heads written without listing keys
    const tableName = `upgrade-${randomUUID()}`;
    await raw.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
      }),
    );
    const oldHead = (id: string, updatedAt: string, extra: Record<string, unknown> = {}) =>
      client.send(
        new PutCommand({
          TableName: tableName,
          Item: {
            pk: keys.partition('acme co', id),
            sk: keys.head,
            version: 1,
            messageCount: 1,
            createdAt: updatedAt,
            updatedAt,
            ...extra,
          },
        }),
      );
    await oldHead('user-1:older', '2026-11-01T10:00:00.000Z');
    await oldHead('newer', '2026-11-02T10:00:00.000Z');
    await oldHead('deleted', '2026-11-03T10:00:00.000Z', { deleted: true });

    // Act
    const first = await ensureConversationTable(raw, tableName);
    const second = await ensureConversationTable(raw, tableName);

    // Assess
    expect(first).toBe('existed; added the listing indexes and listed its 2 conversations');
    expect(second).toBe('existed');
    const store = new ConversationStore({ client, tableName });
    const all = await store.listConversations('acme co');
    expect(all.conversations.map((c) => c.conversationId)).toEqual(['newer', 'user-1:older']);
    const scoped = await store.listConversations('acme co', { prefix: 'user-1:' });
    expect(scoped.conversations.map((c) => c.conversationId)).toEqual(['user-1:older']);
  });
});
