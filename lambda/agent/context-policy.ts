import type { MessageInput, StoredMessage } from '../memory/message.js';

/** Which stored messages a turn gives the model. */
export interface ContextPolicy {
  /** At most this many of the newest messages (1-1000, one store page). @default 20 */
  readonly maxMessages: number;
  /**
   * Estimated tokens for the whole prompt: the system prompt, the new message and the history. The history
   * gets what the other two leave. @default 8000
   */
  readonly maxTokens: number;
}

export const defaultContextPolicy: ContextPolicy = { maxMessages: 20, maxTokens: 8000 };

const CHARS_PER_TOKEN = 4;

export function validateContextPolicy(policy: ContextPolicy): void {
  if (!Number.isInteger(policy.maxMessages) || policy.maxMessages < 1 || policy.maxMessages > 1000) {
    throw new RangeError(`maxMessages must be an integer from 1 to 1000, got ${policy.maxMessages}`);
  }
  if (!Number.isInteger(policy.maxTokens) || policy.maxTokens < 1) {
    throw new RangeError(`maxTokens must be a positive integer, got ${policy.maxTokens}`);
  }
}

/** What a model is charged for one image, roughly (a 1,000 x 1,000 picture); its bytes are not text. */
const IMAGE_TOKENS = 1600;

/**
 * A rough token count (~4 characters per token) of what a provider is sent for a message: its role,
 * content, name and tool calls as JSON. Seq, id, createdAt and metadata are not sent, so not counted. An image
 * (inline, or an attachment part of one) counts as IMAGE_TOKENS; any other attachment part as its text would.
 */
export function estimateTokens(message: MessageInput): number {
  const { role, content, name, toolCalls, toolCallId } = message;
  let media = 0;
  const text =
    typeof content === 'string'
      ? content
      : content.map((part) => {
          const cost = mediaTokens(part);
          if (cost === undefined) return part;
          media += cost;
          return { type: part.type };
        });
  const json = JSON.stringify({ role, content: text, name, toolCalls, toolCallId });
  return Math.ceil(json.length / CHARS_PER_TOKEN) + media;
}

/** Tokens of an image or an attachment part; undefined for a part that is counted as its JSON. */
function mediaTokens(part: Record<string, unknown>): number | undefined {
  const reference =
    part.type === 'attachment' ? (part.attachment as Record<string, unknown> | undefined) : undefined;
  if (reference !== undefined) {
    const mediaType = typeof reference.mediaType === 'string' ? reference.mediaType : '';
    if (mediaType.startsWith('image/')) return IMAGE_TOKENS;
    return Math.ceil((typeof reference.bytes === 'number' ? reference.bytes : 0) / CHARS_PER_TOKEN);
  }
  const url = (part.image_url as { url?: unknown } | undefined)?.url ?? part.image_url ?? part.image;
  if (
    (part.type === 'image_url' || part.type === 'image' || part.type === 'input_image') &&
    typeof url === 'string'
  ) {
    return IMAGE_TOKENS;
  }
  return undefined;
}

export function estimateTextTokens(text: string | undefined): number {
  return text === undefined ? 0 : Math.ceil(text.length / CHARS_PER_TOKEN);
}

/**
 * The newest messages of `history` (ascending by seq) that fit the policy: at most `maxMessages`, and
 * within the token budget left after `reservedTokens`; a message that does not fit ends the window (older
 * messages are not skipped over to fill it). The window never separates a tool result from its call:
 * it does not start on a `tool` message, and when a `tool` message in it answers a call made before it,
 * the window starts after that message. An assistant message with tool calls is always followed by its
 * results, since the window is a suffix of the history.
 */
export function selectContext(
  history: readonly StoredMessage[],
  policy: ContextPolicy,
  reservedTokens = 0,
): StoredMessage[] {
  let start = history.length;
  let budget = policy.maxTokens - reservedTokens;
  while (start > 0 && history.length - start < policy.maxMessages) {
    const cost = estimateTokens(history[start - 1] as StoredMessage);
    if (cost > budget) break;
    budget -= cost;
    start--;
  }
  return history.slice(keepToolPairs(history, start));
}

function keepToolPairs(history: readonly StoredMessage[], start: number): number {
  const callsBefore = new Set<string>();
  for (const message of history.slice(0, start)) {
    for (const call of message.toolCalls ?? []) callsBefore.add(call.id);
  }
  for (let index = start; index < history.length; index++) {
    const message = history[index] as StoredMessage;
    const cut =
      message.role === 'tool' &&
      (index === start || (message.toolCallId !== undefined && callsBefore.has(message.toolCallId)));
    if (!cut) continue;
    // Start after this result; everything skipped over counts as "before" from now on.
    for (const skipped of history.slice(start, index + 1)) {
      for (const call of skipped.toolCalls ?? []) callsBefore.add(call.id);
    }
    start = index + 1;
  }
  return start;
}
