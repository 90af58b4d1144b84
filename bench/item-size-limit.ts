import {
  CreateTableCommand,
  DeleteTableCommand,
  DynamoDBClient,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { localClientConfig } from '../local/dynamodb-local.js';

export const MAX_ITEM_BYTES = 400 * 1024;

export interface ItemSizeLimitCheck {
  readonly limitBytes: number;
  /** A Put of an item of exactly 400 KB by DynamoDB's size rules. */
  readonly atLimitAccepted: boolean;
  /** A Put one byte larger. */
  readonly overLimitRejected: boolean;
  readonly overLimitError: string | undefined;
}

/**
 * Checks that this DynamoDB enforces the 400 KB item limit exactly where DynamoDB does: an item of
 * 409,600 bytes (attribute names included) is stored, one of 409,601 is refused.
 */
export async function checkItemSizeLimit(endpoint: string): Promise<ItemSizeLimitCheck> {
  const client = new DynamoDBClient(localClientConfig(endpoint));
  const TableName = 'bench-item-size-limit';
  try {
    await client.send(
      new CreateTableCommand({
        TableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      }),
    );
    // Size = 'id' (2) + 'k' (1) + 'v' (1) + the value.
    const put = async (bytes: number) => {
      try {
        await client.send(
          new PutItemCommand({ TableName, Item: { id: { S: 'k' }, v: { S: 'x'.repeat(bytes - 4) } } }),
        );
        return undefined;
      } catch (error) {
        return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      }
    };
    const atLimit = await put(MAX_ITEM_BYTES);
    const overLimit = await put(MAX_ITEM_BYTES + 1);
    await client.send(new DeleteTableCommand({ TableName }));
    return {
      limitBytes: MAX_ITEM_BYTES,
      atLimitAccepted: atLimit === undefined,
      overLimitRejected: overLimit !== undefined,
      overLimitError: overLimit,
    };
  } finally {
    client.destroy();
  }
}
