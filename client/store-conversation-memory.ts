import type { ConversationStore } from '../lambda/memory/conversation-store.js';
import { errorStatus } from '../lambda/memory/error-codes.js';
import { MemoryError, UnavailableError } from '../lambda/memory/errors.js';
import { listConversations } from './conversation-listing.js';
import type * as memory from './conversation-memory.js';
import { AbortedError, typedError } from './errors.js';
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
export class StoreConversationMemory implements memory.ConversationMemory {
  private readonly store: ConversationStore;
  private readonly tenant: string;

  constructor(options: StoreConversationMemoryOptions) {
    this.store = options.store;
    this.tenant = options.tenant;
  }

  append(
    conversationId: string,
    messages: readonly memory.Message[],
    options: memory.AppendOptions = {},
  ): Promise<memory.AppendResult> {
    return this.withoutCapacity(options.signal, () =>
      this.store.append(this.tenant, conversationId, messages, {
        ...writeOptions(options),
        ...(options.title === undefined ? {} : { title: options.title }),
      }),
    );
  }

  load(conversationId: string, options: memory.PageOptions = {}): Promise<memory.HistoryPage> {
    const { signal, ...page } = options;
    return this.withoutCapacity(signal, () => this.store.load(this.tenant, conversationId, page));
  }

  loadRecent(
    conversationId: string,
    limit: number,
    options: { signal?: AbortSignal } = {},
  ): Promise<memory.HistorySnapshot> {
    return readHistorySnapshot(
      conversationId,
      (page) => this.load(conversationId, { ...page, ...options }),
      limit,
    );
  }

  loadAll(conversationId: string, options: { signal?: AbortSignal } = {}): Promise<memory.HistorySnapshot> {
    return readHistorySnapshot(
      conversationId,
      (page) => this.load(conversationId, { ...page, ...options }),
      undefined,
    );
  }

  loadContext(
    conversationId: string,
    limit: number,
    options: { signal?: AbortSignal } = {},
  ): Promise<memory.ConversationContext> {
    return this.call(options.signal, async () => {
      const {
        consumedCapacity: _,
        messageCount: __,
        ...context
      } = await this.store.loadContext(this.tenant, conversationId, { limit });
      return context;
    });
  }

  replaceSuffix(
    conversationId: string,
    edit: memory.SuffixEdit,
    options: memory.WriteOptions = {},
  ): Promise<memory.EditResult> {
    const { expectedSuffix, replacement } = edit;
    return this.withoutCapacity(options.signal, () =>
      this.store.replaceSuffix(
        this.tenant,
        conversationId,
        { expectedSuffix, replacement },
        writeOptions(options),
      ),
    );
  }

  getConversation(
    conversationId: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<memory.ConversationInfo | undefined> {
    return this.call(options.signal, () => this.store.getConversation(this.tenant, conversationId));
  }

  deleteConversation(conversationId: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    return this.call(options.signal, () => this.store.deleteConversation(this.tenant, conversationId));
  }

  patch(
    conversationId: string,
    patch: memory.ConversationPatch,
    options: memory.PatchOptions = {},
  ): Promise<memory.PatchResult> {
    return this.withoutCapacity(options.signal, () =>
      this.store.patchConversation(this.tenant, conversationId, patch, {
        ...writeOptions(options),
        ...(options.expectedRevision === undefined ? {} : { expectedRevision: options.expectedRevision }),
      }),
    );
  }

  listPage(options: memory.ListPageOptions = {}): Promise<memory.ConversationPage> {
    const { signal, ...page } = options;
    return this.withoutCapacity(signal, () => this.store.listConversations(this.tenant, page));
  }

  list(options: memory.ListOptions = {}): AsyncGenerator<memory.ConversationInfo, void, undefined> {
    return listConversations((page) => this.listPage(page), options);
  }

  /** A store call whose result also carries DynamoDB's consumed capacity, which ConversationMemory leaves out. */
  private async withoutCapacity<T extends { consumedCapacity?: unknown }>(
    signal: AbortSignal | undefined,
    operation: () => Promise<T>,
  ): Promise<Omit<T, 'consumedCapacity'>> {
    const { consumedCapacity: _, ...result } = await this.call(signal, operation);
    return result;
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

function writeOptions(options: memory.WriteOptions): { expectedVersion?: number; idempotencyKey?: string } {
  return {
    ...(options.expectedVersion === undefined ? {} : { expectedVersion: options.expectedVersion }),
    ...(options.idempotencyKey === undefined ? {} : { idempotencyKey: options.idempotencyKey }),
  };
}

/** The store's errors as the client's: the same typed error, status and details as over HTTP. */
export function fromStoreError(error: unknown): unknown {
  if (!(error instanceof MemoryError)) return error;
  return typedError(error.code, {
    message: error.message,
    details: { status: errorStatus[error.code], details: error.details, cause: error },
    ...(error instanceof UnavailableError ? { retryAfterMs: error.retryAfterSeconds * 1000 } : {}),
  });
}
