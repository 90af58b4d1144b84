import type { StoredMessage } from './message.js';
import type { ConversationPatch } from './metadata.js';

export type { ConversationPatch };

/*
 * What the store's methods take and return (ConversationStore, ./conversation-store.ts). Kept apart from the
 * store, which imports the AWS SDK, so that the HTTP client shares these types without its users installing it.
 */

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
  /**
   * How values moved to S3 come back in the result (with attachments configured): `inline` (the messages exactly
   * as sent), `reference` (attachment parts with short-lived URLs), or inline while within a byte budget.
   * @default 'inline'
   */
  readonly attachments?: AttachmentView;
  /**
   * The title of the conversation, if this append starts it (its first write, or the first after a delete or
   * expiry); an append to an existing conversation leaves its title alone (PATCH changes it).
   */
  readonly title?: string;
}

/** An edit's options: an append's, without a title (an edit never starts a titled conversation). */
export type EditOptions = Omit<AppendOptions, 'title'>;

export interface AppendResult {
  readonly conversationId: string;
  readonly version: number;
  readonly messages: StoredMessage[];
  /** True when this is the stored result of an earlier request with the same idempotency key. */
  readonly replayed: boolean;
  /** DynamoDB capacity units this call consumed (reads and writes). */
  readonly consumedCapacity: number;
}

export interface EditResult extends AppendResult {
  /** The messages the edit removed (empty on a replay). */
  readonly removed: StoredMessage[];
}

export interface LoadOptions {
  /** 1-1000. @default 50 */
  readonly limit?: number;
  /** Exclusive upper seq bound. */
  readonly before?: number;
  /** Exclusive lower seq bound; pages go forward (oldest first) when set. */
  readonly after?: number;
  /** How values moved to S3 come back (see AppendOptions.attachments). @default 'inline' */
  readonly attachments?: AttachmentView;
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
  /** When messages were last written (a PATCH does not change it). */
  readonly updatedAt: string;
  readonly expiresAt?: string;
  readonly title?: string;
  readonly metadata?: Record<string, unknown>;
  /** How many PATCHes changed title or metadata (0: none yet); `expectedRevision` of a PATCH. */
  readonly revision: number;
}

export interface PatchOptions {
  /** Change only if the conversation's version (its messages) is this, else VersionConflictError. */
  readonly expectedVersion?: number;
  /** Change only if title and metadata are at this revision, else RevisionConflictError. */
  readonly expectedRevision?: number;
  /** Same key + same patch = the original result, nothing written; shared with the conversation's appends. */
  readonly idempotencyKey?: string;
}

export interface PatchResult extends ConversationInfo {
  /** True when this is the stored result of an earlier PATCH with the same idempotency key. */
  readonly replayed: boolean;
  readonly consumedCapacity: number;
}

export interface ListOptions {
  /** Only conversations whose id starts with this scope: the part of an id before its first ':', and the ':'. */
  readonly prefix?: string;
  /** 1-100. @default 50 */
  readonly limit?: number;
  /** The `nextCursor` of the previous page. */
  readonly cursor?: string;
}

export interface ConversationPage {
  /** Newest activity first (to the minute; within a minute by id, descending). */
  readonly conversations: ConversationInfo[];
  /** The `cursor` of the next page; null when none is left. */
  readonly nextCursor: string | null;
  readonly consumedCapacity: number;
}

// ---- Attachments: values the store keeps in S3 (./attachments/), as reads give them ----

/** Where a value sits in a message: `['content']`, `['content', i]` or `['content', i, ...path in the part]`. */
export type ValuePath = readonly (string | number)[];

/**
 * How bytes become the value again: `utf8` text; `json` (a part, or a string JSON cannot hold as UTF-8);
 * `base64` the bytes re-encoded; `data_url` the record's prefix and the bytes re-encoded; `upload` a file
 * the caller uploaded (no inline form: it is always given by reference).
 */
export type Encoding = 'utf8' | 'json' | 'base64' | 'data_url' | 'upload';

/** How the values moved to S3 come back: all inline, all by reference, or inline while within a byte budget. */
export type AttachmentView = 'inline' | 'reference' | { readonly inlineBudgetBytes: number };

/** The reference to a value in S3, as reads give it. */
export interface AttachmentReference {
  readonly id: string;
  readonly mediaType: string;
  readonly bytes: number;
  readonly sha256?: string;
  readonly filename?: string;
  readonly url: string;
  readonly urlExpiresAt: string;
  readonly restore?: {
    readonly as: 'content' | 'part' | 'field';
    readonly encoding: Exclude<Encoding, 'upload'>;
    readonly part?: unknown;
    readonly path?: ValuePath;
    readonly prefix?: string;
  };
  /** Uploads, for a model: the bytes, base64 (only what a turn resolves for its model). */
  readonly data?: string;
}

/** A conversation's summary: what its messages from `fromSeq` through `throughSeq` said, in a model's words. */
export interface ConversationSummary {
  readonly fromSeq: number;
  readonly throughSeq: number;
  /** How many messages it covers (seqs have gaps after edits). */
  readonly messageCount: number;
  readonly text: string;
  /** When it was made (ISO-8601 UTC). */
  readonly createdAt: string;
  /** The model that wrote it. */
  readonly model: string;
  /** The `throughSeq` of the summary it folded in; 0 when it was made from the messages alone. */
  readonly basedOn: number;
  /** The model's token usage for it, as far as the provider reported it. */
  readonly usage?: {
    readonly inputTokens?: number;
    readonly outputTokens?: number;
    readonly totalTokens?: number;
  };
}

export interface ContextOptions {
  /** The newest messages after the summary to read with it, 0-1000. @default 20 */
  readonly limit?: number;
  /** How values moved to S3 come back (see AppendOptions.attachments). @default 'inline' */
  readonly attachments?: AttachmentView;
}

/** What an agent is given: the conversation's summary and the newest messages after it (one strongly consistent read). */
export interface ConversationContext {
  readonly conversationId: string;
  readonly version: number;
  /** Messages in the conversation (the head's count). */
  readonly messageCount: number;
  /** The summary turns use; undefined when there is none (yet, since an edit removed messages it covered, or in a new life). */
  readonly summary?: ConversationSummary;
  /** The newest `limit` messages after the summary's `throughSeq`, ascending. */
  readonly messages: StoredMessage[];
  readonly consumedCapacity: number;
}
