import { createHash } from 'node:crypto';
import type { MessageInput } from '../memory/message.js';
import type { ConversationSummary } from '../memory/store-types.js';
import {
  assistantReply,
  type ChatModel,
  type ChatRequest,
  summarySystemText,
  type ToolCall,
} from './chat-model.js';
import { estimateTextTokens, estimateTokens } from './context-policy.js';
import { contentText } from './message-content.js';
import { offeredTools } from './tools.js';

/**
 * A deterministic model for `npm start` and tests: no network, no randomness, no clock. It answers, in this order:
 *
 * 1. When the conversation ends with results for every call of its last tool-calling reply:
 *    `[offline] tool results: weather=18°C, clock=12:00` (names and result texts, in call order).
 * 2. When tools are offered and the newest user message names some of them as words: a reply that calls each
 *    such tool once, in order of appearance, with the message's `key=value` words as arguments (values as
 *    strings, `{}` when there are none), and no text. "use weather city=Paris" calls weather {"city":"Paris"}.
 * 3. Otherwise it says what it was given, e.g. `[offline] history: 4 messages, you said: hello` (with a system
 *    prompt: `[offline] system: "Be brief.", history: ...`; with the conversation's summary, what it covers and
 *    how it begins: `[offline] summary of messages 1-290: "The user said: / - [3] My name is Ada…", history: ...`).
 *
 * Streaming, it reports its text word by word. Its token usage is the context policy's estimate.
 */
export class OfflineModel implements ChatModel {
  constructor(readonly modelId = 'offline') {}

  async reply(request: ChatRequest): Promise<MessageInput> {
    const { system, history, messages } = request;
    const conversation = [...history, ...messages];
    const answered = answeredToolCalls(conversation);
    const toolCalls = answered === undefined ? toolCallsFor(request) : [];
    let content: string;
    if (answered !== undefined) {
      content = `[offline] tool results: ${answered.map(({ name, result }) => `${name}=${result}`).join(', ')}`;
    } else if (toolCalls.length > 0) {
      content = '';
    } else {
      const count = history.length;
      const userText = messages.map((message) => contentText(message.content)).join('\n');
      const parts = [
        ...(system === undefined ? [] : [`system: ${JSON.stringify(system)}`]),
        ...(request.summary === undefined ? [] : [summaryNote(request.summary)]),
        `history: ${count} ${count === 1 ? 'message' : 'messages'}`,
        `you said: ${userText}`,
      ];
      content = `[offline] ${parts.join(', ')}`;
    }

    for (const word of content.match(/\S+\s*/g) ?? []) request.onEvent?.({ type: 'text', text: word });
    for (const toolCall of toolCalls) request.onEvent?.({ type: 'tool_call', toolCall });

    const inputTokens =
      estimateTextTokens(system) +
      (request.summary === undefined ? 0 : estimateTextTokens(summarySystemText(request.summary))) +
      conversation.reduce((sum, message) => sum + estimateTokens(message), 0);
    const outputTokens =
      estimateTextTokens(content) +
      toolCalls.reduce((sum, call) => sum + estimateTextTokens(JSON.stringify(call)), 0);
    return assistantReply({
      content,
      toolCalls,
      stopReason: toolCalls.length > 0 ? 'tool_use' : 'end_turn',
      usage: { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens },
    });
  }
}

/** What the offline model says about a summary: its range and its first 160 characters, lines joined by " / ". */
function summaryNote(summary: ConversationSummary): string {
  const text = summary.text.split('\n').join(' / ');
  const start = text.length > 160 ? `${text.slice(0, 159)}…` : text;
  return `summary of messages ${summary.fromSeq}-${summary.throughSeq}: ${JSON.stringify(start)}`;
}

/**
 * The calls of the last tool-calling assistant message with their results, when only `tool` messages follow
 * it and they answer every call; else undefined.
 */
function answeredToolCalls(
  conversation: readonly MessageInput[],
): Array<{ name: string; result: string }> | undefined {
  const index = conversation.findLastIndex((message) => message.role !== 'tool');
  const caller = conversation[index];
  if (caller?.role !== 'assistant' || !caller.toolCalls?.length) return undefined;
  const results = new Map(
    conversation.slice(index + 1).map((message) => [message.toolCallId, contentText(message.content)]),
  );
  if (!caller.toolCalls.every((call) => results.has(call.id))) return undefined;
  return caller.toolCalls.map((call) => ({ name: call.name, result: results.get(call.id) as string }));
}

/** Calls of the offered tools that the newest user message names, in order of appearance. */
function toolCallsFor(request: ChatRequest): ToolCall[] {
  const tools = offeredTools(request.tools, request.toolChoice);
  const user = [...request.history, ...request.messages].findLast((message) => message.role === 'user');
  if (tools.length === 0 || user === undefined) return [];
  const names = new Set(tools.map((tool) => tool.name));
  const words = contentText(user.content).split(/\s+/);
  const args: Record<string, string> = {};
  for (const word of words) {
    const pair = /^([^=]+)=(.*)$/.exec(word);
    if (pair?.[1] !== undefined) args[pair[1]] = pair[2] ?? '';
  }
  const called = [...new Set(words.map((word) => word.replace(/^[^\w-]+|[^\w-]+$/g, '')))].filter((word) =>
    names.has(word),
  );
  // Ids unique within the conversation and stable for the same input: derived from what precedes the call.
  const basis = JSON.stringify([request.history.at(-1)?.id ?? '', request.messages]);
  return called.map((name, index) => ({
    id: `call_${createHash('sha256').update(`${basis}#${index}`).digest('hex').slice(0, 20)}`,
    name,
    arguments: JSON.stringify(args),
  }));
}
