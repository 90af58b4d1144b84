import type { MessageInput } from '../memory/message.js';
import { type ChatModel, type ChatRequest, replyMetadata } from './chat-model.js';
import { estimateTextTokens, estimateTokens } from './context-policy.js';
import { contentText } from './message-content.js';

/**
 * A deterministic model for `npm start` and tests: no network, no randomness, no clock. Its reply says what
 * it was given, e.g. `[offline] history: 4 messages, you said: hello` (with a system prompt:
 * `[offline] system: "Be brief.", history: ...`); its token usage is the context policy's estimate.
 */
export class OfflineModel implements ChatModel {
  constructor(readonly modelId = 'offline') {}

  async reply({ system, history, message }: ChatRequest): Promise<MessageInput> {
    const count = history.length;
    const parts = [
      ...(system === undefined ? [] : [`system: ${JSON.stringify(system)}`]),
      `history: ${count} ${count === 1 ? 'message' : 'messages'}`,
      `you said: ${contentText(message.content)}`,
    ];
    const content = `[offline] ${parts.join(', ')}`;
    const inputTokens =
      estimateTextTokens(system) +
      history.reduce((sum, stored) => sum + estimateTokens(stored), 0) +
      estimateTokens(message);
    const outputTokens = estimateTextTokens(content);
    return {
      role: 'assistant',
      content,
      metadata: {
        ...replyMetadata('end_turn', { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens }),
      },
    };
  }
}
