import type { MessageInput } from '../memory/message.js';
import { argumentsText, contentText } from './message-content.js';

/**
 * Makes a history well-formed for the providers' tool protocols, which both reject a tool call without its
 * result and a result without its call: Bedrock Converse wants every toolUse answered by a toolResult in the
 * next (user) message, chat completions wants the `tool` messages right after the assistant message that
 * called them. Stored histories need not be that tidy (a client may never append a result, or the window
 * may have cut a pair), and a turn must still work, so:
 * - a call without a result among the `tool` messages that directly follow it becomes a text note in its
 *   assistant message (`[tool call lookup({"q":1}) has no result]`);
 * - a `tool` message that answers no call of the assistant message it follows (or repeats an answer)
 *   becomes a user message `[result of tool call <id>] <text>`, placed after the real answers.
 * Well-formed histories pass through unchanged.
 */
export function pairToolMessages(messages: readonly MessageInput[]): MessageInput[] {
  const paired: MessageInput[] = [];
  for (let index = 0; index < messages.length; index++) {
    const message = messages[index] as MessageInput;
    if (message.role === 'tool') {
      paired.push(orphanResult(message));
      continue;
    }
    if (message.role !== 'assistant' || !message.toolCalls?.length) {
      paired.push(message);
      continue;
    }
    const results: MessageInput[] = [];
    while (messages[index + 1]?.role === 'tool') results.push(messages[++index] as MessageInput);
    const resultIds = new Set(results.map((result) => result.toolCallId));
    const answered = message.toolCalls.filter((call) => resultIds.has(call.id));
    const unanswered = message.toolCalls.filter((call) => !resultIds.has(call.id));
    paired.push(unanswered.length === 0 ? message : withNotes(message, answered, unanswered));

    // Answers first: providers want the results right after the call (Anthropic models before any text).
    const callIds = new Set(answered.map((call) => call.id));
    const orphans: MessageInput[] = [];
    for (const result of results) {
      const id = result.toolCallId;
      if (id !== undefined && callIds.delete(id)) paired.push(result);
      else orphans.push(orphanResult(result));
    }
    paired.push(...orphans);
  }
  return paired;
}

type ToolCall = NonNullable<MessageInput['toolCalls']>[number];

function withNotes(message: MessageInput, answered: ToolCall[], unanswered: ToolCall[]): MessageInput {
  const notes = unanswered.map(
    (call) => `[tool call ${call.name}(${argumentsText(call.arguments)}) has no result]`,
  );
  const text = [contentText(message.content), ...notes].filter((line) => line.length > 0).join('\n');
  const { toolCalls: _toolCalls, ...rest } = message;
  return answered.length === 0 ? { ...rest, content: text } : { ...rest, content: text, toolCalls: answered };
}

function orphanResult(message: MessageInput): MessageInput {
  const label =
    message.toolCallId === undefined ? '[tool result]' : `[result of tool call ${message.toolCallId}]`;
  return { role: 'user', content: `${label} ${contentText(message.content)}` };
}
