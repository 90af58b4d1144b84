import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { append } from './append.js';
import { partitionOf } from './arguments.js';
import type { AttachmentStorage } from './attachments/attachment-storage.js';
import { type SweepResult, sweepDueMarkers } from './attachments/markers.js';
import { presentMessages, resolveReferences } from './attachments/presentation.js';
import { createUpload, type UploadRequest, type UploadTicket } from './attachments/uploads.js';
import type { SummaryBasis } from './beside-messages-requests.js';
import { deleteConversation } from './delete.js';
import { replaceSuffix } from './edit.js';
import { findReplay, idempotencyKeyOf } from './idempotency.js';
import { listConversations } from './list.js';
import { getConversation, load } from './load.js';
import { limits, type StoredMessage } from './message.js';
import { patchConversation } from './patch.js';
import type { StoreContext } from './store-context.js';
import type {
  AppendOptions,
  AppendResult,
  AttachmentView,
  ContextOptions,
  ConversationContext,
  ConversationInfo,
  ConversationPage,
  ConversationPatch,
  EditOptions,
  EditResult,
  HistoryPage,
  ListOptions,
  LoadOptions,
  PatchOptions,
  PatchResult,
} from './store-types.js';
import {
  loadContext,
  readSummaryState,
  type SummaryDraft,
  type SummaryOutcome,
  type SummaryState,
  storeSummary,
} from './summaries.js';
import { TableClient } from './table-client.js';

/** Large content in S3: where, and from what size. */
export interface AttachmentOptions {
  /** The bucket (./attachments/s3-attachment-storage.ts: `new S3AttachmentStorage(storeS3Client(), bucket)`). */
  readonly storage: AttachmentStorage;
  /**
   * A content part (or a message's string content) whose JSON is over this many bytes goes to S3.
   * @default 65536 (64 KiB)
   */
  readonly thresholdBytes?: number;
  /** How long presigned URLs (reads and uploads) stay valid. @default 900 (15 minutes) */
  readonly urlExpiresSeconds?: number;
  /**
   * How long a write may take from its uploads to its commit; after that a sweep deletes what it uploaded and it
   * can no longer commit. Longer than any request (Lambda runs at most 15 minutes). @default 1800
   */
  readonly pendingGraceSeconds?: number;
}

/** 64 KiB: see README, "Large content". */
export const defaultAttachmentThresholdBytes = 64 * 1024;

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
  /**
   * Large content parts in S3, so that a message is not limited by its item (256 KiB) but by the request.
   * @default undefined (every message whole in its item, at most 256 KiB of JSON)
   */
  readonly attachments?: AttachmentOptions;
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
 * Summaries (./summaries.ts): one `MSG#SUMMARY` item per conversation, between the head and the messages, so
 * a turn's context (summary and newest messages) is still one Query; storing one is conditional on the life and
 * edits it was made on, and on the summary it replaces.
 *
 * Conversations as a resource: the head also holds the title and metadata (./patch.ts changes them) and, while
 * the conversation lives, the keys of the tenant's listing, two keys-only indexes read by ./list.ts.
 *
 * One file per operation: ./append.ts, ./edit.ts, ./load.ts (and getConversation), ./delete.ts,
 * ./idempotency.ts, ./summaries.ts, ./patch.ts, ./list.ts; the head's life rules in ./head.ts, every condition and
 * expression in ./requests.ts, and the one door to DynamoDB, with its retries and error translation, in
 * ./table-client.ts.
 */
export class ConversationStore {
  readonly tableName: string;
  /** The largest message `append` takes (bytes of JSON): one item's worth, or with attachments one request's. */
  readonly messageLimitBytes: number;
  private readonly context: StoreContext;

  constructor(options: ConversationStoreOptions) {
    const { ttlSeconds } = options;
    if (ttlSeconds !== undefined && !(Number.isInteger(ttlSeconds) && ttlSeconds > 0)) {
      throw new RangeError(`ttlSeconds must be a positive integer, got ${ttlSeconds}`);
    }
    this.tableName = options.tableName;
    const attachments = options.attachments;
    const thresholdBytes = attachments?.thresholdBytes ?? defaultAttachmentThresholdBytes;
    if (
      !(Number.isInteger(thresholdBytes) && thresholdBytes >= 1024 && thresholdBytes <= limits.messageBytes)
    ) {
      throw new RangeError(
        `attachments.thresholdBytes must be an integer from 1024 to ${limits.messageBytes}, got ${thresholdBytes}`,
      );
    }
    this.messageLimitBytes = attachments ? limits.contentRequestBytes : limits.messageBytes;
    this.context = {
      table: new TableClient(options.client, options.tableName),
      ttlSeconds,
      now: options.now ?? Date.now,
      maxAttempts: options.maxAttempts ?? 10,
      backoff: options.backoff ?? { baseMs: 10, capMs: 400 },
      attachments: attachments && {
        storage: attachments.storage,
        thresholdBytes,
        urlExpiresSeconds: attachments.urlExpiresSeconds ?? 900,
        pendingGraceSeconds: attachments.pendingGraceSeconds ?? 1800,
      },
    };
  }

  /** The bucket of the attachments, if the store has them. */
  get attachmentBucket(): string | undefined {
    return this.context.attachments?.storage.bucket;
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
    options: EditOptions = {},
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
    view: AttachmentView = 'inline',
  ): Promise<AppendResult | undefined> {
    const pk = partitionOf(tenant, conversationId);
    const key = idempotencyKeyOf({ idempotencyKey, idempotencyFingerprint: fingerprint }, () => fingerprint);
    const replay = key ? await findReplay(this.context, pk, conversationId, key) : undefined;
    if (replay === undefined) return undefined;
    const where = { tenant, conversationId };
    return { ...replay, messages: await presentMessages(this.context, where, replay.messages, view) };
  }

  /**
   * Hands out a presigned upload for a file too large for a request (a 20 MB PDF): PUT its bytes to `url` with
   * `headers`, then reference `uploadId` in a message (`{"type": "attachment", "attachment": {"uploadId"}}`),
   * whose commit checks the object is there with the declared size and type.
   */
  createUpload(tenant: string, conversationId: string, upload: UploadRequest): Promise<UploadTicket> {
    return createUpload(this.context, tenant, conversationId, upload);
  }

  /**
   * The values behind attachment parts this store gave out for this conversation, put back (for a model: a turn
   * selects its history on references, then resolves only what it sends). Uploads of at most `uploadDataBytes`
   * get their bytes as `attachment.data` (base64).
   */
  resolveAttachments(
    tenant: string,
    conversationId: string,
    messages: readonly StoredMessage[],
    options: { readonly uploadDataBytes?: number } = {},
  ): Promise<StoredMessage[]> {
    partitionOf(tenant, conversationId);
    return resolveReferences(
      this.context,
      { tenant, conversationId },
      messages,
      options.uploadDataBytes ?? 0,
    );
  }

  /**
   * Deletes the S3 objects of writes that never committed (past their grace) and of messages that were removed
   * but whose objects were not deleted yet (a crash in between): what the stack's scheduled sweep runs.
   */
  sweepAttachments(): Promise<SweepResult> {
    return sweepDueMarkers(this.context);
  }

  load(tenant: string, conversationId: string, options: LoadOptions = {}): Promise<HistoryPage> {
    return load(this.context, tenant, conversationId, options);
  }

  /**
   * What an agent is given: the conversation's valid summary and the newest `limit` messages after it, from one
   * strongly consistent Query. `limit` 0 reads the summary alone.
   */
  loadContext(
    tenant: string,
    conversationId: string,
    options: ContextOptions = {},
  ): Promise<ConversationContext> {
    return loadContext(this.context, tenant, conversationId, options);
  }

  /** A compaction's read: the context a turn would get, and what a new summary is stored on. */
  readSummaryState(
    tenant: string,
    conversationId: string,
    options: ContextOptions = {},
  ): Promise<SummaryState> {
    return readSummaryState(this.context, tenant, conversationId, options);
  }

  /**
   * Stores a summary made from `readSummaryState`'s state, on its `basis`: only if the conversation is still that
   * life with no removing edit since, and its summary item still the one read. Idempotent and exactly-once under
   * lost answers; `stale` or `superseded` store nothing.
   */
  storeSummary(
    tenant: string,
    conversationId: string,
    draft: SummaryDraft,
    basis: SummaryBasis,
  ): Promise<SummaryOutcome> {
    return storeSummary(this.context, tenant, conversationId, draft, basis);
  }

  getConversation(tenant: string, conversationId: string): Promise<ConversationInfo | undefined> {
    return getConversation(this.context, tenant, conversationId);
  }

  /**
   * Changes title and metadata (a JSON merge patch: `metadata` merges, `null` removes), leaving messages and
   * version alone. ConversationNotFoundError for an unknown conversation.
   */
  patchConversation(
    tenant: string,
    conversationId: string,
    patch: ConversationPatch,
    options: PatchOptions = {},
  ): Promise<PatchResult> {
    return patchConversation(this.context, tenant, conversationId, patch, options);
  }

  /**
   * A page of the tenant's live conversations (or of one scope, `prefix: 'user-42:'`), newest activity first to
   * the minute; follow `nextCursor`. Eventually consistent: a new conversation is listed once the index has it.
   */
  listConversations(tenant: string, options: ListOptions = {}): Promise<ConversationPage> {
    return listConversations(this.context, tenant, options);
  }

  /**
   * Deletes the conversation: a tombstone on the head first (the id reads as unknown from then on), then every
   * item of that life, then the head (./delete.ts). Safe to repeat; never touches a newer conversation.
   */
  deleteConversation(tenant: string, conversationId: string): Promise<void> {
    return deleteConversation(this.context, tenant, conversationId);
  }
}
