import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import { isTransient, memoryErrorOf } from './conversation-store.js';
import { UnavailableError } from './errors.js';
import { keys } from './table.js';

/*
 * The record of a chat's running reply, so that a client that lost its connection can resume it without Redis
 * (lambda/chat/resumable-stream.ts writes and reads it). In the conversation's
 * partition, under keys no message or idempotency record can have (./table.ts):
 *
 *   STREAM#ACTIVE               { streamId, messageId, startedAt, deadline }   the running stream, until it ends
 *   STREAM#<streamId>#000000    { chunks, done? }                    its Server-Sent Events, in batches, in order
 *
 * Every item expires (DynamoDB TTL on `expiresAt`) an hour after it was written, with or without a retention
 * for the conversation: a stream that no turn is writing any more is useless after that, and one whose turn
 * died never has its pointer removed.
 */

export interface ChatStreamLogOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /** How long stream items live after their write. @default 3600 */
  readonly ttlSeconds?: number;
  /** Epoch milliseconds. @default Date.now */
  readonly now?: () => number;
}

export interface ActiveStream {
  readonly streamId: string;
  /** The id of the UI message the stream writes. */
  readonly messageId: string;
  /** Epoch milliseconds. */
  readonly startedAt: number;
  /** Epoch milliseconds: its writer is gone by then (its function's timeout), done or not. */
  readonly deadline: number;
}

export interface StreamBatch {
  readonly index: number;
  /** Server-Sent Events text, as the client received it. */
  readonly chunks: string;
  /** The stream's last batch. */
  readonly done: boolean;
}

/** Index bounds of a stream's batches (keys.streamBatch pads to 6 digits). */
const lastBatchIndex = 999_999;

export class ChatStreamLog {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly ttlSeconds: number;
  private readonly now: () => number;

  constructor(options: ChatStreamLogOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.ttlSeconds = options.ttlSeconds ?? 3600;
    this.now = options.now ?? Date.now;
  }

  /** Makes `stream` the chat's running stream (a newer one replaces an older one). */
  async start(tenant: string, chatId: string, stream: ActiveStream): Promise<void> {
    await this.attempt(() =>
      this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...this.key(tenant, chatId, keys.activeStream), ...stream, ...this.expiry() },
        }),
      ),
    );
  }

  /** Writes one batch (a retry of the same batch writes the same item again). */
  async write(tenant: string, chatId: string, streamId: string, batch: StreamBatch): Promise<void> {
    if (!Number.isInteger(batch.index) || batch.index < 0 || batch.index > lastBatchIndex) {
      throw new RangeError(`A stream has at most ${lastBatchIndex + 1} batches.`);
    }
    await this.attempt(() =>
      this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...this.key(tenant, chatId, keys.streamBatch(streamId, batch.index)),
            chunks: batch.chunks,
            ...(batch.done ? { done: true } : {}),
            ...this.expiry(),
          },
        }),
      ),
    );
  }

  /** Ends the stream: the chat has no running stream, unless a newer one replaced it meanwhile. */
  async finish(tenant: string, chatId: string, streamId: string): Promise<void> {
    await this.attempt(async () => {
      try {
        await this.client.send(
          new DeleteCommand({
            TableName: this.tableName,
            Key: this.key(tenant, chatId, keys.activeStream),
            ConditionExpression: 'streamId = :streamId',
            ExpressionAttributeValues: { ':streamId': streamId },
          }),
        );
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    });
  }

  /** The chat's running stream (strongly consistent); undefined when none is, or its pointer expired. */
  async active(tenant: string, chatId: string): Promise<ActiveStream | undefined> {
    const { Item } = await this.attempt(() =>
      this.client.send(
        new GetCommand({
          TableName: this.tableName,
          Key: this.key(tenant, chatId, keys.activeStream),
          ConsistentRead: true,
        }),
      ),
    );
    if (Item === undefined || !this.isLive(Item)) return undefined;
    return {
      streamId: String(Item.streamId),
      messageId: String(Item.messageId),
      startedAt: Number(Item.startedAt),
      deadline: Number(Item.deadline),
    };
  }

  /** The stream's batches after `after` (an index; -1 for all), in order, strongly consistent. */
  async batches(tenant: string, chatId: string, streamId: string, after: number): Promise<StreamBatch[]> {
    const batches: StreamBatch[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const output = await this.attempt(() =>
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            // A key range, not begins_with: DynamoDB Local scans the partition for begins_with.
            KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
            ExpressionAttributeValues: {
              ':pk': keys.partition(tenant, chatId),
              ':from': keys.streamBatch(streamId, after + 1),
              ':to': keys.streamBatch(streamId, lastBatchIndex),
            },
            ConsistentRead: true,
            ExclusiveStartKey: startKey,
          }),
        ),
      );
      for (const item of output.Items ?? []) {
        batches.push({
          index: Number(String(item.sk).slice(String(item.sk).lastIndexOf('#') + 1)),
          chunks: String(item.chunks),
          done: item.done === true,
        });
      }
      startKey = output.LastEvaluatedKey;
    } while (startKey);
    return batches;
  }

  private key(tenant: string, chatId: string, sk: string) {
    return { pk: keys.partition(tenant, chatId), sk };
  }

  private expiry() {
    return { expiresAt: Math.floor(this.now() / 1000) + this.ttlSeconds };
  }

  private isLive(item: Record<string, unknown>): boolean {
    return typeof item.expiresAt !== 'number' || item.expiresAt > Math.floor(this.now() / 1000);
  }

  /** The SDK retries throttling and network faults itself; what still fails leaves as a MemoryError. */
  private async attempt<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw isTransient(error)
        ? new UnavailableError('DynamoDB is throttling or unreachable. Retry shortly.', 1, { cause: error })
        : memoryErrorOf(error);
    }
  }
}
