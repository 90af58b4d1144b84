import type { HistoryPage, HistorySnapshot, PageOptions } from './conversation-memory.js';
import { VersionConflictError } from './errors.js';

/** The server's largest page. */
const maxPageSize = 1000;
/** Re-reads when a write lands between the pages of one snapshot. */
const maxAttempts = 5;

/**
 * The newest `limit` messages (every message when `limit` is undefined) as of one version. One request when
 * they fit in a page; otherwise backward pages, each checked to be of the version the first one saw, since a
 * history edit between two pages could otherwise splice two different histories together. A conversation that
 * keeps changing for every attempt is a VersionConflictError.
 */
export async function readHistorySnapshot(
  conversationId: string,
  loadPage: (options: PageOptions) => Promise<HistoryPage>,
  limit: number | undefined,
): Promise<HistorySnapshot> {
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) {
    throw new RangeError(`limit must be an integer >= 0, got ${limit}`);
  }
  if (limit === 0) {
    const { version } = await loadPage({ limit: 1 });
    return { conversationId, version, messages: [] };
  }
  let version = 0;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const pageSize = (collected: number) =>
      Math.min(maxPageSize, limit === undefined ? maxPageSize : limit - collected);
    const first = await loadPage({ limit: pageSize(0) });
    version = first.version;
    let messages = first.messages;
    let before = first.nextBefore;
    let consistent = true;
    while (before !== null && before !== undefined && (limit === undefined || messages.length < limit)) {
      const page = await loadPage({ limit: pageSize(messages.length), before });
      if (page.version !== version) {
        version = page.version;
        consistent = false;
        break;
      }
      messages = [...page.messages, ...messages];
      before = page.nextBefore;
    }
    if (consistent) {
      return { conversationId, version, messages: limit === undefined ? messages : messages.slice(-limit) };
    }
  }
  throw new VersionConflictError(
    version,
    `The conversation changed while its history was read, ${maxAttempts} times in a row.`,
  );
}
