import { type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { keys } from '../lambda/memory/table.js';

/** Reads of the fence before it gives up (each with the SDK's own retries inside). */
const fenceReads = 5;

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
    private readonly pauseMs = 50,
  ) {}

  /**
   * Resolves once every write acknowledged so far for this conversation is on disk, with whether the head it read
   * is marked `summaryDue` (what the stack's compactor is woken by). Rejects (with the last error) only when
   * DynamoDB Local could not be read after several tries: then the write is applied but its durability is not
   * confirmed.
   */
  async awaitDurable(tenant: string, conversationId: string): Promise<{ summaryDue: boolean }> {
    for (let read = 1; ; read++) {
      try {
        const { Item } = await this.client.send(
          new GetItemCommand({
            TableName: this.tableName,
            Key: { pk: { S: keys.partition(tenant, conversationId) }, sk: { S: keys.head } },
            ConsistentRead: true,
            ProjectionExpression: 'pk, summaryDue',
          }),
        );
        return { summaryDue: Item?.summaryDue?.BOOL === true };
      } catch (error) {
        if (read >= fenceReads) throw error;
        await new Promise((resolve) => setTimeout(resolve, this.pauseMs * read));
      }
    }
  }
}
