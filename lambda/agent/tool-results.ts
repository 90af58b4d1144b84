import { modelMessagesOf } from '../chat/ui-message.js';
import {
  InvalidRequestError,
  NoPendingToolCallsError,
  PayloadTooLargeError,
  ToolResultsMismatchError,
} from '../memory/errors.js';
import { limits, type MessageInput, parseMessages, type StoredMessage } from '../memory/message.js';
import * as z from '../validation/zod.js';
import type { ToolCall } from './chat-model.js';

/*
 * A turn continuation: the caller ran the tools of the reply that ends the conversation and sends their results.
 * They become `tool` messages, committed with the model's next reply on the version that ends with those calls.
 */

export const toolResultSchema = z.strictObject({
  toolCallId: z.string().check(z.minLength(1), z.describe('The `id` of the tool call this answers.')),
  content: z
    .union([z.string(), z.array(z.looseObject({ type: z.string() }))])
    .check(z.describe('The result: text, or content parts as in a message.')),
  isError: z.optional(
    z.boolean().check(z.describe('The tool failed; `content` says how. Stored as `metadata.isError`.')),
  ),
});

export type ToolResult = z.infer<typeof toolResultSchema>;

export const toolResultsSchema = z
  .array(toolResultSchema)
  .check(
    z.minLength(1),
    z.maxLength(limits.messagesPerAppend - 1),
    z.describe(
      'Continues a turn whose reply called tools: one result per tool call of the assistant message that ends ' +
        'the conversation, each id exactly once. Stored as `tool` messages (in this order) with the next reply.',
    ),
  );

/**
 * The tool calls awaiting results: those of the conversation's newest message, when it is an assistant message
 * that called tools (for a UI message: tool parts of its last step without an output). Throws
 * NoPendingToolCallsError otherwise.
 */
export function pendingToolCalls(newest: StoredMessage | undefined, version: number): readonly ToolCall[] {
  const calls = newest === undefined ? undefined : unansweredCalls(newest);
  if (calls === undefined) throw new NoPendingToolCallsError(version);
  return calls;
}

/** Whether a stored reply ends with tool calls that await their results. */
export function awaitsToolResults(reply: MessageInput): boolean {
  return unansweredCalls(reply) !== undefined;
}

function unansweredCalls(message: MessageInput): readonly ToolCall[] | undefined {
  const last = modelMessagesOf([message]).at(-1);
  return last?.role === 'assistant' && last.toolCalls?.length ? last.toolCalls : undefined;
}

/**
 * The results as `tool` messages, in the order given: `{ role: 'tool', toolCallId, name, content }`, plus
 * `metadata: { isError: true }` for a failed tool. Each pending call must be answered exactly once, else
 * ToolResultsMismatchError; each message is checked against the store's limits (400/413) before any model call.
 */
export function toolMessagesOf(
  results: readonly ToolResult[],
  calls: readonly ToolCall[],
  maxMessageBytes?: number,
): MessageInput[] {
  const names = new Map(calls.map((call) => [call.id, call.name]));
  const seen = new Set<string>();
  const duplicate = new Set<string>();
  const unknown: string[] = [];
  for (const { toolCallId } of results) {
    if (seen.has(toolCallId)) duplicate.add(toolCallId);
    seen.add(toolCallId);
    if (!names.has(toolCallId)) unknown.push(toolCallId);
  }
  const missing = calls.map((call) => call.id).filter((id) => !seen.has(id));
  if (missing.length > 0 || unknown.length > 0 || duplicate.size > 0) {
    throw new ToolResultsMismatchError({ missing, unknown, duplicate: [...duplicate] });
  }
  const messages = results.map(
    (result): MessageInput => ({
      role: 'tool',
      toolCallId: result.toolCallId,
      name: names.get(result.toolCallId) as string,
      content: result.content as MessageInput['content'],
      ...(result.isError === true ? { metadata: { isError: true } } : {}),
    }),
  );
  try {
    const options = maxMessageBytes === undefined ? {} : { maxMessageBytes, maxTotalBytes: Infinity };
    return parseMessages(messages, options).map(({ message }) => message);
  } catch (error) {
    // The store names the messages `messages.N`; here they are the request's `toolResults.N`.
    const text = error instanceof Error ? error.message.replace(/^messages\./, 'toolResults.') : '';
    if (error instanceof InvalidRequestError) throw new InvalidRequestError(text, { cause: error });
    if (error instanceof PayloadTooLargeError) throw new PayloadTooLargeError(text, { cause: error });
    throw error;
  }
}
