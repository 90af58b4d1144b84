import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConversationStore } from '../../lambda/memory/conversation-store.js';
import { localClientConfig } from '../../local/dynamodb-local.js';
import { createTestTable } from '../support/dynamodb.js';

/** A store whose client records every DynamoDB call it sends. */
function countingStore(endpoint: string, tableName: string) {
  const calls: string[] = [];
  const client = DynamoDBDocumentClient.from(new DynamoDBClient(localClientConfig(endpoint)));
  client.middlewareStack.add(
    (next, context) => (args) => {
      calls.push(context.commandName ?? 'unknown');
      return next(args);
    },
    { step: 'initialize', name: 'countCalls' },
  );
  return { store: new ConversationStore({ client, tableName }), calls };
}

describe('ConversationStore cost', () => {
  let table: Awaited<ReturnType<typeof createTestTable>>;

  beforeAll(async () => {
    table = await createTestTable('cost');
    const writer = new ConversationStore({ client: table.client, tableName: table.tableName });
    for (const [id, length] of [
      ['short', 10],
      ['long', 2000],
    ] as const) {
      for (let seq = 1; seq <= length; seq += 50) {
        const batch = Array.from({ length: Math.min(50, length - seq + 1) }, (_, i) => ({
          role: i % 2 ? 'assistant' : 'user',
          content: `message ${seq + i}: ${'lorem ipsum '.repeat(15)}`,
        }));
        await writer.append('tenant', id, batch);
      }
    }
  });

  it('loads the default window of 10 and of 2,000 messages with the same calls and capacity', async () => {
    // Prepare
    const { store, calls } = countingStore(table.endpoint, table.tableName);

    // Act
    const short = await store.load('tenant', 'short', { limit: 10 });
    const shortCalls = calls.splice(0);
    const long = await store.load('tenant', 'long', { limit: 10 });
    const longCalls = calls.splice(0);

    // Assess
    expect(short.version).toBe(10);
    expect(long.version).toBe(2000);
    expect(long.messages.map((message) => message.seq)).toEqual(
      Array.from({ length: 10 }, (_, i) => 1991 + i),
    );
    expect(shortCalls).toEqual(['QueryCommand']);
    expect(longCalls).toEqual(['QueryCommand']);
    expect(short.consumedCapacity).toBeGreaterThan(0);
    expect(long.consumedCapacity).toBe(short.consumedCapacity);
  });

  it('appends at the end of 10 and of 2,000 messages with the same calls and capacity', async () => {
    const { store, calls } = countingStore(table.endpoint, table.tableName);
    const turn = [
      { role: 'user', content: 'x'.repeat(150) },
      { role: 'assistant', content: 'y'.repeat(150) },
    ];

    const short = await store.append('tenant', 'short', turn, { expectedVersion: 10 });
    const shortCalls = calls.splice(0);
    const long = await store.append('tenant', 'long', turn, { expectedVersion: 2000 });
    const longCalls = calls.splice(0);

    expect(shortCalls).toEqual(['TransactWriteItemsCommand']);
    expect(longCalls).toEqual(['TransactWriteItemsCommand']);
    expect(long.consumedCapacity).toBe(short.consumedCapacity);
  });
});
