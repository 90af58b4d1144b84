import { type AttributeValue, type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { itemSize, writeUnits } from './item-size.js';

/*
 * Write units per DynamoDB's documented rules, from the sizes of the items a turn wrote. DynamoDB Local's own
 * report is not enough: for TransactWriteItems it counts items of equal size once (three 300-byte puts are
 * reported as 2 units instead of 6), so write units are modeled from item sizes and shown next to the report.
 */

export type ItemKey = Record<string, AttributeValue>;

/** Billed sizes of these items now (0 for an item that does not exist), read outside any measurement. */
export async function itemSizes(
  client: DynamoDBClient,
  tableName: string,
  keys: readonly ItemKey[],
): Promise<number[]> {
  return Promise.all(
    keys.map(async (key) => {
      const { Item } = await client.send(
        new GetItemCommand({ TableName: tableName, Key: key, ConsistentRead: true }),
      );
      return Item ? itemSize(Item) : 0;
    }),
  );
}

/**
 * A write of each item is charged on the larger of its size before and after, per started KB; a transactional
 * write is charged twice.
 */
export function modeledWriteUnits(
  before: readonly number[],
  after: readonly number[],
  transactional: boolean,
): number {
  const units = before.reduce((sum, size, index) => sum + writeUnits(Math.max(size, after[index] ?? 0)), 0);
  return transactional ? 2 * units : units;
}
