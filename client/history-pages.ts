import type { HistoryPage, PageOptions } from './conversation-memory.js';

export interface PageIterationOptions extends PageOptions {
  /**
   * `backward`: newest page first, following `nextBefore`. `forward`: oldest page first (from `after`, default
   * 0), following `nextAfter`. @default 'backward', or 'forward' when `after` is given
   */
  readonly direction?: 'backward' | 'forward';
}

/**
 * Every page of a conversation, one request per page, until the server says none is left. Pages are read
 * lazily: each one reflects the conversation when it was requested (see `version` on each page).
 */
export async function* historyPages(
  loadPage: (options: PageOptions) => Promise<HistoryPage>,
  options: PageIterationOptions = {},
): AsyncGenerator<HistoryPage, void, undefined> {
  const { direction, ...pageOptions } = options;
  const forward = direction === 'forward' || (direction === undefined && options.after !== undefined);
  let cursor: PageOptions = forward ? { ...pageOptions, after: options.after ?? 0 } : pageOptions;
  for (;;) {
    const page = await loadPage(cursor);
    yield page;
    const next = forward ? page.nextAfter : page.nextBefore;
    if (next === null || next === undefined) return;
    cursor = forward ? { ...cursor, after: next } : { ...cursor, before: next };
  }
}
