import { createHash, randomUUID } from 'node:crypto';
import {
  type CancellationReason,
  type ConsumedCapacity,
  DynamoDBServiceException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  type QueryCommandInput,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import {
  IdempotencyKeyReusedError,
  InvalidRequestError,
  MemoryError,
  PayloadTooLargeError,
  StoreFailureError,
  SuffixMismatchError,
  UnavailableError,
  VersionConflictError,
} from './errors.js';
import {
  conversationIdSchema,
  idempotencyKeySchema,
  limits,
  type MessageInput,
  parseMessages,
  type StoredMessage,
} from './message.js';
import { newMessageId } from './message-id.js';
import { keys } from './table.js';

export interface ConversationStoreOptions {
  /** A document client; build it once at module scope. */
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  /** Retention: every item expires this many seconds after its last write. @default undefined (kept forever) */
  readonly ttlSeconds?: number;
  /** Attempts for a lost append race, a transaction conflict or throttling. @default 10 */
  readonly maxAttempts?: number;
  /** Full-jitter exponential backoff between attempts. @default { baseMs: 10, capMs: 400 } */
  readonly backoff?: { readonly baseMs: number; readonly capMs: number };
  /** The clock, in epoch milliseconds (tests move it to exercise retention). @default Date.now */
  readonly now?: () => number;
}

export interface AppendOptions {
  /** Commit only if the conversation is at this version. Without it, append at the end, absorbing races. */
  readonly expectedVersion?: number;
  /** Makes the append replay-safe for the conversation's lifetime: same key + same body = same result. */
  readonly idempotencyKey?: string;
  /**
   * What makes two requests with the same key "the same request", as any JSON value.
   * @default the messages and expectedVersion (an agent turn passes its request instead of the reply)
   */
  readonly idempotencyFingerprint?: unknown;
}

export interface EditResult extends AppendResult {
  /** The messages the edit removed (empty on a replay). */
  readonly removed: StoredMessage[];
}

export interface AppendResult {
  readonly conversationId: string;
  readonly version: number;
  readonly messages: StoredMessage[];
  /** True when this is the stored result of an earlier request with the same idempotency key. */
  readonly replayed: boolean;
  /** DynamoDB capacity units this call consumed (reads and writes). */
  readonly consumedCapacity: number;
}

export interface LoadOptions {
  /** 1-1000. @default 50 */
  readonly limit?: number;
  /** Exclusive upper seq bound. */
  readonly before?: number;
  /** Exclusive lower seq bound; pages go forward (oldest first) when set. */
  readonly after?: number;
}

export interface HistoryPage {
  readonly conversationId: string;
  readonly version: number;
  /** Ascending by seq. */
  readonly messages: StoredMessage[];
  /** Backward pages: the `before` of the next older page, null when none is left. */
  readonly nextBefore?: number | null;
  /** Forward pages: the `after` of the next newer page, null when none is left. */
  readonly nextAfter?: number | null;
  readonly consumedCapacity: number;
}

export interface ConversationInfo {
  readonly conversationId: string;
  readonly version: number;
  readonly messageCount: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly expiresAt?: string;
}

/** The head item, as stored. */
interface Head {
  version: number;
  messageCount: number;
  createdAt: string;
  updatedAt: string;
  expiresAt?: number;
}

/** An idempotency record, as stored: which request (hash) wrote which seq range. */
interface IdempotencyRecord {
  hash: string;
  version: number;
  firstSeq: number;
  lastSeq: number;
  expiresAt?: number;
}

/**
 * A page stops before this many UTF-8 bytes of messages. Lambda's response limit is 6 MB of the JSON
 * envelope, in which the body is escaped once more (a quote can grow to four bytes): 1 MiB stays below it.
 */
const MAX_PAGE_BYTES = 1024 * 1024;
/** DynamoDB allows 100 actions per transaction; deletes run 99 at a time next to a check on the head. */
const DELETES_PER_TRANSACTION = 99;

/** Failures after which the same request may simply be sent again. */
const TRANSIENT_ERRORS = new Set([
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'TransactionConflictException',
  'TransactionInProgressException',
  'InternalServerError',
  'ServiceUnavailable',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);
const NETWORK_ERRORS = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
]);

/**
 * Durable conversation memory on one DynamoDB table (key schema in ./table.ts).
 *
 * Append algorithm: one TransactWriteItems holds a condition on the head (`version = base`, or no live head
 * when base is 0), one Put per message at seq base+1..base+n, and, with an idempotency key, a Put of the
 * idempotency record conditioned on the key being unused. All or nothing: a message is never lost, reordered,
 * duplicated or interleaved with another batch. With `expectedVersion` the base is the caller's; without it,
 * the head is read (strongly consistent) and a lost race is retried on the current version, which the failed
 * condition returns, after a jittered backoff. A used key answers from its record (replay) instead of writing.
 */
export class ConversationStore {
  readonly tableName: string;
  private readonly client: DynamoDBDocumentClient;
  private readonly ttlSeconds: number | undefined;
  private readonly maxAttempts: number;
  private readonly backoff: { readonly baseMs: number; readonly capMs: number };
  private readonly now: () => number;

  constructor(options: ConversationStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.ttlSeconds = options.ttlSeconds;
    this.maxAttempts = options.maxAttempts ?? 10;
    this.backoff = options.backoff ?? { baseMs: 10, capMs: 400 };
    this.now = options.now ?? Date.now;
    if (this.ttlSeconds !== undefined && !(Number.isInteger(this.ttlSeconds) && this.ttlSeconds > 0)) {
      throw new RangeError(`ttlSeconds must be a positive integer, got ${this.ttlSeconds}`);
    }
  }

  async append(
    tenant: string,
    conversationId: string,
    messages: readonly unknown[],
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    const pk = this.partition(tenant, conversationId);
    const batch = parseMessages(messages);
    const { expectedVersion } = options;
    if (expectedVersion !== undefined) requireSeq('expectedVersion', expectedVersion);
    const key = this.idempotency(options, () => ({
      messages: batch.map(({ message }) => message),
      expectedVersion,
    }));
    let capacity = 0;
    let base: number;
    if (expectedVersion !== undefined) {
      base = expectedVersion;
    } else {
      const read = await this.readHead(pk);
      capacity += read.capacity;
      base = this.liveVersion(read.head);
    }

    for (let attempt = 1; ; attempt++) {
      const outcome = await this.write(pk, conversationId, base, { remove: [], add: batch }, key);
      if (outcome.done)
        return { ...outcome.result, consumedCapacity: capacity + outcome.result.consumedCapacity };
      capacity += outcome.capacity;
      if (expectedVersion !== undefined)
        throw new VersionConflictError(outcome.current, { cause: outcome.error });
      await this.afterLostRace(attempt, outcome.error);
      base = outcome.current;
    }
  }

  /**
   * Replaces the newest messages: if the conversation ends with `expectedSuffix` (compared as JSON values,
   * ignoring seq, createdAt and, unless given, id), removes them and appends `replacement`, atomically.
   * Seqs are never reused: the replacement gets new seqs after `version`, and an edit that only removes
   * still raises the version by one, so a version seen once never names two different histories.
   */
  async replaceSuffix(
    tenant: string,
    conversationId: string,
    edit: { expectedSuffix: readonly unknown[]; replacement: readonly unknown[] },
    options: AppendOptions = {},
  ): Promise<EditResult> {
    const pk = this.partition(tenant, conversationId);
    const expected = parseMessages(edit.expectedSuffix, { allowEmpty: true });
    const replacement = parseMessages(edit.replacement, { allowEmpty: true });
    if (expected.length + replacement.length === 0) {
      throw new InvalidRequestError('An edit needs an expectedSuffix or a replacement.');
    }
    if (expected.length + replacement.length > limits.messagesPerAppend) {
      throw new InvalidRequestError(`An edit touches at most ${limits.messagesPerAppend} messages.`);
    }
    const { expectedVersion } = options;
    if (expectedVersion !== undefined) requireSeq('expectedVersion', expectedVersion);
    const key = this.idempotency(options, () => ({
      edit: 'replace_suffix',
      expectedSuffix: expected.map(({ message }) => message),
      replacement: replacement.map(({ message }) => message),
      expectedVersion,
    }));
    let capacity = 0;

    for (let attempt = 1; ; attempt++) {
      const [replay, window] = await Promise.all([
        key ? this.findReplay(pk, conversationId, key) : undefined,
        this.query(
          {
            KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
            ExpressionAttributeValues: { ':pk': pk, ':prefix': keys.messagePrefix },
            ScanIndexForward: false,
          },
          Math.max(expected.length, 1),
          true,
          Number.POSITIVE_INFINITY,
        ),
      ]);
      if (replay) return { ...replay, removed: [], consumedCapacity: capacity + replay.consumedCapacity };
      capacity += window.capacity;
      const version = this.liveVersion(window.head);
      if (expectedVersion !== undefined && version !== expectedVersion)
        throw new VersionConflictError(version);
      const suffix = expected.length === 0 ? [] : window.messages.filter((m) => m.seq <= version).reverse();
      const matches =
        suffix.length === expected.length &&
        suffix.every((stored, i) => sameMessage(stored, expected[i]?.message as MessageInput));
      if (!matches) throw new SuffixMismatchError(version);

      const change = { remove: suffix.map((message) => message.seq), add: replacement };
      const outcome = await this.write(pk, conversationId, version, change, key);
      if (outcome.done) {
        const result = outcome.result;
        return {
          ...result,
          removed: result.replayed ? [] : suffix,
          consumedCapacity: capacity + result.consumedCapacity,
        };
      }
      capacity += outcome.capacity;
      if (expectedVersion !== undefined)
        throw new VersionConflictError(outcome.current, { cause: outcome.error });
      await this.afterLostRace(attempt, outcome.error);
    }
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
    const pk = this.partition(tenant, conversationId);
    const key = this.idempotency({ idempotencyKey, idempotencyFingerprint: fingerprint }, () => fingerprint);
    return key ? this.findReplay(pk, conversationId, key) : undefined;
  }

  async load(tenant: string, conversationId: string, options: LoadOptions = {}): Promise<HistoryPage> {
    const pk = this.partition(tenant, conversationId);
    const limit = options.limit ?? limits.pageSize;
    if (!Number.isInteger(limit) || limit < 1 || limit > limits.maxPageSize) {
      throw new InvalidRequestError(`limit must be an integer from 1 to ${limits.maxPageSize}.`);
    }
    if (options.before !== undefined) requireSeq('before', options.before);
    if (options.after !== undefined) requireSeq('after', options.after);
    const { before, after } = options;

    if (before === undefined && after === undefined) {
      // The default window: head and newest messages in one descending Query.
      const page = await this.query(
        {
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': pk, ':prefix': keys.messagePrefix },
          ScanIndexForward: false,
        },
        limit,
        true,
      );
      const version = this.liveVersion(page.head);
      const messages = page.messages.filter((message) => message.seq <= version).reverse();
      return {
        conversationId,
        version,
        messages,
        nextBefore: backwardCursor(messages, page.full),
        consumedCapacity: page.capacity,
      };
    }

    const forward = after !== undefined;
    const lower = (after ?? 0) + 1;
    const upper = Math.min((before ?? Number.MAX_SAFE_INTEGER) - 1, 9_999_999_999);
    const [read, page] = await Promise.all([
      this.readHead(pk),
      upper < lower
        ? Promise.resolve({ messages: [], full: false, capacity: 0 })
        : this.query(
            {
              KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lower AND :upper',
              ExpressionAttributeValues: {
                ':pk': pk,
                ':lower': keys.message(lower),
                ':upper': keys.message(upper),
              },
              ScanIndexForward: forward,
            },
            limit,
            false,
          ),
    ]);
    const version = this.liveVersion(read.head);
    const messages = page.messages.filter((message) => message.seq <= version);
    const capacity = read.capacity + page.capacity;
    if (!forward) {
      messages.reverse();
      return {
        conversationId,
        version,
        messages,
        nextBefore: backwardCursor(messages, page.full),
        consumedCapacity: capacity,
      };
    }
    const last = messages.at(-1)?.seq;
    const more = page.full && last !== undefined && last < Math.min(version, upper);
    return { conversationId, version, messages, nextAfter: more ? last : null, consumedCapacity: capacity };
  }

  async getConversation(tenant: string, conversationId: string): Promise<ConversationInfo | undefined> {
    const { head } = await this.readHead(this.partition(tenant, conversationId));
    if (!head || !this.isLive(head)) return undefined;
    return {
      conversationId,
      version: head.version,
      messageCount: head.messageCount,
      createdAt: head.createdAt,
      updatedAt: head.updatedAt,
      ...(head.expiresAt === undefined ? {} : { expiresAt: new Date(head.expiresAt * 1000).toISOString() }),
    };
  }

  /**
   * Deletes every item of the conversation. The head goes last and every batch is conditioned on it being
   * unchanged, so an append racing the delete restarts it instead of leaving orphaned messages that a new
   * conversation under the same id would later expose.
   */
  async deleteConversation(tenant: string, conversationId: string): Promise<void> {
    const pk = this.partition(tenant, conversationId);
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      const { head } = await this.readHead(pk);
      const headUnchanged =
        head === undefined
          ? { ConditionExpression: 'attribute_not_exists(pk)' }
          : {
              ConditionExpression: 'version = :version',
              ExpressionAttributeValues: { ':version': head.version },
            };
      const others = (await this.allKeys(pk)).filter((sk) => sk !== keys.head);
      let raced = false;
      for (let start = 0; start < others.length && !raced; start += DELETES_PER_TRANSACTION) {
        const chunk = others.slice(start, start + DELETES_PER_TRANSACTION);
        raced = !(
          await this.commit({
            TransactItems: [
              { ConditionCheck: { TableName: this.tableName, Key: { pk, sk: keys.head }, ...headUnchanged } },
              ...chunk.map((sk) => ({ Delete: { TableName: this.tableName, Key: { pk, sk } } })),
            ],
          })
        ).committed;
      }
      if (!raced && head !== undefined) {
        raced = !(
          await this.commit({
            TransactItems: [
              { Delete: { TableName: this.tableName, Key: { pk, sk: keys.head }, ...headUnchanged } },
            ],
          })
        ).committed;
      }
      if (!raced) return;
      await this.pause(attempt);
    }
    throw new UnavailableError('The conversation kept changing while it was being deleted. Retry shortly.');
  }

  private partition(tenant: string, conversationId: string): string {
    if (typeof tenant !== 'string' || tenant.length < 1 || tenant.length > 512) {
      throw new InvalidRequestError('The tenant must be 1-512 characters.');
    }
    parseOrThrow(conversationIdSchema, conversationId, 'conversationId');
    return keys.partition(tenant, conversationId);
  }

  private idempotency(
    options: AppendOptions,
    defaultFingerprint: () => unknown,
  ): { key: string; hash: string } | undefined {
    const { idempotencyKey } = options;
    if (idempotencyKey === undefined) return undefined;
    parseOrThrow(idempotencyKeySchema, idempotencyKey, 'idempotencyKey');
    const fingerprint = options.idempotencyFingerprint ?? defaultFingerprint();
    return {
      key: idempotencyKey,
      hash: createHash('sha256').update(canonicalJson(fingerprint)).digest('base64url'),
    };
  }

  /**
   * One conditional commit on `base`: the head check, deletes of `remove`, puts of `add` at base+1..., and
   * the idempotency record. Answers with the result, a replay, or the version that won the race.
   */
  private async write(
    pk: string,
    conversationId: string,
    base: number,
    change: { remove: number[]; add: ReturnType<typeof parseMessages> },
    idempotency: { key: string; hash: string } | undefined,
  ): Promise<
    | { done: true; result: AppendResult }
    | { done: false; current: number; error: TransactionCanceledException; capacity: number }
  > {
    const nowMs = this.now();
    const createdAt = new Date(nowMs).toISOString();
    const expiresAt = this.expiry(nowMs);
    const ttl = expiresAt === undefined ? {} : { expiresAt };
    const stored = change.add.map(
      ({ message }, index): StoredMessage => ({
        ...message,
        id: message.id ?? newMessageId(nowMs),
        seq: base + index + 1,
        createdAt,
      }),
    );
    // Every change raises the version, even one that only removes: versions never repeat.
    const version = base + Math.max(stored.length, 1);
    const countDelta = stored.length - change.remove.length;
    const transaction: TransactWriteCommandInput = {
      TransactItems: [
        this.headWrite(pk, base, version, countDelta, createdAt, nowMs, expiresAt),
        ...change.remove.map((seq) => ({
          Delete: { TableName: this.tableName, Key: { pk, sk: keys.message(seq) } },
        })),
        ...stored.map((message) => ({
          Put: {
            TableName: this.tableName,
            Item: { pk, sk: keys.message(message.seq), msg: JSON.stringify(message), ...ttl },
          },
        })),
        ...(idempotency === undefined
          ? []
          : [
              {
                Put: {
                  TableName: this.tableName,
                  Item: {
                    pk,
                    sk: keys.idempotency(idempotency.key),
                    hash: idempotency.hash,
                    version,
                    firstSeq: base + 1,
                    lastSeq: base + stored.length,
                    ...ttl,
                  },
                  // A record past its expiry is dead: its key may be used again.
                  ConditionExpression: 'attribute_not_exists(pk) OR expiresAt <= :nowSec',
                  ExpressionAttributeValues: { ':nowSec': Math.floor(nowMs / 1000) },
                  ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
                },
              },
            ]),
      ],
      ReturnConsumedCapacity: 'TOTAL',
    };

    const outcome = await this.commit(transaction);
    if (outcome.committed) {
      return {
        done: true,
        result: {
          conversationId,
          version,
          messages: stored,
          replayed: false,
          consumedCapacity: outcome.capacity,
        },
      };
    }
    const headReason = outcome.reasons[0];
    if (idempotency !== undefined) {
      // DynamoDB may report only the first failed condition, so a failed head check alone still looks up
      // the key: a retried request must replay, not conflict.
      const keyReason = outcome.reasons.at(-1);
      const record = conditionFailed(keyReason) ? itemOf<IdempotencyRecord>(keyReason) : undefined;
      const replay = record
        ? await this.replayFrom(pk, conversationId, record, idempotency.hash)
        : conditionFailed(headReason)
          ? await this.findReplay(pk, conversationId, idempotency)
          : undefined;
      if (replay) return { done: true, result: replay };
    }
    if (!conditionFailed(headReason)) {
      throw new StoreFailureError('DynamoDB cancelled the write for an unexpected reason.', {
        cause: outcome.error,
      });
    }
    return {
      done: false,
      current: this.liveVersion(itemOf<Head>(headReason)),
      error: outcome.error,
      capacity: 0,
    };
  }

  private async findReplay(
    pk: string,
    conversationId: string,
    idempotency: { key: string; hash: string },
  ): Promise<AppendResult | undefined> {
    const read = await this.send(() =>
      this.client.send(
        new GetCommand({
          TableName: this.tableName,
          Key: { pk, sk: keys.idempotency(idempotency.key) },
          ConsistentRead: true,
          ReturnConsumedCapacity: 'TOTAL',
        }),
      ),
    );
    const record = read.Item as IdempotencyRecord | undefined;
    const replay = record && (await this.replayFrom(pk, conversationId, record, idempotency.hash));
    return (
      replay && { ...replay, consumedCapacity: replay.consumedCapacity + sumCapacity(read.ConsumedCapacity) }
    );
  }

  /** The original result of a live idempotency record, re-read from the messages it wrote. */
  private async replayFrom(
    pk: string,
    conversationId: string,
    record: IdempotencyRecord,
    hash: string,
  ): Promise<AppendResult | undefined> {
    if (!this.isLive(record)) return undefined;
    if (record.hash !== hash) throw new IdempotencyKeyReusedError();
    const range =
      record.lastSeq >= record.firstSeq
        ? await this.readRange(pk, record.firstSeq, record.lastSeq)
        : { messages: [], capacity: 0 };
    return {
      conversationId,
      version: record.version,
      messages: range.messages,
      replayed: true,
      consumedCapacity: range.capacity,
    };
  }

  private async afterLostRace(attempt: number, cause: unknown): Promise<void> {
    if (attempt >= this.maxAttempts) {
      throw new UnavailableError(
        `The conversation is under heavy concurrent writes; ${attempt} attempts lost the race. Retry shortly.`,
        1,
        { cause },
      );
    }
    await this.pause(attempt);
  }

  /** The head write: a fresh head when base is 0 (none, or an expired one), else a version bump. */
  private headWrite(
    pk: string,
    base: number,
    version: number,
    countDelta: number,
    timestamp: string,
    nowMs: number,
    expiresAt: number | undefined,
  ): NonNullable<TransactWriteCommandInput['TransactItems']>[number] {
    const nowSec = Math.floor(nowMs / 1000);
    if (base === 0) {
      const head: Head & { pk: string; sk: string } = {
        pk,
        sk: keys.head,
        version,
        messageCount: countDelta,
        createdAt: timestamp,
        updatedAt: timestamp,
        ...(expiresAt === undefined ? {} : { expiresAt }),
      };
      return {
        Put: {
          TableName: this.tableName,
          Item: head,
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt <= :nowSec',
          ExpressionAttributeValues: { ':nowSec': nowSec },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
        },
      };
    }
    return {
      Update: {
        TableName: this.tableName,
        Key: { pk, sk: keys.head },
        UpdateExpression: `SET version = :version, updatedAt = :now${expiresAt === undefined ? '' : ', expiresAt = :expiresAt'} ADD messageCount :count`,
        ConditionExpression: 'version = :base AND (attribute_not_exists(expiresAt) OR expiresAt > :nowSec)',
        ExpressionAttributeValues: {
          ':version': version,
          ':now': timestamp,
          ':count': countDelta,
          ':base': base,
          ':nowSec': nowSec,
          ...(expiresAt === undefined ? {} : { ':expiresAt': expiresAt }),
        },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
      },
    };
  }

  /**
   * Sends a transaction; a cancellation on a condition is an answer, not an error. The token stays the same
   * across retries after an unknown outcome (DynamoDB then applies the transaction at most once) and is
   * renewed after a cancellation, which certainly wrote nothing.
   */
  private async commit(input: TransactWriteCommandInput): Promise<
    | { committed: true; capacity: number }
    | {
        committed: false;
        reasons: CancellationReason[];
        error: TransactionCanceledException;
        capacity: number;
      }
  > {
    let token = randomUUID();
    return this.send(async () => {
      try {
        const output = await this.client.send(
          new TransactWriteCommand({ ...input, ClientRequestToken: token }),
        );
        return { committed: true as const, capacity: sumCapacity(output.ConsumedCapacity) };
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        token = randomUUID();
        const reasons = error.CancellationReasons ?? [];
        if (!reasons.some(conditionFailed)) throw error;
        return { committed: false as const, reasons, error, capacity: 0 };
      }
    });
  }

  /**
   * Runs one DynamoDB call, retrying throttling, transaction conflicts and network failures with jittered
   * backoff. The request object is reused, so a transaction keeps its ClientRequestToken and a retry of
   * one that did commit is answered by DynamoDB without being applied twice. Every error leaves as a
   * MemoryError.
   */
  private async send<T>(call: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (error) {
        if (!isTransient(error)) throw translate(error);
        if (attempt >= this.maxAttempts) {
          throw new UnavailableError('DynamoDB is throttling or unreachable. Retry shortly.', 1, {
            cause: error,
          });
        }
        await this.pause(attempt);
      }
    }
  }

  private async readHead(pk: string): Promise<{ head: Head | undefined; capacity: number }> {
    const output = await this.send(() =>
      this.client.send(
        new GetCommand({
          TableName: this.tableName,
          Key: { pk, sk: keys.head },
          ConsistentRead: true,
          ReturnConsumedCapacity: 'TOTAL',
        }),
      ),
    );
    return { head: output.Item as Head | undefined, capacity: sumCapacity(output.ConsumedCapacity) };
  }

  private async readRange(pk: string, first: number, last: number) {
    const page = await this.query(
      {
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lower AND :upper',
        ExpressionAttributeValues: { ':pk': pk, ':lower': keys.message(first), ':upper': keys.message(last) },
        ScanIndexForward: true,
      },
      last - first + 1,
      false,
      Number.POSITIVE_INFINITY,
    );
    return page;
  }

  /**
   * A strongly consistent Query that collects up to `limit` live messages (and the head, when asked),
   * following DynamoDB's 1 MB pages and stopping at the page byte budget. `full` says the page stopped
   * on a limit rather than on the end of the range.
   */
  private async query(
    input: Pick<
      QueryCommandInput,
      'KeyConditionExpression' | 'ExpressionAttributeValues' | 'ScanIndexForward'
    >,
    limit: number,
    withHead: boolean,
    maxBytes = MAX_PAGE_BYTES,
  ): Promise<{ head?: Head; messages: StoredMessage[]; full: boolean; capacity: number }> {
    const messages: StoredMessage[] = [];
    let head: Head | undefined;
    let capacity = 0;
    let bytes = 0;
    let startKey: Record<string, unknown> | undefined;
    do {
      const output = await this.send(() =>
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            ...input,
            ConsistentRead: true,
            Limit: limit - messages.length + (withHead && !head ? 1 : 0),
            ExclusiveStartKey: startKey,
            ReturnConsumedCapacity: 'TOTAL',
          }),
        ),
      );
      capacity += sumCapacity(output.ConsumedCapacity);
      for (const item of output.Items ?? []) {
        if (item.sk === keys.head) {
          head = item as Head;
          continue;
        }
        if (!this.isLive(item as { expiresAt?: number })) continue;
        const msg = item.msg as string;
        const size = Buffer.byteLength(msg);
        if (messages.length > 0 && bytes + size > maxBytes) return { head, messages, full: true, capacity };
        bytes += size;
        messages.push(JSON.parse(msg) as StoredMessage);
        if (messages.length === limit) return { head, messages, full: true, capacity };
      }
      startKey = output.LastEvaluatedKey;
    } while (startKey);
    return { head, messages, full: false, capacity };
  }

  private async allKeys(pk: string): Promise<string[]> {
    const found: string[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const output = await this.send(() =>
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': pk },
            ProjectionExpression: 'sk',
            ConsistentRead: true,
            ExclusiveStartKey: startKey,
          }),
        ),
      );
      for (const item of output.Items ?? []) found.push(item.sk as string);
      startKey = output.LastEvaluatedKey;
    } while (startKey);
    return found;
  }

  /** DynamoDB deletes expired items lazily (within days), so reads treat them as gone already. */
  private isLive(item: { expiresAt?: number }): boolean {
    return item.expiresAt === undefined || item.expiresAt > Math.floor(this.now() / 1000);
  }

  private liveVersion(head: Head | undefined): number {
    return head && this.isLive(head) ? head.version : 0;
  }

  private expiry(nowMs: number): number | undefined {
    return this.ttlSeconds === undefined ? undefined : Math.floor(nowMs / 1000) + this.ttlSeconds;
  }

  private pause(attempt: number): Promise<void> {
    const ceiling = Math.min(this.backoff.capMs, this.backoff.baseMs * 2 ** attempt);
    return new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
  }
}

function requireSeq(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidRequestError(`${name} must be an integer >= 0.`);
  }
}

function parseOrThrow(schema: typeof conversationIdSchema, value: unknown, name: string): void {
  const result = schema.safeParse(value);
  if (!result.success)
    throw new InvalidRequestError(`${name} ${result.error.issues[0]?.message ?? 'is invalid'}.`);
}

function backwardCursor(ascending: StoredMessage[], full: boolean): number | null {
  const oldest = ascending[0]?.seq;
  return full && oldest !== undefined && oldest > 1 ? oldest : null;
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Whether a stored message is the expected one: same JSON value, ignoring what the store added. */
function sameMessage(stored: StoredMessage, expected: MessageInput): boolean {
  const { seq: _seq, createdAt: _createdAt, id, ...rest } = stored;
  return canonicalJson(expected.id === undefined ? rest : { ...rest, id }) === canonicalJson(expected);
}

function conditionFailed(reason: CancellationReason | undefined): reason is CancellationReason {
  return reason?.Code === 'ConditionalCheckFailed';
}

function itemOf<T>(reason: CancellationReason | undefined): T | undefined {
  return reason?.Item ? (unmarshall(reason.Item) as T) : undefined;
}

function sumCapacity(consumed: ConsumedCapacity | ConsumedCapacity[] | undefined): number {
  const list = Array.isArray(consumed) ? consumed : consumed ? [consumed] : [];
  return list.reduce((sum, entry) => sum + (entry.CapacityUnits ?? 0), 0);
}

function isTransient(error: unknown): boolean {
  if (error instanceof TransactionCanceledException) {
    // Cancelled only by conflicts with other transactions or throttling: nothing was written, send again.
    const codes = (error.CancellationReasons ?? []).map((reason) => reason.Code ?? 'None');
    return (
      codes.some((code) => code === 'TransactionConflict' || code === 'ThrottlingError') &&
      codes.every((code) => code === 'None' || code === 'TransactionConflict' || code === 'ThrottlingError')
    );
  }
  if (!(error instanceof Error)) return false;
  if (TRANSIENT_ERRORS.has(error.name)) return true;
  if (error instanceof DynamoDBServiceException)
    return error.$fault === 'server' || error.$retryable !== undefined;
  const code = (error as { code?: string }).code;
  return code !== undefined && NETWORK_ERRORS.has(code);
}

/** The one place where an SDK error becomes a domain error. */
function translate(error: unknown): MemoryError {
  if (error instanceof MemoryError) return error;
  const name = error instanceof Error ? error.name : 'unknown';
  const message = error instanceof Error ? error.message : String(error);
  // Size limits surface as a ValidationException or as a cancelled transaction whose reason says so.
  if (
    (name === 'ValidationException' || name === 'TransactionCanceledException') &&
    /size|too large|larger than/i.test(message)
  ) {
    return new PayloadTooLargeError(
      'The messages exceed a DynamoDB size limit (400 KB per item, 4 MB per append).',
      {
        cause: error,
      },
    );
  }
  if (name === 'ResourceNotFoundException') {
    return new StoreFailureError('The conversation table does not exist.', { cause: error });
  }
  return new StoreFailureError('DynamoDB failed unexpectedly.', { cause: error });
}
