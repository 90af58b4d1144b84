import { requireTenant } from './arguments.js';
import { listedHeadAttributes, listingQuery } from './beside-messages-requests.js';
import { InvalidRequestError } from './errors.js';
import { conversationInfo, isLiveHead } from './head.js';
import type { IndexQueryRequest } from './requests.js';
import { nowSeconds, type StoreContext } from './store-context.js';
import type { ConversationInfo, ConversationPage, ListOptions } from './store-types.js';
import { type Head, keys, listing, listingKeys } from './table.js';

export const listLimits = { pageSize: 50, maxPageSize: 100 } as const;

/** A scope: the part of an id before its first ':' (not empty), and the ':'. */
const scopePattern = /^[A-Za-z0-9._@-]{1,255}:$/;
/** What a cursor holds: the listing sort key of the last conversation a page looked at. */
const sortKeyPattern = /^\d{10}#[A-Za-z0-9._:@-]{1,256}$/;
/** At most this many rounds of index reads and head reads per page, should conversations have died meanwhile. */
const maxRounds = 3;

/**
 * ConversationStore.listConversations: a page of the tenant's conversations (or a scope's), newest activity
 * first, from the 16 shards of a listing index (./table.ts, `listing`), merged.
 *
 * Each shard is read newest first, a few entries at a time, from below the cursor; the newest entry of all
 * shards is taken until the page is full. The index holds keys only, so the page's heads are then read by key,
 * strongly consistently, in one BatchGetItem: the answer has their exact counts, title and metadata, and an entry
 * whose head has died (deleted or expired) or moved on (written in a later minute: its new entry is above)
 * since the index was written is skipped, so a page never shows a dead conversation or one twice. With
 * retention, the reads start at the oldest minute that can still hold a live conversation: expired ones are
 * never read, but for that one minute's. A page costs the same at 100 conversations and at 100,000.
 */
export async function listConversations(
  store: StoreContext,
  tenant: string,
  options: ListOptions = {},
): Promise<ConversationPage> {
  requireTenant(tenant);
  const { prefix, cursor } = options;
  const limit = options.limit ?? listLimits.pageSize;
  if (!Number.isInteger(limit) || limit < 1 || limit > listLimits.maxPageSize) {
    throw new InvalidRequestError(`limit must be an integer from 1 to ${listLimits.maxPageSize}.`);
  }
  if (prefix !== undefined && !scopePattern.test(prefix)) {
    throw new InvalidRequestError(
      "prefix must be the part of a conversation id before its first ':', with the ':' (e.g. user-42:).",
    );
  }
  const below = cursor === undefined ? undefined : sortKeyOf(cursor);
  const from =
    store.ttlSeconds === undefined
      ? undefined
      : listingKeys.minuteStart(store.now() - store.ttlSeconds * 1000);
  const shards = listingKeys.allShards.map(
    (shard) =>
      new ShardReader(
        store,
        prefix === undefined
          ? listingQuery(listing.index, 'lpk', listingKeys.partition(tenant, shard), { below, from })
          : listingQuery(listing.scopedIndex, 'spk', listingKeys.scopedPartition(tenant, shard, prefix), {
              below,
              from,
            }),
        below,
      ),
  );
  const merge = new NewestFirst(shards, Math.ceil(limit / shards.length) + 1);
  const ids = keys.partition(tenant, '');
  const conversations: ConversationInfo[] = [];
  let capacity = 0;
  let last: string | undefined;
  for (let round = 0; round < maxRounds && conversations.length < limit; round++) {
    const entries = await merge.take(limit - conversations.length);
    if (entries.length === 0) break;
    const heads = await store.table.batchGet(
      entries.map((entry) => ({ pk: entry.pk, sk: keys.head })),
      listedHeadAttributes,
    );
    capacity += heads.capacity;
    const byPartition = new Map(heads.items.map((item) => [String(item.pk), item as unknown as Head]));
    for (const entry of entries) {
      last = entry.lsk;
      const head = byPartition.get(entry.pk);
      if (head === undefined || !isLiveHead(head, nowSeconds(store)) || head.lsk !== entry.lsk) continue;
      // The index partition is the tenant's: this only guards against a bug ever mixing tenants.
      if (!entry.pk.startsWith(ids)) continue;
      conversations.push(conversationInfo(entry.pk.slice(ids.length), head));
    }
  }
  const more = await merge.hasMore();
  capacity += merge.capacity();
  return {
    conversations,
    nextCursor: more && last !== undefined ? Buffer.from(last).toString('base64url') : null,
    consumedCapacity: capacity,
  };
}

function sortKeyOf(cursor: string): string {
  const sortKey = /^[A-Za-z0-9_-]{1,400}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString() : '';
  if (!sortKeyPattern.test(sortKey)) {
    throw new InvalidRequestError("cursor is not a listing's nextCursor.");
  }
  return sortKey;
}

interface Entry {
  readonly pk: string;
  readonly lsk: string;
}

/** One shard of an index, read newest first a few entries at a time. */
class ShardReader {
  readonly buffer: Entry[] = [];
  done = false;
  fills = 0;
  capacity = 0;
  private nextKey: Record<string, unknown> | undefined;

  constructor(
    private readonly store: StoreContext,
    private readonly request: IndexQueryRequest,
    /** The cursor: a query with both bounds returns it too (./requests.ts, listingQuery), and it is dropped. */
    private readonly below: string | undefined,
  ) {}

  async fill(count: number): Promise<void> {
    const page = await this.store.table.query(this.request, { limit: count, startKey: this.nextKey });
    this.fills++;
    this.capacity += page.capacity;
    for (const item of page.items) {
      if (item.lsk !== this.below) this.buffer.push({ pk: String(item.pk), lsk: String(item.lsk) });
    }
    this.nextKey = page.nextKey;
    this.done = page.nextKey === undefined;
  }
}

/** A k-way merge of the shards, newest entry first, reading a shard only when its buffer runs dry. */
class NewestFirst {
  constructor(
    private readonly shards: readonly ShardReader[],
    private readonly chunk: number,
  ) {}

  async take(count: number): Promise<Entry[]> {
    const taken: Entry[] = [];
    while (taken.length < count) {
      // A shard with nothing buffered may still hold the newest entry: read it before choosing. A shard that
      // runs dry again is read in larger chunks: the page's entries are in it.
      const dry = this.shards.filter((shard) => shard.buffer.length === 0 && !shard.done);
      const left = count - taken.length;
      await Promise.all(dry.map((shard) => shard.fill(Math.min(this.chunk * 2 ** shard.fills, left + 1))));
      let newest: ShardReader | undefined;
      for (const shard of this.shards) {
        const head = shard.buffer[0];
        if (head !== undefined && (newest === undefined || head.lsk > (newest.buffer[0] as Entry).lsk)) {
          newest = shard;
        }
      }
      if (newest === undefined) break;
      taken.push(newest.buffer.shift() as Entry);
    }
    return taken;
  }

  /** Whether any entry is left; a shard whose last read filled its limit exactly is asked once more. */
  async hasMore(): Promise<boolean> {
    for (const shard of this.shards) {
      while (shard.buffer.length === 0 && !shard.done) await shard.fill(1);
      if (shard.buffer.length > 0) return true;
    }
    return false;
  }

  capacity(): number {
    return this.shards.reduce((sum, shard) => sum + shard.capacity, 0);
  }
}
