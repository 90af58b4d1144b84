import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  ResourceNotFoundException,
  ScanCommand,
  UpdateItemCommand,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import {
  conversationTableDefinition,
  keys,
  listingAttributes,
  listingIndexDefinition,
  listingIndexes,
  ttlAttribute,
} from '../lambda/memory/table.js';

/**
 * Creates the conversation table as the stack defines it (keys, listing indexes, on-demand, TTL on `expiresAt`)
 * unless it exists. Safe when several servers start at once on one DynamoDB: the loser of the CreateTable race
 * gets ResourceInUseException and waits for the winner's table instead. A table of an older version (a `.data`
 * folder from before the listing) gets the listing's indexes, and its conversations their listing keys.
 */
export async function ensureConversationTable(client: DynamoDBClient, tableName: string): Promise<string> {
  try {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    return await addListing(
      client,
      tableName,
      Table?.GlobalSecondaryIndexes?.map((index) => index.IndexName),
    );
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
  try {
    await client.send(new CreateTableCommand(conversationTableDefinition(tableName)));
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
    await waitUntilTableExists({ client, maxWaitTime: 30 }, { TableName: tableName });
    return 'existed';
  }
  await waitUntilTableExists({ client, maxWaitTime: 30 }, { TableName: tableName });
  await client.send(
    new UpdateTimeToLiveCommand({
      TableName: tableName,
      TimeToLiveSpecification: { AttributeName: ttlAttribute, Enabled: true },
    }),
  );
  return 'created';
}

/** Adds the listing indexes a table lacks (one per UpdateTable, as DynamoDB requires), then lists its conversations. */
async function addListing(
  client: DynamoDBClient,
  tableName: string,
  existing: ReadonlyArray<string | undefined> = [],
): Promise<string> {
  const missing = listingIndexes.filter((index) => !existing.includes(index.indexName));
  if (missing.length === 0) return 'existed';
  for (const index of missing) {
    await client.send(
      new UpdateTableCommand({
        TableName: tableName,
        AttributeDefinitions: [
          { AttributeName: index.partitionKey, AttributeType: 'S' },
          { AttributeName: index.sortKey, AttributeType: 'S' },
        ],
        GlobalSecondaryIndexUpdates: [{ Create: listingIndexDefinition(index) }],
      }),
    );
    await waitForIndex(client, tableName, index.indexName);
  }
  return `existed; added the listing indexes and listed its ${await listExistingConversations(client, tableName)} conversations`;
}

async function waitForIndex(client: DynamoDBClient, tableName: string, indexName: string): Promise<void> {
  // DynamoDB Local builds an index in seconds, but behind other work on a busy machine it took over 30 s.
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const index = Table?.GlobalSecondaryIndexes?.find((candidate) => candidate.IndexName === indexName);
    if (index?.IndexStatus === 'ACTIVE') return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`The index ${indexName} of ${tableName} did not become active.`);
}

/**
 * Gives the live heads written before the listing existed their listing keys, as of their last write. A
 * one-time migration of a local table, hence the Scan; a head written meanwhile has its keys already, and its
 * version condition leaves it alone.
 */
async function listExistingConversations(client: DynamoDBClient, tableName: string): Promise<number> {
  let listed = 0;
  let startKey: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: tableName,
        FilterExpression: 'sk = :head AND attribute_not_exists(lsk) AND attribute_not_exists(deleted)',
        ExpressionAttributeValues: marshall({ ':head': keys.head }),
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) {
      const head = unmarshall(item) as { pk: string; version: number; updatedAt: string };
      const match = /^T#([^#]+)#C#(.+)$/.exec(head.pk);
      if (!match?.[1] || !match[2]) continue;
      const listing = listingAttributes(decodeURIComponent(match[1]), match[2], Date.parse(head.updatedAt));
      const names = Object.keys(listing);
      try {
        await client.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: marshall({ pk: head.pk, sk: keys.head }),
            UpdateExpression: `SET ${names.map((name) => `${name} = :${name}`).join(', ')}`,
            ConditionExpression: 'version = :version AND attribute_not_exists(lsk)',
            ExpressionAttributeValues: marshall({
              ':version': head.version,
              ...Object.fromEntries(Object.entries(listing).map(([name, value]) => [`:${name}`, value])),
            }),
          }),
        );
        listed++;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return listed;
}
