import type { MessageInput, StoredMessage } from '../lambda/memory/message.js';
import type {
  ConversationInfo,
  ConversationPatch,
  ConversationSummary,
  LoadOptions,
  ConversationPage as StoreConversationPage,
  HistoryPage as StoreHistoryPage,
} from '../lambda/memory/store-types.js';

/*
 * The one interface the framework adapters are written against. Two implementations: AgentMemoryClient (the
 * HTTP API) and StoreConversationMemory (the DynamoDB table in-process, for code running with the
 * construct's grants). Both throw the errors of ./errors.ts.
 */

/** A message to append: the contract's input message. */
export type Message = MessageInput;
/** A message as stored: the input exactly, plus `seq`, `id` and `createdAt`. */
export type { StoredMessage };

export interface CallOptions {
  /** Aborts the call (every attempt of it). */
  readonly signal?: AbortSignal;
}

export interface WriteOptions extends CallOptions {
  /** Commit only if the conversation is at this version, else VersionConflictError. Never retried on 409. */
  readonly expectedVersion?: number;
  /**
   * Makes the write replay-safe: the same key with the same request returns the original result and writes
   * nothing; with a different request it is IdempotencyKeyReusedError. The HTTP client makes one per call when
   * none is given (and reuses it across that call's retries).
   */
  readonly idempotencyKey?: string;
}

export interface AppendResult {
  readonly conversationId: string;
  readonly version: number;
  readonly messages: StoredMessage[];
  /** True when this is the stored result of an earlier request with the same idempotency key. */
  readonly replayed: boolean;
}

export interface SuffixEdit {
  /** What the conversation must end with (compared as JSON values, ignoring seq, createdAt and, unless given, id). */
  readonly expectedSuffix: readonly Message[];
  /** What replaces it, with new seqs after the current version. */
  readonly replacement: readonly Message[];
}

export interface EditResult extends AppendResult {
  /** The messages the edit removed (empty on a replay). */
  readonly removed: StoredMessage[];
}

/** One page's bounds, as the store and the API take them. */
export interface PageOptions extends CallOptions, LoadOptions {}

/** A page of history, as the API answers it (the store's page without its capacity accounting). */
export type HistoryPage = Omit<StoreHistoryPage, 'consumedCapacity'>;

/** A consistent view of (the end of) a conversation: every message is from the same version. */
export interface HistorySnapshot {
  readonly conversationId: string;
  readonly version: number;
  /** Ascending by seq. */
  readonly messages: StoredMessage[];
}

/**
 * The head of a conversation, as the API answers it (counts, title, metadata and their revision); a PATCH of its
 * title and metadata; a conversation's summary: what its messages from `fromSeq` through `throughSeq` said.
 */
export type { ConversationInfo, ConversationPatch, ConversationSummary };

/** "Summary + recent": the conversation's summary and the newest messages after it, from one read. */
export interface ConversationContext {
  readonly conversationId: string;
  readonly version: number;
  /** The summary turns use; undefined while there is none (yet, or since an edit removed messages it covered). */
  readonly summary?: ConversationSummary;
  /** The newest messages after the summary's `throughSeq`, ascending. */
  readonly messages: StoredMessage[];
}

export interface AppendOptions extends WriteOptions {
  /** The title of the conversation this append starts (ignored when it exists: `patch` renames it). */
  readonly title?: string;
}

export interface PatchOptions extends WriteOptions {
  /** Change only if title and metadata are at this revision, else RevisionConflictError. */
  readonly expectedRevision?: number;
}

/** A PATCH's answer: the conversation after it. */
export interface PatchResult extends ConversationInfo {
  /** True when this is the stored result of an earlier PATCH with the same idempotency key. */
  readonly replayed: boolean;
}

export interface ListOptions extends CallOptions {
  /** Only one scope's conversations: the part of their ids before the first ':', with the ':' (`user-42:`). */
  readonly prefix?: string;
  /** Conversations per request, 1-100. @default 50 */
  readonly limit?: number;
}

export interface ListPageOptions extends ListOptions {
  /** The `nextCursor` of the previous page. */
  readonly cursor?: string;
}

/** A page of the listing, as the API answers it. */
export type ConversationPage = Omit<StoreConversationPage, 'consumedCapacity'>;

export interface ConversationMemory {
  /** Appends 1-50 messages atomically. */
  append(
    conversationId: string,
    messages: readonly Message[],
    options?: AppendOptions,
  ): Promise<AppendResult>;
  /** One page of history (see the contract's GET .../messages). */
  load(conversationId: string, options?: PageOptions): Promise<HistoryPage>;
  /** The newest `limit` messages (any number, paged as needed), ascending, all of one version. */
  loadRecent(conversationId: string, limit: number, options?: CallOptions): Promise<HistorySnapshot>;
  /** Every message, ascending, all of one version. */
  loadAll(conversationId: string, options?: CallOptions): Promise<HistorySnapshot>;
  /**
   * The conversation's summary and the newest `limit` messages after it (0-1000; 0: the summary alone), from one
   * strongly consistent read: what an agent turn is given, instead of everything.
   */
  loadContext(conversationId: string, limit: number, options?: CallOptions): Promise<ConversationContext>;
  /** Replaces the conversation's ending atomically; SuffixMismatchError (nothing changed) when it ends otherwise. */
  replaceSuffix(conversationId: string, edit: SuffixEdit, options?: WriteOptions): Promise<EditResult>;
  /** The conversation's metadata; undefined when it was never written (or was deleted). */
  getConversation(conversationId: string, options?: CallOptions): Promise<ConversationInfo | undefined>;
  /** Removes every message and idempotency record; succeeds when nothing existed. */
  deleteConversation(conversationId: string, options?: CallOptions): Promise<void>;
  /**
   * Changes title and metadata (a JSON merge patch: `metadata` merges into it, `null` removes), leaving the
   * messages alone. NotFoundError for a conversation that does not exist.
   */
  patch(conversationId: string, patch: ConversationPatch, options?: PatchOptions): Promise<PatchResult>;
  /** One page of the tenant's conversations, newest activity first (to the minute). */
  listPage(options?: ListPageOptions): Promise<ConversationPage>;
  /** Every conversation of the tenant (or of a scope), newest activity first, read a page at a time. */
  list(options?: ListOptions): AsyncGenerator<ConversationInfo, void, undefined>;
}
