/** Every benchmark message carries exactly this many ASCII bytes of content, in both systems. */
export const CONTENT_BYTES = 200;

const filler = 'The quick brown fox jumps over the lazy dog while the agent keeps notes. '.repeat(4);

/** The content of message number `n` (1-based): numbered, padded to exactly CONTENT_BYTES. */
export function messageContent(n: number): string {
  return `message ${String(n).padStart(7, '0')}: ${filler}`.slice(0, CONTENT_BYTES);
}

export type Role = 'user' | 'assistant';

/** Conversations alternate user and assistant, starting with the user. */
export const roleOf = (n: number): Role => (n % 2 === 1 ? 'user' : 'assistant');

/** Messages `first`..`last` (1-based, inclusive) in the store's input shape. */
export function storeMessages(first: number, last: number): { role: Role; content: string }[] {
  return Array.from({ length: last - first + 1 }, (_, i) => ({
    role: roleOf(first + i),
    content: messageContent(first + i),
  }));
}
