import { createHash, randomBytes } from 'node:crypto';
import {
  type CancellationReason,
  ConditionalCheckFailedException,
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
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import {
  IdempotencyKeyReusedError,
  IdempotentResultGoneError,
  InvalidRequestError,
  MemoryError,
  PayloadTooLargeError,
  StoreFailureError,
  SuffixMismatchError,
  UnavailableError,
  VersionConflictError,
  WriteOutcomeUnknownError,
} from './errors.js';
import type { ConversationInfo, HistoryPage, LoadOptions } from './history.js';
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

/**
 * The head item, as stored. A head that is deleted (a tombstone) or past `liveUntil` is dead: the id reads as
 * unknown, and everything up to its version belongs to that past life. A new life over a dead head continues
 * its seqs with `floor` = the dead version, so seqs are never reused and leftovers of the past life stay
 * invisible. Its expiry is not DynamoDB's TTL attribute, so TTL never removes it and the floor it keeps
 * outlives everything below it; only a completed delete removes it, after everything below it.
 */
interface Head {
  version: number;
  messageCount: number;
  createdAt: string;
  updatedAt: string;
  liveUntil?: number;
  floor?: number;
  deleted?: boolean;
  /** How many edits removed messages: a page read re-checks it to know no history changed under it. */
  rewrites?: number;
  /** The operation that wrote this version: tells a write whose answer was lost that it was the last one. */
  op?: string;
}

/** The head as last read (undefined inside: there was none); passed to a write that knows it. */
interface KnownHead {
  head: Head | undefined;
}

/** An idempotency record, as stored: which request (hash) wrote which seq range. */
interface IdempotencyRecord {
  hash: string;
  version: number;
  firstSeq: number;
  lastSeq: number;
  expiresAt?: number;
  /** The operation that wrote it: its own retry is answered as applied, not as a replay. */
  op?: string;
}

/**
 * One logical write (an append, an edit). Every attempt of it (SDK retries, retries after transient errors,
 * after lost races) writes the same messages, with the same ids and createdAt, and the same op id on the
 * head; only the seqs follow the base. So an attempt whose answer was lost can be recognised in the table.
 */
interface Operation {
  readonly id: string;
  readonly nowMs: number;
  readonly createdAt: string;
  readonly expiresAt: number | undefined;
  /** The messages it adds, each with its id: the caller's, or one generated once for every attempt. */
  readonly messages: ReadonlyArray<MessageInput & { id: string }>;
}

/** One transaction of an operation, as sent: what a lost answer may have committed. */
interface Attempt {
  readonly op: Operation;
  /** The version the head condition expects (0: no live head). */
  readonly base: number;
  /** The seq before the first message: the base, or a dead head's version a new life continues above. */
  readonly start: number;
  /** The dead head a new life is started over, if any. */
  readonly restartOver: Head | undefined;
  readonly version: number;
  readonly stored: StoredMessage[];
}

/** What DynamoDB answered a transaction: applied, refused on a condition, or no answer to rely on. */
type CommitOutcome =
  | { status: 'committed'; capacity: number }
  | {
      status: 'rejected';
      reasons: CancellationReason[];
      error: TransactionCanceledException;
      /** An earlier send of the same transaction (an SDK retry, a lost answer) may have committed it. */
      unsure: boolean;
    }
  | { status: 'unknown'; error: unknown };

/**
 * A page stops before this many UTF-8 bytes of messages. Lambda's response limit is 6 MB of the JSON
 * envelope, in which the body is escaped once more (a quote can grow to four bytes): 1 MiB stays below it.
 */
const MAX_PAGE_BYTES = 1024 * 1024;
/** DynamoDB allows 100 actions per transaction: 99 deletes next to the check on the tombstone. */
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
 *
 * Lost answers: every attempt of one write carries the same message ids, createdAt and op id (written on the
 * head), and its token is a digest of the transaction, so DynamoDB applies an identical resend at most once.
 * When an attempt may have committed unseen (no answer, a 5xx, an SDK retry) and a later one fails its
 * condition, the write is settled from the table before anything else: its record (with a key), its op id
 * on the head, its first message at its seq, or the marker of an edit that only removed. Until then it is
 * never reported as not applied and never sent on another base; when the evidence is gone (edited away,
 * deleted), the answer is WriteOutcomeUnknownError, not a guess.
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
    const op = this.operation(batch);
    let capacity = 0;
    let base = expectedVersion ?? 0;
    let known: KnownHead | undefined;
    if (expectedVersion === undefined) {
      const read = await this.readHead(pk);
      capacity += read.capacity;
      known = { head: read.head };
      base = this.liveVersion(read.head);
    }

    for (const retry = new Retries(this.maxAttempts, (n) => this.pause(n)); ; ) {
      const outcome = await this.write(pk, conversationId, base, [], key, known, op);
      if (outcome.done) {
        return { ...outcome.result, consumedCapacity: capacity + outcome.result.consumedCapacity };
      }
      capacity += outcome.capacity;
      if (expectedVersion !== undefined && outcome.current !== expectedVersion) {
        throw new VersionConflictError(outcome.current, { cause: outcome.error });
      }
      await retry.after(outcome.current !== base, outcome.error);
      base = outcome.current;
      known = { head: outcome.head };
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
    const op = this.operation(replacement);
    let capacity = 0;

    for (const retry = new Retries(this.maxAttempts, (n) => this.pause(n)); ; ) {
      const [replay, window] = await Promise.all([
        key ? this.findReplay(pk, conversationId, key) : undefined,
        this.newest(pk, Math.max(expected.length, 1), Number.POSITIVE_INFINITY),
      ]);
      capacity += window.capacity;
      if (replay) return { ...replay, removed: [], consumedCapacity: capacity + replay.consumedCapacity };
      const version = this.liveVersion(window.head);
      if (expectedVersion !== undefined && version !== expectedVersion) {
        throw new VersionConflictError(version);
      }
      const suffix = expected.length === 0 ? [] : window.messages.slice().reverse();
      const matches =
        suffix.length === expected.length &&
        suffix.every((stored, i) => sameMessage(stored, expected[i]?.message as MessageInput));
      if (!matches) throw new SuffixMismatchError(version);

      const remove = suffix.map((message) => message.seq);
      const outcome = await this.write(pk, conversationId, version, remove, key, { head: window.head }, op);
      if (outcome.done) {
        const result = outcome.result;
        return {
          ...result,
          removed: result.replayed ? [] : suffix,
          consumedCapacity: capacity + result.consumedCapacity,
        };
      }
      capacity += outcome.capacity;
      if (expectedVersion !== undefined && outcome.current !== expectedVersion) {
        throw new VersionConflictError(outcome.current, { cause: outcome.error });
      }
      await retry.after(outcome.current !== version, outcome.error);
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
      const page = await this.newest(pk, limit, MAX_PAGE_BYTES);
      const messages = page.messages.reverse();
      const oldest = messages[0]?.seq;
      return {
        conversationId,
        version: this.liveVersion(page.head),
        messages,
        nextBefore: page.full && oldest !== undefined && oldest > this.floorOf(page.head) + 1 ? oldest : null,
        consumedCapacity: page.capacity,
      };
    }

    // Pages: the head first, so the range is bounded by this life's floor and version; then the head again.
    // Appends only add seqs above the version read, so the page stands unless an edit removed messages or
    // the life ended meanwhile; then it is read again.
    let capacity = 0;
    for (let attempt = 1; ; attempt++) {
      const read = await this.readHead(pk);
      const version = this.liveVersion(read.head);
      const floor = this.floorOf(read.head);
      const forward = after !== undefined;
      const lower = Math.max(after ?? 0, floor) + 1;
      const upper = Math.min((before ?? Number.MAX_SAFE_INTEGER) - 1, version);
      const page =
        upper < lower
          ? { messages: [], full: false, capacity: 0 }
          : await this.query(
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
              MAX_PAGE_BYTES,
            );
      const check = upper < lower ? read : await this.readHead(pk);
      capacity += read.capacity + page.capacity + (check === read ? 0 : check.capacity);
      if (this.historyShape(check.head) !== this.historyShape(read.head)) {
        if (attempt >= 3)
          throw new UnavailableError('The conversation kept being edited during the read. Retry.');
        continue;
      }
      const messages = page.messages;
      if (!forward) {
        messages.reverse();
        const oldest = messages[0]?.seq;
        const more = page.full && oldest !== undefined && oldest > lower;
        return {
          conversationId,
          version,
          messages,
          nextBefore: more ? oldest : null,
          consumedCapacity: capacity,
        };
      }
      const last = messages.at(-1)?.seq;
      const more = page.full && last !== undefined && last < upper;
      return { conversationId, version, messages, nextAfter: more ? last : null, consumedCapacity: capacity };
    }
  }

  async getConversation(tenant: string, conversationId: string): Promise<ConversationInfo | undefined> {
    const { head } = await this.readHead(this.partition(tenant, conversationId));
    if (head === undefined || !this.isLiveHead(head)) return undefined;
    return {
      conversationId,
      version: head.version,
      messageCount: head.messageCount,
      createdAt: head.createdAt,
      updatedAt: head.updatedAt,
      ...(head.liveUntil === undefined ? {} : { expiresAt: new Date(head.liveUntil * 1000).toISOString() }),
    };
  }

  /**
   * Deletes the conversation: first a tombstone on the head (one conditional write, after which the id reads
   * as unknown and its keys are dead), then every item of that life, then the head. Each batch of deletes is
   * a transaction conditioned on that same tombstone, so a cleanup cut short, retried, or still running
   * after another delete finished and a new conversation began, can never touch anything but the dead life.
   * A completed delete leaves nothing: the id starts again at seq 1. One cut short leaves a tombstone that
   * hides what remains; a new conversation then continues above its seqs, and a retried delete finishes.
   */
  async deleteConversation(tenant: string, conversationId: string): Promise<void> {
    const pk = this.partition(tenant, conversationId);
    let { head } = await this.readHead(pk);
    if (head === undefined) return; // never written: nothing to delete, and nothing to race with
    if (head.deleted !== true) {
      head = await this.send(async () => {
        try {
          const output = await this.client.send(
            new UpdateCommand({
              TableName: this.tableName,
              Key: { pk, sk: keys.head },
              // No version in the condition: a steady stream of appends cannot starve a delete.
              UpdateExpression:
                'SET deleted = :true REMOVE messageCount, createdAt, updatedAt, liveUntil, floor',
              ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(deleted)',
              ExpressionAttributeValues: { ':true': true },
              ReturnValues: 'ALL_NEW',
            }),
          );
          return output.Attributes as Head;
        } catch (error) {
          if (error instanceof ConditionalCheckFailedException) return undefined; // deleted meanwhile
          throw error;
        }
      });
      head ??= (await this.readHead(pk)).head;
      if (head === undefined || head.deleted !== true) return; // another delete finished, a new life began
    }
    const tombstone = {
      ConditionExpression: 'deleted = :true AND version = :version',
      ExpressionAttributeValues: { ':true': true, ':version': head.version },
    };
    if (!(await this.removePastLife(pk, head.version, tombstone))) return;
    const outcome = await this.commit({
      TransactItems: [{ Delete: { TableName: this.tableName, Key: { pk, sk: keys.head }, ...tombstone } }],
    });
    if (outcome.status === 'unknown') throw unfinishedDelete(outcome.error);
  }

  private partition(tenant: string, conversationId: string): string {
    if (typeof tenant !== 'string' || tenant.length < 1 || tenant.length > 512) {
      throw new InvalidRequestError('The tenant must be 1-512 characters.');
    }
    parseOrThrow(conversationIdSchema, conversationId, 'conversationId');
    let pk: string;
    try {
      pk = keys.partition(tenant, conversationId);
    } catch {
      throw new InvalidRequestError('The tenant is not well-formed Unicode.'); // a lone surrogate
    }
    // DynamoDB's partition key limit: a tenant of many non-ASCII characters can exceed it once encoded.
    if (Buffer.byteLength(pk) > 2048) throw new InvalidRequestError('The tenant is too long.');
    return pk;
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

  /** A new operation: its time, expiry, op id and message ids, fixed for every attempt. */
  private operation(batch: ReturnType<typeof parseMessages>): Operation {
    const nowMs = this.now();
    return {
      id: randomBytes(12).toString('base64url'),
      nowMs,
      createdAt: new Date(nowMs).toISOString(),
      expiresAt: this.expiry(nowMs),
      messages: batch.map(({ message }) => ({ ...message, id: message.id ?? newMessageId(nowMs) })),
    };
  }

  /**
   * One conditional commit of `op` on `base` (the version the caller saw, 0 for none): the head check, deletes
   * of `remove`, puts of the operation's messages after the last seq (or, when it adds none, its removal
   * marker), and the idempotency record. Answers with the result, a replay, or the head that made the
   * condition fail; in the last case this attempt, and every earlier one of `op`, is known not to have
   * committed. `known.head` is the head as last read, if any: over a dead head the new life continues its
   * seqs; unknown, the first attempt assumes no head at all.
   */
  private async write(
    pk: string,
    conversationId: string,
    base: number,
    remove: number[],
    idempotency: { key: string; hash: string } | undefined,
    known: KnownHead | undefined,
    op: Operation,
  ): Promise<
    | { done: true; result: AppendResult }
    | { done: false; current: number; head: Head | undefined; error: unknown; capacity: number }
  > {
    const ttl = op.expiresAt === undefined ? {} : { expiresAt: op.expiresAt };
    const restartOver =
      base === 0 && known?.head !== undefined && !this.isLiveHead(known.head) ? known.head : undefined;
    const start = restartOver?.version ?? base;
    const floor = restartOver ? start : (known?.head?.floor ?? 0);
    const stored = storedMessages(op, start);
    // Every change raises the version, even one that only removes: versions never repeat.
    const version = start + Math.max(stored.length, 1);
    const attempt: Attempt = { op, base, start, restartOver, version, stored };
    const head = {
      version,
      countDelta: stored.length - remove.length,
      rewrite: remove.length > 0,
      op,
    };
    const transaction: TransactWriteCommandInput = {
      TransactItems: [
        this.headWrite(pk, base, restartOver, head),
        ...remove.map((seq) => ({
          Delete: { TableName: this.tableName, Key: { pk, sk: keys.message(seq) } },
        })),
        ...stored.map((message) => ({
          Put: {
            TableName: this.tableName,
            Item: { pk, sk: keys.message(message.seq), msg: JSON.stringify(message), ...ttl },
          },
        })),
        // An edit that only removes leaves no message behind to recognise it by, so it leaves this.
        ...(stored.length === 0
          ? [
              {
                Put: {
                  TableName: this.tableName,
                  Item: { pk, sk: keys.removal(version), op: op.id, version, ...ttl },
                },
              },
            ]
          : []),
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
                    firstSeq: start + 1,
                    lastSeq: start + stored.length,
                    op: op.id,
                    ...ttl,
                  },
                  // A record past its expiry, or of a past life of this id, is dead: its key is free again.
                  ConditionExpression:
                    'attribute_not_exists(pk) OR expiresAt <= :nowSec OR version <= :floor',
                  ExpressionAttributeValues: { ':nowSec': Math.floor(op.nowMs / 1000), ':floor': floor },
                  ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
                },
              },
            ]),
      ],
      ReturnConsumedCapacity: 'TOTAL',
    };

    const outcome = await this.commit(transaction);
    if (outcome.status === 'committed') {
      return { done: true, result: applied(conversationId, attempt, outcome.capacity) };
    }
    const reasons = outcome.status === 'rejected' ? outcome.reasons : [];
    const headReason = reasons[0];
    const keyReason = idempotency === undefined ? undefined : reasons.at(-1);
    const unsure = outcome.status === 'unknown' || outcome.unsure;
    // The head as DynamoDB holds it now (the failed condition returns it), else as last read.
    let current: Head | undefined = conditionFailed(headReason) ? itemOf<Head>(headReason) : known?.head;
    let currentIsFresh = conditionFailed(headReason);
    // While the write may have committed, a read that fails leaves its outcome unknown: not "retry shortly".
    const evidence = <T>(read: Promise<T>): Promise<T> =>
      read.catch((error: unknown) => {
        throw unsure && error instanceof UnavailableError
          ? new WriteOutcomeUnknownError({ cause: error })
          : error;
      });
    const freshHead = async () => {
      if (!currentIsFresh) current = (await evidence(this.readHead(pk))).head;
      currentIsFresh = true;
      return current;
    };

    if (idempotency !== undefined) {
      // The record is part of every attempt, so it settles the write. DynamoDB may report only the first
      // failed condition: a failed head check, or an unsure outcome, looks the key up.
      let record = conditionFailed(keyReason) ? itemOf<IdempotencyRecord>(keyReason) : undefined;
      if (!record && (conditionFailed(headReason) || unsure))
        record = (await evidence(this.readRecord(pk, idempotency.key))).record;
      if (record && this.isLiveRecord(record, known || currentIsFresh ? current : await freshHead())) {
        if (record.op === op.id) {
          const own = {
            ...attempt,
            version: record.version,
            stored: storedMessages(op, record.firstSeq - 1),
          };
          return { done: true, result: applied(conversationId, own, 0) };
        }
        return { done: true, result: await this.replayFrom(pk, conversationId, record, idempotency.hash) };
      }
    } else if (unsure) {
      const verdict = await evidence(this.settle(pk, attempt, await freshHead()));
      if (verdict === 'committed') return { done: true, result: applied(conversationId, attempt, 0) };
      if (verdict === 'unknown') throw new WriteOutcomeUnknownError({ cause: outcome.error });
    }
    if (outcome.status === 'unknown') {
      // Not in the table, but DynamoDB kept failing: a send may still be on its way while the head is
      // where it expects it.
      if (this.stillExpects(attempt, await freshHead())) {
        throw new WriteOutcomeUnknownError({ cause: outcome.error });
      }
      throw new UnavailableError('DynamoDB is throttling or unreachable. Retry shortly.', 1, {
        cause: outcome.error,
      });
    }
    if (!conditionFailed(headReason) && !conditionFailed(keyReason)) {
      throw new StoreFailureError('DynamoDB cancelled the write for an unexpected reason.', {
        cause: outcome.error,
      });
    }
    return {
      done: false,
      current: this.liveVersion(current),
      head: current,
      error: outcome.error,
      capacity: 0,
    };
  }

  /**
   * Whether an attempt that may have committed unseen did, from the table as it is now (strongly consistent):
   * its op id on the head (nobody wrote since), else its first message at its first seq, or for an edit that
   * only removed, its marker. Within one life seqs and versions are never reused, so whatever holds the
   * attempt's first seq (or version) decides. 'unknown' when that evidence is gone: a later edit removed what
   * stood there, or the conversation's life ended.
   */
  private async settle(
    pk: string,
    attempt: Attempt,
    head: Head | undefined,
  ): Promise<'committed' | 'absent' | 'unknown'> {
    if (head?.op === attempt.op.id) return 'committed';
    if (this.stillExpects(attempt, head)) return 'absent';
    if (head === undefined || !this.isLiveHead(head) || this.floorOf(head) > attempt.start) return 'unknown';
    if (head.version < attempt.version) return 'absent';
    const first = attempt.stored[0];
    if (first === undefined) {
      const marker = await this.readItem(pk, keys.removal(attempt.version));
      return marker?.op === attempt.op.id ? 'committed' : 'absent';
    }
    const item = await this.readItem(pk, keys.message(first.seq));
    if (item) return item.msg === JSON.stringify(first) ? 'committed' : 'absent';
    // Nothing at its first seq: an edit that only removed won the base, or what stood there was edited away.
    if (!attempt.restartOver && (await this.readItem(pk, keys.removal(attempt.base + 1)))) return 'absent';
    return 'unknown';
  }

  /** Whether the head is still in the state the attempt's condition expects (the attempt has not landed). */
  private stillExpects(attempt: Attempt, head: Head | undefined): boolean {
    if (attempt.restartOver) {
      return head !== undefined && !this.isLiveHead(head) && head.version === attempt.restartOver.version;
    }
    return attempt.base === 0 ? head === undefined : this.liveVersion(head) === attempt.base;
  }

  private async readItem(pk: string, sk: string): Promise<Record<string, unknown> | undefined> {
    const output = await this.send(() =>
      this.client.send(new GetCommand({ TableName: this.tableName, Key: { pk, sk }, ConsistentRead: true })),
    );
    return output.Item;
  }

  private async readRecord(
    pk: string,
    key: string,
  ): Promise<{ record?: IdempotencyRecord; capacity: number }> {
    const read = await this.send(() =>
      this.client.send(
        new GetCommand({
          TableName: this.tableName,
          Key: { pk, sk: keys.idempotency(key) },
          ConsistentRead: true,
          ReturnConsumedCapacity: 'TOTAL',
        }),
      ),
    );
    return {
      record: read.Item as IdempotencyRecord | undefined,
      capacity: sumCapacity(read.ConsumedCapacity),
    };
  }

  /** The live result of a key, read with the head (a record of a past life of this id is dead). */
  private async findReplay(
    pk: string,
    conversationId: string,
    idempotency: { key: string; hash: string },
  ): Promise<AppendResult | undefined> {
    const [{ record, capacity }, { head, capacity: headCapacity }] = await Promise.all([
      this.readRecord(pk, idempotency.key),
      this.readHead(pk),
    ]);
    if (!record || !this.isLiveRecord(record, head)) return undefined;
    const replay = await this.replayFrom(pk, conversationId, record, idempotency.hash);
    return { ...replay, consumedCapacity: replay.consumedCapacity + capacity + headCapacity };
  }

  /** The original result of a live idempotency record, re-read from the messages it wrote. */
  private async replayFrom(
    pk: string,
    conversationId: string,
    record: IdempotencyRecord,
    hash: string,
  ): Promise<AppendResult> {
    if (record.hash !== hash) throw new IdempotencyKeyReusedError();
    const expected = record.lastSeq - record.firstSeq + 1;
    const range =
      expected > 0
        ? await this.readRange(pk, record.firstSeq, record.lastSeq)
        : { messages: [], capacity: 0 };
    if (range.messages.length !== expected) throw new IdempotentResultGoneError();
    return {
      conversationId,
      version: record.version,
      messages: range.messages,
      replayed: true,
      consumedCapacity: range.capacity,
    };
  }

  /**
   * Deletes the messages and idempotency records of a dead life (seq or version <= floor), page by page, in
   * transactions that each check the tombstone is still the one being cleaned up. False: it is not (a new
   * life has begun over it, or another delete finished), and what is left is not this cleanup's to touch.
   */
  private async removePastLife(
    pk: string,
    floor: number,
    tombstone: { ConditionExpression: string; ExpressionAttributeValues: Record<string, unknown> },
  ): Promise<boolean> {
    let startKey: Record<string, unknown> | undefined;
    do {
      const output = await this.send(() =>
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': pk },
            ProjectionExpression: 'sk, version',
            ConsistentRead: true,
            ExclusiveStartKey: startKey,
          }),
        ),
      );
      const doomed = (output.Items ?? []).filter((item) => {
        const sk = String(item.sk);
        if (sk === keys.head) return false;
        return sk.startsWith(keys.messagePrefix) ? seqOf(sk) <= floor : (item.version as number) <= floor;
      });
      for (let i = 0; i < doomed.length; i += DELETES_PER_TRANSACTION) {
        const outcome = await this.commit({
          TransactItems: [
            { ConditionCheck: { TableName: this.tableName, Key: { pk, sk: keys.head }, ...tombstone } },
            ...doomed
              .slice(i, i + DELETES_PER_TRANSACTION)
              .map((item) => ({ Delete: { TableName: this.tableName, Key: { pk, sk: item.sk } } })),
          ],
        });
        if (outcome.status === 'unknown') throw unfinishedDelete(outcome.error);
        if (outcome.status === 'rejected') return false;
      }
      startKey = output.LastEvaluatedKey;
    } while (startKey);
    return true;
  }

  /**
   * The head write. A live head: a version bump conditioned on `version = base`. None: a Put conditioned on
   * there being none. A dead head: a new life whose floor is the dead version, conditioned on it still
   * being that dead head.
   */
  private headWrite(
    pk: string,
    base: number,
    restartOver: Head | undefined,
    next: { version: number; countDelta: number; rewrite: boolean; op: Operation },
  ): NonNullable<TransactWriteCommandInput['TransactItems']>[number] {
    const { op } = next;
    const nowSec = Math.floor(op.nowMs / 1000);
    const live = op.expiresAt === undefined ? {} : { liveUntil: op.expiresAt };
    if (base === 0) {
      const head: Head & { pk: string; sk: string } = {
        pk,
        sk: keys.head,
        version: next.version,
        messageCount: next.countDelta,
        createdAt: op.createdAt,
        updatedAt: op.createdAt,
        ...(restartOver ? { floor: restartOver.version } : {}),
        ...live,
        op: op.id,
      };
      return {
        Put: {
          TableName: this.tableName,
          Item: head,
          ...(restartOver
            ? {
                ConditionExpression: 'version = :dead AND (deleted = :true OR liveUntil <= :nowSec)',
                ExpressionAttributeValues: { ':dead': restartOver.version, ':true': true, ':nowSec': nowSec },
              }
            : { ConditionExpression: 'attribute_not_exists(pk)' }),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
        },
      };
    }
    return {
      Update: {
        TableName: this.tableName,
        Key: { pk, sk: keys.head },
        // Without retention, REMOVE clears an expiry left from when it was on: it would kill a live head.
        UpdateExpression: `SET version = :version, updatedAt = :now, op = :op${op.expiresAt === undefined ? '' : ', liveUntil = :expiresAt'} ADD messageCount :count${next.rewrite ? ', rewrites :one' : ''}${op.expiresAt === undefined ? ' REMOVE liveUntil' : ''}`,
        ConditionExpression:
          'version = :base AND attribute_not_exists(deleted) AND (attribute_not_exists(liveUntil) OR liveUntil > :nowSec)',
        ExpressionAttributeValues: {
          ':version': next.version,
          ':now': op.createdAt,
          ':op': op.id,
          ':count': next.countDelta,
          ':base': base,
          ':nowSec': nowSec,
          ...(next.rewrite ? { ':one': 1 } : {}),
          ...(op.expiresAt === undefined ? {} : { ':expiresAt': op.expiresAt }),
        },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
      },
    };
  }

  /**
   * Sends a transaction until DynamoDB answers it; a cancellation on a condition is an answer, not an error.
   * The token is a digest of the transaction, so every send of the same transaction (the SDK's retries and
   * these) is one request to DynamoDB, applied at most once. Whether an earlier send may have committed
   * unseen is reported with the answer: a cancellation proves only that the send it answers wrote nothing.
   * The SDK retries inside one call, so a middleware on the command watches each of its sends.
   */
  private async commit(input: TransactWriteCommandInput): Promise<CommitOutcome> {
    const token = createHash('sha256').update(JSON.stringify(input)).digest('base64url').slice(0, 36);
    let unsure = false;
    for (let attempt = 1; ; attempt++) {
      const command = new TransactWriteCommand({ ...input, ClientRequestToken: token });
      let watched = 0;
      command.middlewareStack.add(
        (next) => async (args) => {
          watched++;
          try {
            return await next(args);
          } catch (error) {
            unsure ||= mayHaveCommitted(error);
            throw error;
          }
        },
        { step: 'deserialize', priority: 'high', name: 'agentMemoryWatchSends', override: true },
      );
      try {
        const output = await this.client.send(command);
        return { status: 'committed', capacity: sumCapacity(output.ConsumedCapacity) };
      } catch (error) {
        // Sends the watch did not see (a client that bypasses the command's middleware) count as unsure.
        const sends = (error as { $metadata?: { attempts?: number } }).$metadata?.attempts ?? 1;
        unsure ||= mayHaveCommitted(error) || sends > Math.max(watched, 1);
        if (error instanceof TransactionCanceledException) {
          const reasons = error.CancellationReasons ?? [];
          if (reasons.some(conditionFailed)) return { status: 'rejected', reasons, error, unsure };
        }
        if (!isTransient(error)) throw translate(error);
        if (attempt >= this.maxAttempts) {
          if (unsure) return { status: 'unknown', error };
          throw new UnavailableError('DynamoDB is throttling or unreachable. Retry shortly.', 1, {
            cause: error,
          });
        }
        await this.pause(attempt);
      }
    }
  }

  /**
   * Runs one read (or the delete's idempotent tombstone update), retrying throttling and network failures
   * with jittered backoff. Every error leaves as a MemoryError. Transactions go through commit().
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
    return this.query(
      {
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lower AND :upper',
        ExpressionAttributeValues: { ':pk': pk, ':lower': keys.message(first), ':upper': keys.message(last) },
        ScanIndexForward: true,
      },
      last - first + 1,
      Number.POSITIVE_INFINITY,
    );
  }

  /**
   * The head and the newest messages of its life, from one descending Query (the head sorts first). Items
   * above the head's version (committed after the head was read) are passed over, not counted; the past
   * life below the floor ends the read; no live head ends it at once.
   */
  private async newest(pk: string, limit: number, maxBytes: number) {
    let head: Head | undefined;
    let first = true;
    const page = await this.query(
      {
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': pk, ':prefix': keys.messagePrefix },
        ScanIndexForward: false,
      },
      limit,
      maxBytes,
      (item) => {
        if (first) {
          first = false;
          if (item.sk !== keys.head) return 'stop';
          head = item as unknown as Head;
          return this.isLiveHead(head) ? 'skip' : 'stop';
        }
        const seq = seqOf(String(item.sk));
        if (seq <= this.floorOf(head)) return 'stop';
        return seq > this.liveVersion(head) ? 'skip' : 'take';
      },
      1,
    );
    return { ...page, head };
  }

  /**
   * A strongly consistent Query that collects up to `limit` live messages, following DynamoDB's 1 MB pages
   * and stopping at the byte budget; `accept` may pass items over or end the read. `full` says the page
   * stopped on a limit rather than on the end of what there is.
   */
  private async query(
    input: Pick<
      QueryCommandInput,
      'KeyConditionExpression' | 'ExpressionAttributeValues' | 'ScanIndexForward'
    >,
    limit: number,
    maxBytes: number,
    accept: (item: Record<string, unknown>) => 'take' | 'skip' | 'stop' = () => 'take',
    extra = 0,
  ): Promise<{ messages: StoredMessage[]; full: boolean; capacity: number }> {
    const messages: StoredMessage[] = [];
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
            Limit: limit - messages.length + extra,
            ExclusiveStartKey: startKey,
            ReturnConsumedCapacity: 'TOTAL',
          }),
        ),
      );
      extra = 0;
      capacity += sumCapacity(output.ConsumedCapacity);
      for (const item of output.Items ?? []) {
        const verdict = accept(item);
        if (verdict === 'stop') return { messages, full: false, capacity };
        if (verdict === 'skip' || !this.isLive(item as { expiresAt?: number })) continue;
        const msg = item.msg as string;
        const size = Buffer.byteLength(msg);
        if (messages.length > 0 && bytes + size > maxBytes) return { messages, full: true, capacity };
        bytes += size;
        messages.push(JSON.parse(msg) as StoredMessage);
        if (messages.length === limit) return { messages, full: true, capacity };
      }
      startKey = output.LastEvaluatedKey;
    } while (startKey);
    return { messages, full: false, capacity };
  }

  /** DynamoDB deletes expired items lazily (within days), so reads treat them as gone already. */
  private isLive(item: { expiresAt?: number }): boolean {
    return item.expiresAt === undefined || item.expiresAt > Math.floor(this.now() / 1000);
  }

  private isLiveHead(head: Head | undefined): boolean {
    return head !== undefined && head.deleted !== true && this.isLive({ expiresAt: head.liveUntil });
  }

  private liveVersion(head: Head | undefined): number {
    return head !== undefined && this.isLiveHead(head) ? head.version : 0;
  }

  /** Seqs and records at or below this belong to a past life of the id: all of a dead head's range. */
  private floorOf(head: Head | undefined): number {
    if (head === undefined) return 0;
    return this.isLiveHead(head) ? (head.floor ?? 0) : head.version;
  }

  /** What only an edit, a delete or an expiry changes: equal before and after a read, the read stands. */
  private historyShape(head: Head | undefined): string {
    return `${this.liveVersion(head) > 0}:${this.floorOf(head)}:${head?.rewrites ?? 0}`;
  }

  private isLiveRecord(record: IdempotencyRecord, head: Head | undefined): boolean {
    return this.isLive(record) && record.version > this.floorOf(head);
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

/**
 * The retry budget of one write. A lost race (another writer moved the version) waits a jittered backoff
 * and counts against maxAttempts; a write that only learned the head's true state (a dead head to start a
 * new life over, a dead key record) goes again at once, a few times at most.
 */
class Retries {
  private races = 0;
  private lessons = 0;

  constructor(
    private readonly maxAttempts: number,
    private readonly pause: (attempt: number) => Promise<void>,
  ) {}

  async after(lostRace: boolean, cause: unknown): Promise<void> {
    if (!lostRace) {
      if (++this.lessons > 3)
        throw new StoreFailureError('The conversation head kept changing state.', { cause });
      return;
    }
    if (++this.races >= this.maxAttempts) {
      throw new UnavailableError(
        `The conversation is under heavy concurrent writes; ${this.races} attempts lost the race. Retry shortly.`,
        1,
        { cause },
      );
    }
    await this.pause(this.races);
  }
}

/** The seq of a message item, from its sort key. */
function seqOf(sk: string): number {
  return Number(sk.slice(keys.messagePrefix.length));
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

/** Every step of a delete can be sent again: a delete whose last answer was lost is simply retried. */
function unfinishedDelete(cause: unknown): UnavailableError {
  return new UnavailableError(
    'DynamoDB did not confirm the delete. Retry it: a delete is safe to repeat.',
    1,
    {
      cause,
    },
  );
}

/** The operation's messages as stored after seq `start`: the same items on every attempt but for the seq. */
function storedMessages(op: Operation, start: number): StoredMessage[] {
  return op.messages.map((message, index) => ({
    ...message,
    seq: start + index + 1,
    createdAt: op.createdAt,
  }));
}

/** The result of an attempt that committed (answered now, or found in the table after a lost answer). */
function applied(conversationId: string, attempt: Attempt, consumedCapacity: number): AppendResult {
  return {
    conversationId,
    version: attempt.version,
    messages: attempt.stored,
    replayed: false,
    consumedCapacity,
  };
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

/**
 * Whether the send that got this error may have been applied: unless DynamoDB refused it outright (a client
 * error, a refused connection), its answer may simply have been lost.
 */
function mayHaveCommitted(error: unknown): boolean {
  if (error instanceof DynamoDBServiceException) {
    return error.$fault !== 'client' || error.name === 'TransactionInProgressException';
  }
  return (error as { code?: string }).code !== 'ECONNREFUSED';
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
