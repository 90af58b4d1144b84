import { type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { keys } from '../lambda/memory/table.js';

/**
 * Closes DynamoDB Local's durability gap. DynamoDB Local answers TransactWriteItems before its SQLite commit
 * reaches the disk, so a SIGKILL a few milliseconds after that answer loses a write the client was told is
 * stored. A strongly consistent read of the same partition queues behind that commit; the local server
 * sends it after every successful write and only then answers. Real DynamoDB has no such gap, so the Lambda
 * handlers do not need this.
 */
export class WriteFence {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  /** Resolves once every write acknowledged so far for this conversation is on disk. */
  async awaitDurable(tenant: string, conversationId: string): Promise<void> {
    await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { pk: { S: keys.partition(tenant, conversationId) }, sk: { S: keys.head } },
        ConsistentRead: true,
        ProjectionExpression: 'pk',
      }),
    );
  }
}
