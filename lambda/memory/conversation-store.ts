import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { append } from './append.js';
import { partitionOf } from './arguments.js';
import { deleteConversation } from './delete.js';
import { replaceSuffix } from './edit.js';
import { findReplay, idempotencyKeyOf } from './idempotency.js';
import { getConversation, load } from './load.js';
import type { StoreContext } from './store-context.js';
import type {
  AppendOptions,
  AppendResult,
  ConversationInfo,
  EditResult,
  HistoryPage,
  LoadOptions,
} from './store-types.js';
import { TableClient } from './table-client.js';

export type { AppendOptions, AppendResult, ConversationInfo, EditResult, HistoryPage, LoadOptions };

export interface ConversationStoreOptions {
  /** A document client; build it once at module scope (./dynamodb-client.ts has the one the API uses). */
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /** Retention: every item expires this many seconds after its last write. @default undefined (kept forever) */
  readonly ttlSeconds?: number;
  /** Transactions one write may send for lost races and transaction conflicts. @default 10 */
  readonly maxAttempts?: number;
  /** Full-jitter exponential backoff between those attempts. @default { baseMs: 10, capMs: 400 } */
  readonly backoff?: { readonly baseMs: number; readonly capMs: number };
  /** The clock, in epoch milliseconds (tests move it to exercise retention). @default Date.now */
  readonly now?: () => number;
}

/**
 * Durable conversation memory on one DynamoDB table. One partition per conversation: its messages under
 * `MSG#<seq>`, a head item `MSG#~HEAD` (version, counts, the op id of the last write) that sorts after them,
 * idempotency records `IDEM#<key>` (./table.ts). So the newest window is one Query, whatever the length.
 *
 * The append algorithm (./write.ts): one TransactWriteItems holds a condition on the head (`version = base`,
 * or no live head when base is 0), one Put per message at seq base+1..base+n, and, with an idempotency key, a
 * Put of the idempotency record conditioned on the key being unused. All or nothing: a message is never lost,
 * reordered, duplicated or interleaved with another batch. With `expectedVersion` the base is the caller's;
 * without it, the head is read (strongly consistent) and a lost race is retried on the current version, which
 * the failed condition returns, after a jittered backoff. A used key answers from its record (replay).
 *
 * Lost answers: every attempt of one write carries the same message ids, createdAt and op id (written on the
 * head), and its token is a digest of the transaction, so DynamoDB applies an identical resend at most once.
 * When an attempt may have committed unseen (no answer, a 5xx, an SDK resend) and a later one fails its
 * condition, the write is settled from the table before anything else: its record (with a key), its op id on
 * the head, its first message at its seq, or the `REMOVAL#<version>` marker of an edit that only removed.
 * Until then it is never reported as not applied and never sent on another base; when the evidence is gone
 * (edited away, deleted), the answer is WriteOutcomeUnknownError, not a guess.
 *
 * One file per operation: ./append.ts, ./edit.ts, ./load.ts (and getConversation), ./delete.ts,
 * ./idempotency.ts; the head's life rules in ./head.ts, every condition and expression in ./requests.ts, and
 * the one door to DynamoDB, with its retries and error translation, in ./table-client.ts.
 */
export class ConversationStore {
  readonly tableName: string;
  private readonly context: StoreContext;

  constructor(options: ConversationStoreOptions) {
    const { ttlSeconds } = options;
    if (ttlSeconds !== undefined && !(Number.isInteger(ttlSeconds) && ttlSeconds > 0)) {
      throw new RangeError(`ttlSeconds must be a positive integer, got ${ttlSeconds}`);
    }
    this.tableName = options.tableName;
    this.context = {
      table: new TableClient(options.client, options.tableName),
      ttlSeconds,
      now: options.now ?? Date.now,
      maxAttempts: options.maxAttempts ?? 10,
      backoff: options.backoff ?? { baseMs: 10, capMs: 400 },
    };
  }

  append(
    tenant: string,
    conversationId: string,
    messages: readonly unknown[],
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    return append(this.context, tenant, conversationId, messages, options);
  }

  /**
   * Replaces the newest messages: if the conversation ends with `expectedSuffix` (compared as JSON values,
   * ignoring seq, createdAt and, unless given, id), removes them and appends `replacement`, atomically.
   * Seqs are never reused: the replacement gets new seqs after `version`, and an edit that only removes
   * still raises the version by one, so a version seen once never names two different histories.
   */
  replaceSuffix(
    tenant: string,
    conversationId: string,
    edit: { expectedSuffix: readonly unknown[]; replacement: readonly unknown[] },
    options: AppendOptions = {},
  ): Promise<EditResult> {
    return replaceSuffix(this.context, tenant, conversationId, edit, options);
  }

  /**
   * The stored result of an earlier request with this idempotency key, without writing anything: lets a
   * caller skip expensive work (an agent turn's model call) on a replay. `fingerprint` is what makes two
   * requests "the same", as given to append. Throws IdempotencyKeyReusedError for another fingerprint.
   */
  async findIdempotentResult(
    tenant: string,
    conversationId: string,
    idempotencyKey: string,
    fingerprint: unknown,
  ): Promise<AppendResult | undefined> {
    const pk = partitionOf(tenant, conversationId);
    const key = idempotencyKeyOf({ idempotencyKey, idempotencyFingerprint: fingerprint }, () => fingerprint);
    return key ? findReplay(this.context, pk, conversationId, key) : undefined;
  }

  load(tenant: string, conversationId: string, options: LoadOptions = {}): Promise<HistoryPage> {
    return load(this.context, tenant, conversationId, options);
  }

  getConversation(tenant: string, conversationId: string): Promise<ConversationInfo | undefined> {
    return getConversation(this.context, tenant, conversationId);
  }

  /**
   * Deletes the conversation: a tombstone on the head first (the id reads as unknown from then on), then every
   * item of that life, then the head (./delete.ts). Safe to repeat; never touches a newer conversation.
   */
  deleteConversation(tenant: string, conversationId: string): Promise<void> {
    return deleteConversation(this.context, tenant, conversationId);
  }
}
