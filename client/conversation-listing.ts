import type {
  ConversationInfo,
  ConversationPage,
  ListOptions,
  ListPageOptions,
} from './conversation-memory.js';

/**
 * Every conversation of a listing, page after page (one request each), following `nextCursor` until it is null:
 * `list()` on either transport. Pages are read lazily, so stopping early reads no more of them.
 */
export async function* listConversations(
  listPage: (options: ListPageOptions) => Promise<ConversationPage>,
  options: ListOptions,
): AsyncGenerator<ConversationInfo, void, undefined> {
  let cursor: string | undefined;
  do {
    const page = await listPage({ ...options, ...(cursor === undefined ? {} : { cursor }) });
    yield* page.conversations;
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
}
