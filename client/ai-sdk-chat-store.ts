import { createHash } from 'node:crypto';
import { type UIMessage, validateUIMessages } from 'ai';
import { summarySystemText } from '../lambda/agent/chat-model.js';
import {
  type Interruption,
  storedFormOf,
  type UIMessageJson,
  type UIMessageSource,
  uiMessagesOf,
  uiRecordOf,
} from '../lambda/chat/ui-message.js';
import { canonicalJson } from '../lambda/memory/canonical-json.js';
import { newMessageId } from '../lambda/memory/message-id.js';
import type {
  AppendResult,
  CallOptions,
  ConversationMemory,
  ConversationSummary,
  Message,
  StoredMessage,
} from './conversation-memory.js';
import { SuffixMismatchError, VersionConflictError } from './errors.js';

export type { Interruption, UIMessageJson, UIMessageSource, UIPart } from '../lambda/chat/ui-message.js';

/*
 * Durable chat history for the Vercel AI SDK (v7): `useChat`'s UIMessage[] in agent-memory, one stored message per
 * UI message (lambda/chat/ui-message.ts has the mapping), saved a turn at a time instead of the whole array.
 *
 *   const chats = new AgentMemoryChatStore({ memory });
 *   const chat = await chats.openChat(id, { limit: 40 });
 *   const messages = [...chat.messages, message];
 *   ... streamText(...) ...
 *   toUIMessageStream({ stream, originalMessages: messages, generateMessageId: chat.generateMessageId,
 *                       onStepEnd: chat.save, onEnd: chat.save });
 */

export interface AgentMemoryChatStoreOptions<UI_MESSAGE extends UIMessage = UIMessage> {
  /** AgentMemoryClient (HTTP) or StoreConversationMemory (in-process). */
  readonly memory: ConversationMemory;
  /**
   * Loaded messages are checked with the AI SDK's validateUIMessages against these (your `tools`, `dataSchemas`,
   * `metadataSchema`); a message that no longer fits them is a TypeValidationError, as the SDK's docs describe.
   * @default no validation
   */
  readonly validate?: Omit<Parameters<typeof validateUIMessages<UI_MESSAGE>>[0], 'messages'>;
  /** Ids of the assistant messages the server writes. @default a ULID (26 characters, sortable) */
  readonly generateMessageId?: () => string;
  /** A save that lost a race builds on the new history and tries again this many times in all. @default 3 */
  readonly maxSaveAttempts?: number;
}

export interface LoadChatOptions extends CallOptions {
  /**
   * Load only the newest `limit` messages: a turn then costs the same at message 10 and 10,000 (what a model needs
   * is a window anyway). @default every message (paged internally), as a page that shows the chat needs
   */
  readonly limit?: number;
  /**
   * "Summary + recent": read the chat's summary (kept by the stack's compactor, or `npm start`'s) with the newest
   * `limit` (default 20) messages after it, in one read; `chat.summary` holds it (give `chat.summaryText` to the
   * model as system text) and `chat.messages` the messages after it. Without a summary yet, the newest messages.
   * @default false
   */
  readonly summary?: boolean;
}

/** What `toUIMessageStream`'s `onEnd` and `onStepEnd` pass (and so `ChatHistory.save` takes). */
export interface ChatSaveEvent<UI_MESSAGE extends UIMessage = UIMessage> {
  /** The history with the response: `originalMessages`, and the response in place of a continued message. */
  readonly messages: readonly UI_MESSAGE[];
  /** The assistant message of this response (a new one, or the continued last message). */
  readonly responseMessage: UI_MESSAGE;
  readonly isContinuation: boolean;
  /** onEnd only: the stream was aborted. */
  readonly isAborted?: boolean;
  /** onEnd only: the consumer cancelled the stream (the client went away) before it ended. */
  readonly isCancelled?: true;
  /** onEnd only: how the stream ended. */
  readonly outcome?: { readonly status: 'completed' | 'failed' | 'aborted' | 'unknown' };
}

/**
 * Chats of the AI SDK in agent-memory: `loadChat` and `openChat` read them (exactly as saved, every part type
 * included), `ChatHistory.save` writes a turn. Messages written by other means (the /turns route, other adapters)
 * read as UI messages too: an assistant message with its tool results and follow-up replies is one UI message.
 */
export class AgentMemoryChatStore<UI_MESSAGE extends UIMessage = UIMessage> {
  private readonly options: AgentMemoryChatStoreOptions<UI_MESSAGE>;

  constructor(options: AgentMemoryChatStoreOptions<UI_MESSAGE>) {
    this.options = options;
  }

  /** The chat's messages, oldest first (the newest `limit` with that option); `[]` for a chat never written. */
  async loadChat(chatId: string, options: LoadChatOptions = {}): Promise<UI_MESSAGE[]> {
    return (await this.openChat(chatId, options)).messages;
  }

  /** The chat's messages, and a save bound to the version they were read at (for a route that runs a turn). */
  async openChat(chatId: string, options: LoadChatOptions = {}): Promise<ChatHistory<UI_MESSAGE>> {
    const { memory, validate } = this.options;
    const { limit, signal } = options;
    const snapshot: { version: number; messages: StoredMessage[]; summary?: ConversationSummary } =
      options.summary
        ? await memory.loadContext(chatId, limit ?? 20, { signal })
        : limit === undefined
          ? await memory.loadAll(chatId, { signal })
          : await memory.loadRecent(chatId, limit, { signal });
    const sources = uiMessagesOf(snapshot.messages);
    let messages = sources.map((source) => source.message) as unknown as UI_MESSAGE[];
    if (validate !== undefined && messages.length > 0) {
      messages = await validateUIMessages<UI_MESSAGE>({ ...validate, messages });
    }
    return new ChatHistory<UI_MESSAGE>({
      chatId,
      memory,
      messages,
      sources,
      version: snapshot.version,
      ...(snapshot.summary === undefined ? {} : { summary: snapshot.summary }),
      generateMessageId: this.options.generateMessageId ?? (() => newMessageId()),
      maxSaveAttempts: this.options.maxSaveAttempts ?? 3,
    });
  }
}

/**
 * A chat as one request read it. `save` (pass it as `onEnd`, and as `onStepEnd` for long multi-step runs) writes
 * what the turn added since, conditional on the version the history was read (or last saved) at:
 *
 * - New messages (those after the last message this history knows, in `event.messages`) are appended: usually the
 *   user's message and the reply. An assistant reply without any part yet is not stored.
 * - The response message, when it is the chat's last message already (a continuation: a tool approval or a client
 *   tool result; or an earlier onStepEnd of this turn), is replaced in place by a history edit conditioned on the
 *   stored message: one assistant message with that id, never two.
 * - A reply that ended early (`isAborted`, a failed or cancelled stream) is stored as far as it got, marked
 *   `metadata.aiSdk.interrupted` in the store (`interruption(id)` reads it); the next turn sees it.
 * - Nothing else is ever rewritten: older messages of `event.messages` are not compared, so a client's stale or
 *   altered copy of them changes nothing. (Pass `[...chat.messages, message]` as `originalMessages`; given a copy
 *   that holds none of the messages read here, a save takes the messages from its last user message on as new.)
 * - Another tab or request saved meanwhile (the write finds another version): when it only added messages, this
 *   save lands after them (reloading the chat's end to check); when it changed what this save builds on (the
 *   message being continued is no longer the last one, or a message this history read was edited or deleted),
 *   nothing is written and `save` throws VersionConflictError: reload the chat and run the turn again.
 * - Every write has an Idempotency-Key derived from its content and base version, so a retried save (after a
 *   lost answer, a timeout, a crash) changes nothing the second time.
 *
 * Saves of one history run one after the other.
 */
export class ChatHistory<UI_MESSAGE extends UIMessage = UIMessage> {
  readonly chatId: string;
  /** The messages as read (and validated), oldest first. */
  readonly messages: UI_MESSAGE[];
  /** Ids for assistant messages: pass as toUIMessageStream's `generateMessageId`. */
  readonly generateMessageId: () => string;
  /** With `openChat(id, { summary: true })`: the summary of the messages before `messages`, if there is one. */
  readonly summary: ConversationSummary | undefined;
  private readonly memory: ConversationMemory;
  private readonly maxSaveAttempts: number;
  /** What this history knows of the chat's end: the UI messages read or saved, with their stored messages. */
  private tail: UIMessageSource[];
  private known: Set<string>;
  private currentVersion: number;
  private saving: Promise<void> = Promise.resolve();

  constructor(init: {
    chatId: string;
    memory: ConversationMemory;
    messages: UI_MESSAGE[];
    sources: UIMessageSource[];
    version: number;
    summary?: ConversationSummary;
    generateMessageId: () => string;
    maxSaveAttempts: number;
  }) {
    this.chatId = init.chatId;
    this.summary = init.summary;
    this.memory = init.memory;
    this.messages = init.messages;
    this.tail = init.sources;
    this.known = new Set(init.sources.map((source) => source.message.id));
    this.currentVersion = init.version;
    this.generateMessageId = init.generateMessageId;
    this.maxSaveAttempts = init.maxSaveAttempts;
  }

  /** The summary as the model should read it (system text: what it covers, then its text); undefined without one. */
  get summaryText(): string | undefined {
    return this.summary === undefined ? undefined : summarySystemText(this.summary);
  }

  /** The chat's version as last read or saved here. */
  get version(): number {
    return this.currentVersion;
  }

  /**
   * The messages with the request's new message: appended, or, when it is the last message again (a continuation:
   * the browser's copy of it, with its tool outputs or approvals), in its place. Pass the result as
   * `originalMessages`: the response then continues that message, and `save` replaces it in place.
   */
  messagesWith(message: UI_MESSAGE): UI_MESSAGE[] {
    const last = this.messages.at(-1);
    return last?.id === message.id && last.role === message.role
      ? [...this.messages.slice(0, -1), message]
      : [...this.messages, message];
  }

  /** Why the message was stored before it was complete, if it was (`aborted`, `failed`, `cancelled`). */
  interruption(messageId: string): Interruption | undefined {
    const source = this.tail.find((candidate) => candidate.message.id === messageId);
    return source?.stored.length === 1
      ? uiRecordOf(source.stored[0] as StoredMessage)?.interrupted
      : undefined;
  }

  /** Writes what the turn added (see the class comment). An arrow function: pass it as it is. */
  readonly save = (event: ChatSaveEvent<UI_MESSAGE>): Promise<void> => {
    const run = this.saving.then(() => this.write(event));
    this.saving = run.catch(() => undefined);
    return run;
  };

  private async write(event: ChatSaveEvent<UI_MESSAGE>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const plan = this.plan(event);
      if (plan === undefined) return;
      const options = { expectedVersion: this.currentVersion, idempotencyKey: this.keyOf(plan) };
      try {
        const result =
          plan.replaced === undefined
            ? await this.memory.append(this.chatId, plan.messages, options)
            : await this.memory.replaceSuffix(
                this.chatId,
                { expectedSuffix: plan.replaced.stored.map(asExpected), replacement: plan.messages },
                options,
              );
        this.advance(plan, result);
        return;
      } catch (error) {
        const lostRace = error instanceof VersionConflictError || error instanceof SuffixMismatchError;
        if (!lostRace || attempt >= this.maxSaveAttempts) throw error;
        await this.catchUp(plan);
      }
    }
  }

  /** What to write for this event, against what this history knows; undefined when nothing is new. */
  private plan(event: ChatSaveEvent<UI_MESSAGE>): SavePlan | undefined {
    const messages = event.messages as readonly UIMessageJson[];
    const response = event.responseMessage as UIMessageJson;
    const interrupted = interruptionOf(event);
    const form = (message: UIMessageJson): Message =>
      storedFormOf(message, message.id === response.id && interrupted ? { interrupted } : {});
    const known = messages.findLastIndex((message) => this.known.has(message.id));
    // None known in a chat that has messages: a copy from elsewhere (not `[...chat.messages, message]`). A turn
    // adds a user message and its reply, so only the messages from the last user message on are new.
    const anchor =
      known >= 0 || this.tail.length === 0
        ? known
        : messages.findLastIndex((message) => message.role === 'user') - 1;
    const fresh = messages
      .slice(anchor + 1)
      .filter((message) => !(message.role === 'assistant' && message.parts.length === 0))
      .map(form);
    const last = this.tail.at(-1);
    const continued = messages[anchor];
    const replaced =
      continued !== undefined &&
      continued.id === response.id &&
      continued.id === last?.message.id &&
      !sameStored(form(continued), last.stored)
        ? last
        : undefined;
    if (replaced === undefined && fresh.length === 0) return undefined;
    return {
      replaced,
      messages: [...(replaced === undefined ? [] : [form(continued as UIMessageJson)]), ...fresh],
    };
  }

  /** Derived from what is written and where, so a retry of the same save is the same request. */
  private keyOf(plan: SavePlan): string {
    const content = canonicalJson({
      chatId: this.chatId,
      base: this.currentVersion,
      replaced: plan.replaced?.stored.map((message) => message.id) ?? [],
      messages: plan.messages,
    });
    return `ai-sdk:${createHash('sha256').update(content).digest('base64url')}`;
  }

  private advance(plan: SavePlan, result: AppendResult): void {
    const written = uiMessagesOf(result.messages);
    this.tail = [...(plan.replaced === undefined ? this.tail : this.tail.slice(0, -1)), ...written];
    for (const source of written) this.known.add(source.message.id);
    this.currentVersion = result.version;
  }

  /**
   * After a lost race: reads the chat's end again. The save goes on when the other writer only added messages
   * after what this history knows (it then lands after them; its own messages, if an earlier attempt stored them,
   * are known now and not written twice); otherwise VersionConflictError.
   */
  private async catchUp(plan: SavePlan): Promise<void> {
    const current = await this.memory.loadRecent(this.chatId, catchUpWindow);
    const sources = uiMessagesOf(current.messages);
    const anchor = this.tail.at(-1);
    const at =
      anchor === undefined
        ? -1
        : sources.findIndex(
            (source) => source.message.id === anchor.message.id && sameSources(source.stored, anchor.stored),
          );
    const moved = anchor !== undefined && at < 0;
    // A continuation replaces the chat's last message: messages after it make that impossible.
    const overtaken = plan.replaced !== undefined && at !== sources.length - 1;
    const ownWrite = plan.messages.every((message) =>
      sources.some((source) => source.message.id === message.id && sameStored(message, source.stored)),
    );
    if ((moved || overtaken) && !ownWrite) {
      throw new VersionConflictError(
        current.version,
        'The chat changed under this save (a message it builds on was edited, deleted or answered since it was ' +
          'read): nothing was written. Reload the chat and run the turn again.',
      );
    }
    this.tail = sources;
    this.known = new Set([...this.known, ...sources.map((source) => source.message.id)]);
    this.currentVersion = current.version;
  }
}

/** How far back a save that lost a race looks for what it builds on. */
const catchUpWindow = 100;

interface SavePlan {
  /** The chat's last message (as stored), replaced by the first of `messages`; none: `messages` are appended. */
  readonly replaced: UIMessageSource | undefined;
  readonly messages: Message[];
}

function interruptionOf(event: ChatSaveEvent<UIMessage>): Interruption | undefined {
  if (event.outcome?.status === 'failed') return 'failed';
  if (event.isAborted === true || event.outcome?.status === 'aborted') return 'aborted';
  if (event.isCancelled === true) return 'cancelled';
  return undefined;
}

/** A stored message as an edit's expected suffix names it: exactly as stored, id included. */
function asExpected(message: StoredMessage): Message {
  const { seq: _seq, createdAt: _createdAt, ...stored } = message;
  return stored;
}

/** Whether `message` is what is stored (one stored message, equal as JSON values). */
function sameStored(message: Message, stored: readonly StoredMessage[]): boolean {
  return (
    stored.length === 1 && canonicalJson(message) === canonicalJson(asExpected(stored[0] as StoredMessage))
  );
}

function sameSources(a: readonly StoredMessage[], b: readonly StoredMessage[]): boolean {
  return canonicalJson(a.map(asExpected)) === canonicalJson(b.map(asExpected));
}
