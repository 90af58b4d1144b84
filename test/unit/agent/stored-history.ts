import type { MessageInput, StoredMessage } from '../../../lambda/memory/message.js';

/** Messages as the store returns them: seq 1..n, ids and a fixed createdAt. */
export function storedHistory(...messages: MessageInput[]): StoredMessage[] {
  return messages.map((message, index) => ({
    ...message,
    id: `msg-${index + 1}`,
    seq: index + 1,
    createdAt: '2025-01-01T00:00:00.000Z',
  }));
}

export const user = (content: MessageInput['content']): MessageInput => ({ role: 'user', content });
export const assistant = (content: string, toolCalls?: MessageInput['toolCalls']): MessageInput => ({
  role: 'assistant',
  content,
  ...(toolCalls ? { toolCalls } : {}),
});
export const toolResult = (toolCallId: string, content: string): MessageInput => ({
  role: 'tool',
  toolCallId,
  content,
});
