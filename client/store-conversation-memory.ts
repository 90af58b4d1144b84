import type { ConversationStore } from '../lambda/memory/conversation-store.js';
import { MemoryError } from '../lambda/memory/errors.js';
import type {
  AppendResult,
  ConversationInfo,
  ConversationMemory,
  EditResult,
  HistoryPage,
  HistorySnapshot,
  Message,
  PageOptions,
  SuffixEdit,
  WriteOptions,
} from './conversation-memory.js';
import {
  AbortedError,
  type AgentMemoryError,
  IdempotencyKeyReusedError,
  InternalServerError,
  InvalidRequestError,
  PayloadTooLargeError,
  SuffixMismatchError,
  UnavailableError,
  VersionConflictError,
} from './errors.js';
import { readHistorySnapshot } from './history-snapshot.js';

export interface StoreConversationMemoryOptions {
  /** The store on the conversation table (build it once, at module scope). */
  readonly store: ConversationStore;
  /**
   * Whose conversations these are. The HTTP API takes the tenant from the authorizer; here it is fixed by the
   * code that holds the table grants, so give each end user's data its own tenant or conversation ids.
   */
  readonly tenant: string;
}

/**
 * ConversationMemory on the DynamoDB table directly, for code that runs with the construct's grants (your own
 * Lambda): no HTTP hop, same semantics and the same typed errors as AgentMemoryClient. The store retries
 * throttling and lost races itself; an AbortSignal is checked before each call only (a DynamoDB call in flight
 * is not interrupted).
 */
export class StoreConversationMemory implements ConversationMemory {
  private readonly store: ConversationStore;
  private readonly tenant: string;

  constructor(options: StoreConversationMemoryOptions) {
    this.store = options.store;
    this.tenant = options.tenant;
  }

  append(
    conversationId: string,
    messages: readonly Message[],
    options: WriteOptions = {},
  ): Promise<AppendResult> {
    return this.call(options.signal, async () => {
      const { consumedCapacity: _, ...result } = await this.store.append(
        this.tenant,
        conversationId,
        messages,
        {
          ...writeOptions(options),
        },
      );
      return result;
    });
  }

  load(conversationId: string, options: PageOptions = {}): Promise<HistoryPage> {
    const { signal, ...page } = options;
    return this.call(signal, async () => {
      const { consumedCapacity: _, ...result } = await this.store.load(this.tenant, conversationId, page);
      return result;
    });
  }

  loadRecent(
    conversationId: string,
    limit: number,
    options: { signal?: AbortSignal } = {},
  ): Promise<HistorySnapshot> {
    return readHistorySnapshot(
      conversationId,
      (page) => this.load(conversationId, { ...page, ...options }),
      limit,
    );
  }

  loadAll(conversationId: string, options: { signal?: AbortSignal } = {}): Promise<HistorySnapshot> {
    return readHistorySnapshot(
      conversationId,
      (page) => this.load(conversationId, { ...page, ...options }),
      undefined,
    );
  }

  replaceSuffix(conversationId: string, edit: SuffixEdit, options: WriteOptions = {}): Promise<EditResult> {
    return this.call(options.signal, async () => {
      const { consumedCapacity: _, ...result } = await this.store.replaceSuffix(
        this.tenant,
        conversationId,
        { expectedSuffix: edit.expectedSuffix, replacement: edit.replacement },
        writeOptions(options),
      );
      return result;
    });
  }

  getConversation(
    conversationId: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<ConversationInfo | undefined> {
    return this.call(options.signal, () => this.store.getConversation(this.tenant, conversationId));
  }

  deleteConversation(conversationId: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    return this.call(options.signal, () => this.store.deleteConversation(this.tenant, conversationId));
  }

  private async call<T>(signal: AbortSignal | undefined, operation: () => Promise<T>): Promise<T> {
    if (signal?.aborted) throw new AbortedError('The call was aborted.', { cause: signal.reason });
    try {
      return await operation();
    } catch (error) {
      throw fromStoreError(error);
    }
  }
}

function writeOptions(options: WriteOptions): { expectedVersion?: number; idempotencyKey?: string } {
  return {
    ...(options.expectedVersion === undefined ? {} : { expectedVersion: options.expectedVersion }),
    ...(options.idempotencyKey === undefined ? {} : { idempotencyKey: options.idempotencyKey }),
  };
}

/** The store's domain errors as the client's, so adapters handle one set of errors whatever the transport. */
export function fromStoreError(error: unknown): unknown {
  if (!(error instanceof MemoryError)) return error;
  const details = { status: 0, cause: error };
  const withStatus = (status: number) => ({ ...details, status });
  const converted: AgentMemoryError = (() => {
    switch (error.code) {
      case 'invalid_request':
        return new InvalidRequestError(error.message, withStatus(400));
      case 'payload_too_large':
        return new PayloadTooLargeError(error.message, withStatus(413));
      case 'version_conflict':
        return new VersionConflictError(
          (error as MemoryError & { currentVersion: number }).currentVersion,
          error.message,
          withStatus(409),
        );
      case 'suffix_mismatch':
        return new SuffixMismatchError(
          (error as MemoryError & { currentVersion: number }).currentVersion,
          error.message,
          withStatus(409),
        );
      case 'idempotency_key_reused':
        return new IdempotencyKeyReusedError(error.message, withStatus(422));
      case 'unavailable':
        return new UnavailableError(
          error.message,
          ((error as MemoryError & { retryAfterSeconds?: number }).retryAfterSeconds ?? 1) * 1000,
          withStatus(503),
        );
      default:
        return new InternalServerError(error.message, withStatus(500));
    }
  })();
  return converted;
}
