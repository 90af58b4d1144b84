import { createHash, randomUUID } from 'node:crypto';
import type {
  AgentInputItem,
  SessionHistoryTransaction,
  SessionHistoryTransactionArgs,
  SessionHistoryTransactionAwareSession,
} from '@openai/agents';
import type { ConversationMemory, Message, StoredMessage } from './conversation-memory.js';
import { SuffixMismatchError, VersionConflictError } from './errors.js';
import { itemToMessage, messageToItems } from './openai-agents-items.js';

export interface AgentMemorySessionOptions {
  /** AgentMemoryClient (HTTP) or StoreConversationMemory (in-process). */
  readonly memory: ConversationMemory;
  /** The conversation id that holds this session. @default a random UUID */
  readonly sessionId?: string;
  /** Attempts of popItem when another writer changes the end of the conversation meanwhile. @default 3 */
  readonly maxPopAttempts?: number;
}

/**
 * A durable OpenAI Agents SDK session: `run(agent, input, { session })` keeps the conversation in agent-memory,
 * so a later run, in any process, continues it. Each item is one stored message (see ./openai-agents-items.ts),
 * so the same conversation also reads sensibly through the /turns route or LangChain.
 *
 * History transactions (`applyHistoryTransaction`) are one request each, atomic on the server: `append_items`
 * an append, `replace_suffix` a history edit conditioned on the conversation ending with the expected items.
 * The operationId, hashed under an `openai-agents:` prefix, is the request's Idempotency-Key, so applying the
 * same operation twice changes history once, and reusing an operationId for another transaction fails
 * (IdempotencyKeyReusedError) without writing. A transaction holds at most 50 items in all (one request).
 */
export class AgentMemorySession implements SessionHistoryTransactionAwareSession {
  private readonly memory: ConversationMemory;
  private readonly sessionId: string;
  private readonly maxPopAttempts: number;

  constructor(options: AgentMemorySessionOptions) {
    this.memory = options.memory;
    this.sessionId = options.sessionId ?? randomUUID();
    this.maxPopAttempts = options.maxPopAttempts ?? 3;
  }

  async getSessionId(): Promise<string> {
    return this.sessionId;
  }

  /** The newest `limit` items (every item without a limit), oldest first. */
  async getItems(limit?: number): Promise<AgentInputItem[]> {
    if (limit !== undefined && limit <= 0) return [];
    // Every message is at least one item, so `limit` messages hold the newest `limit` items.
    const { messages } =
      limit === undefined
        ? await this.memory.loadAll(this.sessionId)
        : await this.memory.loadRecent(this.sessionId, limit);
    const items = messages.flatMap(messageToItems);
    return limit === undefined ? items : items.slice(-limit);
  }

  /** Appends the items atomically (50 at most per call; larger calls are split into consecutive appends). */
  async addItems(items: AgentInputItem[]): Promise<void> {
    const messages = items.map(itemToMessage);
    for (let start = 0; start < messages.length; start += 50) {
      await this.memory.append(this.sessionId, messages.slice(start, start + 50));
    }
  }

  /**
   * The runner's compaction hook (a model's server-side compaction, or input that carries a compaction item):
   * `items` starts with the compaction item and holds what it keeps. They are appended, not written over the
   * history: the runner reads a session from its newest compaction item on, so the model is given exactly `items`
   * from then on, while every earlier message stays stored and readable (a compaction never replaces a message).
   * Up to 50 items are one atomic append; more are appended 50 at a time, as addItems does.
   */
  async replaceHistoryWithCompaction(items: AgentInputItem[]): Promise<void> {
    if (items[0]?.type !== 'compaction') {
      throw new TypeError('replaceHistoryWithCompaction: the items must start with a compaction item.');
    }
    await this.addItems(items);
  }

  /**
   * Removes the newest message and returns its item: a conditional edit on the version read and on that exact
   * message, so a message appended meanwhile is never the one removed (the pop then retries on the new end).
   */
  async popItem(): Promise<AgentInputItem | undefined> {
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.maxPopAttempts; attempt++) {
      const { version, messages } = await this.memory.loadRecent(this.sessionId, 1);
      const last = messages.at(-1);
      if (last === undefined) return undefined;
      try {
        await this.memory.replaceSuffix(
          this.sessionId,
          { expectedSuffix: [asExpected(last)], replacement: [] },
          { expectedVersion: version },
        );
        return messageToItems(last).at(-1);
      } catch (error) {
        if (!(error instanceof VersionConflictError || error instanceof SuffixMismatchError)) throw error;
        lastError = error;
      }
    }
    throw lastError;
  }

  /** Deletes the conversation: every message and every recorded operation. */
  async clearSession(): Promise<void> {
    await this.memory.deleteConversation(this.sessionId);
  }

  async applyHistoryTransaction(args: SessionHistoryTransactionArgs): Promise<void> {
    const { operationId, transaction } = checkedTransaction(args);
    const idempotencyKey = operationKey(operationId);
    if (transaction.type === 'append_items') {
      if (transaction.items.length === 0) return;
      await this.memory.append(this.sessionId, transaction.items.map(itemToMessage), { idempotencyKey });
      return;
    }
    const expectedSuffix = transaction.expectedSuffix.map(itemToMessage);
    const replacement = transaction.replacement.map(itemToMessage);
    if (expectedSuffix.length + replacement.length === 0) return;
    await this.memory.replaceSuffix(this.sessionId, { expectedSuffix, replacement }, { idempotencyKey });
  }
}

/** The Idempotency-Key of an operation: printable ASCII of bounded length whatever the operationId holds. */
export function operationKey(operationId: string): string {
  return `openai-agents:${createHash('sha256').update(operationId).digest('base64url')}`;
}

/** A stored message as an expected suffix entry: exactly what was stored, its id included. */
function asExpected(message: StoredMessage): Message {
  const { seq: _seq, createdAt: _createdAt, ...stored } = message;
  return stored;
}

function checkedTransaction(args: SessionHistoryTransactionArgs): {
  operationId: string;
  transaction: SessionHistoryTransaction;
} {
  const { operationId, transaction } = args ?? {};
  if (typeof operationId !== 'string' || operationId.trim().length === 0) {
    throw new TypeError('Session history transaction operationId must be a non-empty string.');
  }
  const valid =
    transaction?.type === 'append_items'
      ? Array.isArray(transaction.items)
      : transaction?.type === 'replace_suffix' &&
        Array.isArray(transaction.expectedSuffix) &&
        Array.isArray(transaction.replacement);
  if (!valid) throw new TypeError('Unsupported or malformed session history transaction.');
  return { operationId, transaction };
}
