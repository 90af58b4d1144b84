import { partitionOf, requireSeq } from './arguments.js';
import { loadedMessage, presentMessages } from './attachments/presentation.js';
import { InvalidRequestError, UnavailableError } from './errors.js';
import {
  conversationInfo,
  floorOf,
  historyShape,
  isLive,
  isLiveHead,
  isValidSummary,
  liveVersion,
} from './head.js';
import { limits, type StoredMessage } from './message.js';
import { headKey, newestQuery, type QueryRequest, seqRangeQuery } from './requests.js';
import { nowSeconds, type StoreContext } from './store-context.js';
import type { ConversationInfo, HistoryPage, LoadOptions } from './store-types.js';
import { type Head, keys, type MessageItem, type SummaryItem, seqOf } from './table.js';

/**
 * A page stops before this many UTF-8 bytes of messages. Lambda's response limit is 6 MB of the JSON
 * envelope, in which the body is escaped once more (a quote can grow to four bytes): 1 MiB stays below it.
 */
const MAX_PAGE_BYTES = 1024 * 1024;

/** ConversationStore.load: a page of messages, strongly consistent, never across two lives of the id. */
export async function load(
  store: StoreContext,
  tenant: string,
  conversationId: string,
  options: LoadOptions = {},
): Promise<HistoryPage> {
  const page = await loadStored(store, tenant, conversationId, options);
  const view = options.attachments ?? 'inline';
  return {
    ...page,
    messages: await presentMessages(store, { tenant, conversationId }, page.messages, view),
  };
}

/** The page with messages in stored form (values moved to S3 still `null`, their records beside them). */
async function loadStored(
  store: StoreContext,
  tenant: string,
  conversationId: string,
  options: LoadOptions,
): Promise<HistoryPage> {
  const pk = partitionOf(tenant, conversationId);
  const limit = options.limit ?? limits.pageSize;
  if (!Number.isInteger(limit) || limit < 1 || limit > limits.maxPageSize) {
    throw new InvalidRequestError(`limit must be an integer from 1 to ${limits.maxPageSize}.`);
  }
  if (options.before !== undefined) requireSeq('before', options.before);
  if (options.after !== undefined) requireSeq('after', options.after);
  const { before, after } = options;

  if (before === undefined && after === undefined) {
    // The default window: head and newest messages in one descending Query.
    const page = await newest(store, pk, limit, MAX_PAGE_BYTES);
    const messages = page.messages.reverse();
    const oldest = messages[0]?.seq;
    const nowSec = nowSeconds(store);
    return {
      conversationId,
      version: liveVersion(page.head, nowSec),
      messages,
      nextBefore:
        page.full && oldest !== undefined && oldest > floorOf(page.head, nowSec) + 1 ? oldest : null,
      consumedCapacity: page.capacity,
    };
  }

  // Pages: the head first, so the range is bounded by this life's floor and version; then the head again.
  // Appends only add seqs above the version read, so the page stands unless an edit removed messages or
  // the life ended meanwhile; then it is read again.
  let capacity = 0;
  for (let attempt = 1; ; attempt++) {
    const read = await store.table.get<Head>(headKey(pk));
    const version = liveVersion(read.item, nowSeconds(store));
    const floor = floorOf(read.item, nowSeconds(store));
    const forward = after !== undefined;
    const lower = Math.max(after ?? 0, floor) + 1;
    const upper = Math.min((before ?? Number.MAX_SAFE_INTEGER) - 1, version);
    const empty = upper < lower;
    const page = empty
      ? { messages: [], full: false, capacity: 0 }
      : await queryMessages(store, seqRangeQuery(pk, lower, upper, forward), {
          limit,
          maxBytes: MAX_PAGE_BYTES,
        });
    const check = empty ? read : await store.table.get<Head>(headKey(pk));
    capacity += read.capacity + page.capacity + (check === read ? 0 : check.capacity);
    if (historyShape(check.item, nowSeconds(store)) !== historyShape(read.item, nowSeconds(store))) {
      if (attempt >= 3)
        throw new UnavailableError('The conversation kept being edited during the read. Retry.');
      continue;
    }
    const messages = page.messages;
    if (!forward) {
      messages.reverse();
      const oldest = messages[0]?.seq;
      const more = page.full && oldest !== undefined && oldest > lower;
      return {
        conversationId,
        version,
        messages,
        nextBefore: more ? oldest : null,
        consumedCapacity: capacity,
      };
    }
    const last = messages.at(-1)?.seq;
    const more = page.full && last !== undefined && last < upper;
    return { conversationId, version, messages, nextAfter: more ? last : null, consumedCapacity: capacity };
  }
}

/** ConversationStore.getConversation: the live head's facts, or undefined for an unknown (or dead) id. */
export async function getConversation(
  store: StoreContext,
  tenant: string,
  conversationId: string,
): Promise<ConversationInfo | undefined> {
  const { item: head } = await store.table.get<Head>(headKey(partitionOf(tenant, conversationId)));
  if (head === undefined || !isLiveHead(head, nowSeconds(store))) return undefined;
  return conversationInfo(conversationId, head);
}

/**
 * The head, the summary and the newest messages of its life, from one descending Query (the head sorts first, the
 * summary next). Items above the head's version (committed after the head was read) are passed over, not counted;
 * the past life below the floor ends the read, and so, with `afterSummary`, does a valid summary's last seq (what
 * it covers is not needed); no live head ends it at once.
 */
export async function newest(
  store: StoreContext,
  pk: string,
  limit: number,
  maxBytes: number,
  options: { readonly afterSummary?: boolean } = {},
) {
  let head: Head | undefined;
  let summary: SummaryItem | undefined;
  let stopAt = 0;
  let first = true;
  const page = await queryMessages(store, newestQuery(pk), {
    limit,
    maxBytes,
    leadingItems: 2,
    accept: (item) => {
      const nowSec = nowSeconds(store);
      if (first) {
        first = false;
        if (item.sk !== keys.head) return 'stop';
        head = item as unknown as Head;
        stopAt = floorOf(head, nowSec);
        return isLiveHead(head, nowSec) ? 'skip' : 'stop';
      }
      if (item.sk === keys.summary) {
        summary = item as unknown as SummaryItem;
        if (options.afterSummary && isValidSummary(summary, head, nowSec)) stopAt = summary.throughSeq;
        return 'skip';
      }
      const seq = seqOf(String(item.sk));
      if (seq <= stopAt || limit === 0) return 'stop';
      return seq > liveVersion(head, nowSec) ? 'skip' : 'take';
    },
  });
  return { ...page, head, summary };
}

/** The messages from `first` to `last` seq, as far as they exist. */
export function readRange(store: StoreContext, pk: string, first: number, last: number) {
  return queryMessages(store, seqRangeQuery(pk, first, last, true), {
    limit: last - first + 1,
    maxBytes: Number.POSITIVE_INFINITY,
  });
}

interface MessageQueryOptions {
  readonly limit: number;
  /** A page stops before these many bytes of message JSON (one message at least). */
  readonly maxBytes: number;
  /** The first page starts with this many items that are not messages (the head, the summary): it asks for more. */
  readonly leadingItems?: number;
  /** What to do with each item: take it, pass over it, or end the read. */
  readonly accept?: (item: Record<string, unknown>) => 'take' | 'skip' | 'stop';
}

/**
 * A strongly consistent Query that collects up to `limit` live messages, following DynamoDB's 1 MB pages
 * and stopping at the byte budget. `full` says the page stopped on a limit rather than on the end of what
 * there is.
 */
async function queryMessages(
  store: StoreContext,
  request: QueryRequest,
  options: MessageQueryOptions,
): Promise<{ messages: StoredMessage[]; full: boolean; capacity: number }> {
  const { limit, maxBytes, accept = () => 'take' } = options;
  const messages: StoredMessage[] = [];
  let capacity = 0;
  let bytes = 0;
  let startKey: Record<string, unknown> | undefined;
  let leading = options.leadingItems ?? 0;
  do {
    const page = await store.table.query(request, { limit: limit - messages.length + leading, startKey });
    leading = 0;
    capacity += page.capacity;
    for (const item of page.items) {
      const verdict = accept(item);
      if (verdict === 'stop') return { messages, full: false, capacity };
      if (verdict === 'skip' || !isLive(item as MessageItem, nowSeconds(store))) continue;
      const { msg, att } = item as unknown as MessageItem;
      const size = Buffer.byteLength(msg);
      if (messages.length > 0 && bytes + size > maxBytes) return { messages, full: true, capacity };
      bytes += size;
      messages.push(loadedMessage(msg, att));
      if (messages.length === limit) return { messages, full: true, capacity };
    }
    startKey = page.nextKey;
  } while (startKey && messages.length < limit);
  return { messages, full: false, capacity };
}
