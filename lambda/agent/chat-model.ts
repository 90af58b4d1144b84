import type { MessageInput, StoredMessage } from '../memory/message.js';
import type { ConversationSummary } from '../memory/store-types.js';
import type { ToolChoice, ToolDefinition } from './tools.js';

/** A tool call as messages carry it (`toolCalls` of an assistant message). */
export type ToolCall = NonNullable<MessageInput['toolCalls']>[number];

/** What a model reports while it generates, before its reply is complete. */
export type ModelStreamEvent =
  /** Text of the reply, in order: the texts concatenate to the reply's content. */
  | { readonly type: 'text'; readonly text: string }
  /** One tool call of the reply, once its arguments are complete. */
  | { readonly type: 'tool_call'; readonly toolCall: ToolCall };

/** What a model is asked for one reply. */
export interface ChatRequest {
  /** The turn's system prompt, sent before any system or developer message of the history. */
  readonly system?: string;
  /** The summary of the conversation before `history`, if it has one (a provider adds it after `system`). */
  readonly summary?: ConversationSummary;
  /** The selected history, oldest first, as stored. */
  readonly history: readonly StoredMessage[];
  /** The turn's new messages, not stored yet: the user message, or the tool results of a continuation. */
  readonly messages: readonly MessageInput[];
  /** Tools the model may call (the caller runs them). */
  readonly tools?: readonly ToolDefinition[];
  /** @default 'auto' when tools are given */
  readonly toolChoice?: ToolChoice;
  /** Aborted at the turn's deadline; a model stops waiting for its provider when it fires. */
  readonly signal: AbortSignal;
  /**
   * Present when the caller streams: the model reports text and tool calls as it produces them (a provider
   * that can stream uses its streaming API) and still resolves with the whole reply.
   */
  readonly onEvent?: (event: ModelStreamEvent) => void;
}

/**
 * A chat model behind one method. Implementations translate their provider's failures into ModelError or
 * ModelTimeoutError (./model-errors.ts) and put the provider's stop reason and token usage into the reply's
 * `metadata` as `{ stopReason, usage: { inputTokens, outputTokens, totalTokens } }`.
 */
export interface ChatModel {
  /** Reported with every turn (`model` in the response) and stored in the reply's metadata. */
  readonly modelId: string;
  /** The assistant's reply: role `assistant`, text content and/or `toolCalls`. */
  reply(request: ChatRequest): Promise<MessageInput>;
}

/**
 * The summary as the model reads it: a system text after the turn's system prompt, saying what it stands for.
 * Its estimated tokens count against the turn's budget (lambda/agent/run-turn.ts).
 */
export function summarySystemText(summary: ConversationSummary): string {
  const range = `${summary.messageCount} messages, seq ${summary.fromSeq}-${summary.throughSeq}`;
  return `Summary of the earlier conversation (${range}; those messages are not repeated below):\n${summary.text}`;
}

/** The reply metadata every provider fills in. */
export interface ModelReplyMetadata {
  readonly stopReason?: string;
  readonly usage?: TokenUsage;
}

export interface TokenUsage {
  readonly inputTokens?: number;
  readonly outputTokens?: number;
  readonly totalTokens?: number;
}

/**
 * A model's reply as every provider returns it: role `assistant`, its text, its tool calls when it made any,
 * and the provider's stop reason and token usage in `metadata`.
 */
export function assistantReply(reply: {
  readonly content: string;
  readonly toolCalls: readonly ToolCall[];
  readonly stopReason: string | undefined;
  readonly usage: TokenUsage | undefined;
}): MessageInput {
  return {
    role: 'assistant',
    content: reply.content,
    ...(reply.toolCalls.length > 0 ? { toolCalls: [...reply.toolCalls] } : {}),
    metadata: { ...replyMetadata(reply.stopReason, reply.usage) },
  };
}

/** The reply metadata, without the fields a provider did not report (stored JSON has no undefined). */
function replyMetadata(stopReason: string | undefined, usage: TokenUsage | undefined): ModelReplyMetadata {
  const counts = Object.fromEntries(
    Object.entries(usage ?? {}).filter(([, count]) => typeof count === 'number'),
  ) as TokenUsage;
  return {
    ...(stopReason === undefined ? {} : { stopReason }),
    ...(Object.keys(counts).length === 0 ? {} : { usage: counts }),
  };
}
