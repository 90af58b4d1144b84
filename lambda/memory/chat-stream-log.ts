import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { activeStreamRemoval, streamBatchesQuery } from './beside-messages-requests.js';
import { keys } from './table.js';
import { TableClient } from './table-client.js';

/*
 * The record of a chat's running reply, so that a client that lost its connection can resume it without Redis
 * (lambda/chat/resumable-stream.ts writes and reads it). In the conversation's partition, under keys no message
 * or idempotency record can have (./table.ts):
 *
 *   STREAM#ACTIVE               { streamId, messageId, startedAt, deadline }   the running stream, until it ends
 *   STREAM#<streamId>#000000    { chunks, done? }                    its Server-Sent Events, in batches, in order
 *
 * Every item expires (DynamoDB TTL on `expiresAt`) an hour after it was written, with or without a retention
 * for the conversation: a stream that no turn is writing any more is useless after that, and one whose turn
 * died never has its pointer removed. No conversation read sees these items.
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

export class ChatStreamLog {
  private readonly table: TableClient;
  private readonly ttlSeconds: number;
  private readonly now: () => number;

  constructor(options: ChatStreamLogOptions) {
    this.table = new TableClient(options.client, options.tableName);
    this.ttlSeconds = options.ttlSeconds ?? 3600;
    this.now = options.now ?? Date.now;
  }

  /** Makes `stream` the chat's running stream (a newer one replaces an older one). */
  async start(tenant: string, chatId: string, stream: ActiveStream): Promise<void> {
    const pk = keys.partition(tenant, chatId);
    await this.table.put({ pk, sk: keys.activeStream, ...stream, ...this.expiry() });
  }

  /** Writes one batch (a retry of the same batch writes the same item again). */
  async write(tenant: string, chatId: string, streamId: string, batch: StreamBatch): Promise<void> {
    if (!Number.isInteger(batch.index) || batch.index < 0 || batch.index > keys.lastStreamBatch) {
      throw new RangeError(`A stream has at most ${keys.lastStreamBatch + 1} batches.`);
    }
    await this.table.put({
      pk: keys.partition(tenant, chatId),
      sk: keys.streamBatch(streamId, batch.index),
      chunks: batch.chunks,
      ...(batch.done ? { done: true } : {}),
      ...this.expiry(),
    });
  }

  /** Ends the stream: the chat has no running stream, unless a newer one replaced it meanwhile. */
  async finish(tenant: string, chatId: string, streamId: string): Promise<void> {
    await this.table.deleteIf(activeStreamRemoval(keys.partition(tenant, chatId), streamId));
  }

  /** The chat's running stream (strongly consistent); undefined when none is, or its pointer expired. */
  async active(tenant: string, chatId: string): Promise<ActiveStream | undefined> {
    const { item } = await this.table.get<Record<string, unknown>>({
      pk: keys.partition(tenant, chatId),
      sk: keys.activeStream,
    });
    if (item === undefined || !this.isLive(item)) return undefined;
    return {
      streamId: String(item.streamId),
      messageId: String(item.messageId),
      startedAt: Number(item.startedAt),
      deadline: Number(item.deadline),
    };
  }

  /** The stream's batches after `after` (an index; -1 for all), in order, strongly consistent. */
  async batches(tenant: string, chatId: string, streamId: string, after: number): Promise<StreamBatch[]> {
    const request = streamBatchesQuery(keys.partition(tenant, chatId), streamId, after + 1);
    const batches: StreamBatch[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.table.query(request, { startKey });
      for (const item of page.items) {
        const sk = String(item.sk);
        batches.push({
          index: Number(sk.slice(sk.lastIndexOf('#') + 1)),
          chunks: String(item.chunks),
          done: item.done === true,
        });
      }
      startKey = page.nextKey;
    } while (startKey);
    return batches;
  }

  private expiry() {
    return { expiresAt: Math.floor(this.now() / 1000) + this.ttlSeconds };
  }

  private isLive(item: Record<string, unknown>): boolean {
    return typeof item.expiresAt !== 'number' || item.expiresAt > Math.floor(this.now() / 1000);
  }
}
