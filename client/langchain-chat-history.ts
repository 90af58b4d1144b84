import { BaseListChatMessageHistory } from '@langchain/core/chat_history';
import { type BaseMessage, SystemMessage } from '@langchain/core/messages';
import { summarySystemText } from '../lambda/agent/chat-model.js';
import type { ConversationMemory } from './conversation-memory.js';
import { fromStoredMessage, toStoredMessage } from './langchain-messages.js';

export interface AgentMemoryChatMessageHistoryOptions {
  /** AgentMemoryClient (HTTP) or StoreConversationMemory (in-process). */
  readonly memory: ConversationMemory;
  /** The conversation that holds this history. */
  readonly conversationId: string;
  /** Read only the newest this many messages in getMessages. @default every message (20 with `summary`) */
  readonly maxMessages?: number;
  /**
   * "Summary + recent": getMessages returns the conversation's summary (kept by the stack's compactor, or
   * `npm start`'s) as a SystemMessage, then the newest `maxMessages` messages after it, from one read; without a
   * summary yet, the newest messages alone. The stored history is unchanged either way.
   * @default false: the messages only
   */
  readonly summary?: boolean;
}

/**
 * A LangChain chat message history on agent-memory (e.g. for RunnableWithMessageHistory). Tool calls, tool
 * call ids, content parts, names and LangChain's metadata survive the round trip (./langchain-messages.ts).
 */
export class AgentMemoryChatMessageHistory extends BaseListChatMessageHistory {
  lc_namespace = ['langchain', 'stores', 'message', 'agent_memory'];

  private readonly memory: ConversationMemory;
  private readonly conversationId: string;
  private readonly maxMessages: number | undefined;
  private readonly summary: boolean;

  constructor(options: AgentMemoryChatMessageHistoryOptions) {
    super();
    this.memory = options.memory;
    this.conversationId = options.conversationId;
    this.maxMessages = options.maxMessages;
    this.summary = options.summary ?? false;
  }

  async getMessages(): Promise<BaseMessage[]> {
    if (this.summary) {
      const context = await this.memory.loadContext(this.conversationId, this.maxMessages ?? 20);
      const recent = context.messages.map(fromStoredMessage);
      return context.summary === undefined
        ? recent
        : [new SystemMessage(summarySystemText(context.summary)), ...recent];
    }
    const { messages } =
      this.maxMessages === undefined
        ? await this.memory.loadAll(this.conversationId)
        : await this.memory.loadRecent(this.conversationId, this.maxMessages);
    return messages.map(fromStoredMessage);
  }

  async addMessage(message: BaseMessage): Promise<void> {
    await this.addMessages([message]);
  }

  /** One atomic append per 50 messages. */
  override async addMessages(messages: BaseMessage[]): Promise<void> {
    const stored = messages.map(toStoredMessage);
    for (let start = 0; start < stored.length; start += 50) {
      await this.memory.append(this.conversationId, stored.slice(start, start + 50));
    }
  }

  override async clear(): Promise<void> {
    await this.memory.deleteConversation(this.conversationId);
  }
}
