import type { ConversationInfo } from '../../client/conversation-memory.js';

/*
 * The live view polls the conversation's head (GET /v1/conversations/{id}: one strongly consistent GetItem, the
 * cheapest read there is) and fetches messages only when its version moved, forward from the last version shown
 * (`after=<version>`). There is nothing to subscribe to: the API's only stream is the answer to a turn, seen by the
 * client that sent it, and a change feed would be a new service. Appends only add seqs above the version, but an
 * edit removes messages and a delete ends the conversation; the head's messageCount exposes the first, its absence
 * (or a lower version) the second.
 */

/** What the page shows: the version it has read up to, and how many messages the conversation had then. */
export interface ShownState {
  readonly version: number;
  /** Undefined until a head of exactly `version` has been seen. */
  readonly messageCount: number | undefined;
}

export type HeadChange =
  | { readonly kind: 'unchanged'; readonly shown: ShownState }
  | { readonly kind: 'appended' }
  | { readonly kind: 'gone' }
  /** An edit removed shown messages, or the conversation was deleted and written again: reload the newest page. */
  | { readonly kind: 'rewritten'; readonly reason: string };

/** What a polled head means for what is shown. */
export function compareHead(shown: ShownState, head: ConversationInfo | undefined): HeadChange {
  if (head === undefined) return { kind: 'gone' };
  if (head.version < shown.version) {
    return { kind: 'rewritten', reason: 'The conversation was deleted and written again.' };
  }
  if (head.version === shown.version) {
    if (shown.messageCount !== undefined && head.messageCount !== shown.messageCount) {
      return { kind: 'rewritten', reason: 'The history was edited.' };
    }
    return { kind: 'unchanged', shown: { version: head.version, messageCount: head.messageCount } };
  }
  return { kind: 'appended' };
}

/**
 * After the messages above `shown.version` were read (`newMessages`, up to `readVersion`): the new shown state, or
 * `rewritten` when the head (read before them) counts other messages than those: an edit happened in between.
 */
export function afterForwardRead(
  shown: ShownState,
  head: ConversationInfo,
  newMessages: readonly { readonly seq: number }[],
  readVersion: number,
): ShownState | { readonly kind: 'rewritten'; readonly reason: string } {
  if (shown.messageCount !== undefined) {
    const upToHead = newMessages.filter((message) => message.seq <= head.version).length;
    if (shown.messageCount + upToHead !== head.messageCount) {
      return { kind: 'rewritten', reason: 'The history was edited.' };
    }
    return { version: readVersion, messageCount: shown.messageCount + newMessages.length };
  }
  return { version: readVersion, messageCount: undefined };
}
