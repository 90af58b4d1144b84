import { BatchWriteItemCommand, CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { ConversationStore } from '../lambda/memory/conversation-store.js';
import { conversationTableDefinition, type Head, keys, listingAttributes } from '../lambda/memory/table.js';
import { localClientConfig } from '../local/dynamodb-local.js';
import { DynamoDbMeter, type MeteredCall } from './dynamodb-meter.js';
import type { Progress } from './progress.js';
import { type LatencySummary, summarizeLatency } from './stats.js';

/*
 * Part 7: the tenant's conversation listing (GET /v1/conversations) at 100 and 100,000 conversations in one
 * tenant, and what a turn's write pays for the listing's two indexes.
 *
 * The conversations are heads in the shape the store writes (listing keys, title, counts), put with BatchWriteItem
 * because 100,000 appends would take DynamoDB Local many minutes; their last writes are spread over 30 days. The
 * newest 60 are then written by the store's own appends, so the pages measured start with them. A page reads the
 * 16 shards of an index (eventually consistent Queries, keys only) and the page's heads (one strongly consistent
 * BatchGetItem); ReturnConsumedCapacity=INDEXES splits what DynamoDB Local reports between the table and the
 * indexes.
 */

export interface ListingCostOptions {
  readonly endpoint: string;
  /** Conversations in the tenant, one tenant per size. */
  readonly sizes: readonly number[];
  /** Measured reads of each page. */
  readonly measuredPages: number;
  readonly progress: Progress;
}

export type ListingKind = 'tenant' | 'prefix';

export interface ListingSample {
  readonly conversations: number;
  /** The whole tenant, or one scope (`user-0:`, 100 conversations at every size). */
  readonly kind: ListingKind;
  /** 1: no cursor; 2: the first page's nextCursor. */
  readonly page: number;
  readonly limit: number;
  readonly listed: number;
  readonly calls: { readonly min: number; readonly max: number };
  readonly commands: Record<string, number>;
  /** Read units as DynamoDB Local reported them, per page (the same in every measured read). */
  readonly reported: { readonly table: number; readonly indexes: number; readonly total: number };
  readonly latency: LatencySummary;
}

/** What one write of a turn (an append of the user message and the reply) cost, table and indexes apart. */
export interface TurnIndexSample {
  readonly case: string;
  readonly reported: { readonly table: number; readonly indexes: number; readonly total: number };
}

export interface ListingCostResults {
  readonly measuredPages: number;
  readonly seedMs: Record<string, number>;
  readonly samples: ListingSample[];
  readonly turns: TurnIndexSample[];
}

const TABLE = 'bench-listing';
const PAGE = 50;
/** The store's own appends on top of the seeded heads. */
const NEWEST = 60;
const SCOPE_SIZE = 100;
const DAY_MS = 86_400_000;

const tenantFor = (size: number) => `listing-${size}`;

export async function listingCost(options: ListingCostOptions): Promise<ListingCostResults> {
  const { endpoint, progress } = options;
  const raw = new DynamoDBClient(localClientConfig(endpoint));
  const meteredRaw = new DynamoDBClient(localClientConfig(endpoint));
  const meter = new DynamoDbMeter(meteredRaw, { indexCapacity: true });
  const plain = DynamoDBDocumentClient.from(raw);
  const metered = DynamoDBDocumentClient.from(meteredRaw);
  try {
    await raw.send(new CreateTableCommand(conversationTableDefinition(TABLE)));
    const writer = new ConversationStore({ client: plain, tableName: TABLE });
    const store = new ConversationStore({ client: metered, tableName: TABLE });
    const seedMs: Record<string, number> = {};
    const samples: ListingSample[] = [];
    for (const size of options.sizes) {
      const tenant = tenantFor(size);
      const started = performance.now();
      await seedHeads(raw, tenant, size, progress);
      for (let i = 0; i < Math.min(NEWEST, size); i++) {
        await writer.append(tenant, conversationId(size - 1 - i, size), [{ role: 'user', content: 'hi' }]);
      }
      seedMs[String(size)] = Math.round(performance.now() - started);
      progress(`listing: ${size.toLocaleString('en-US')} conversations seeded in ${seedMs[String(size)]} ms`);
      for (const kind of ['tenant', 'prefix'] as const) {
        const prefix = kind === 'prefix' ? 'user-0:' : undefined;
        const first = await store.listConversations(tenant, { limit: PAGE, prefix });
        meter.take();
        for (const [page, cursor] of [
          [1, undefined],
          [2, first.nextCursor ?? undefined],
        ] as const) {
          if (page === 2 && cursor === undefined) throw new Error(`part 7: no second page at ${size}`);
          samples.push(
            await measurePage(store, meter, { tenant, size, kind, page, prefix, cursor }, options),
          );
        }
      }
    }
    const turns = await turnIndexCost(metered, meter);
    return { measuredPages: options.measuredPages, seedMs, samples, turns };
  } finally {
    raw.destroy();
    meteredRaw.destroy();
  }
}

/** Conversation `i` of a tenant of `size`: scoped (`user-<n>:`), SCOPE_SIZE per scope. */
function conversationId(i: number, size: number): string {
  const scopes = Math.max(1, Math.floor(size / SCOPE_SIZE));
  return `user-${i % scopes}:c-${String(i).padStart(6, '0')}`;
}

/** Heads as the store writes them, conversation i written later than i - 1, over the 30 days before now. */
async function seedHeads(client: DynamoDBClient, tenant: string, size: number, progress: Progress) {
  const now = Date.now();
  const heads = (from: number, to: number) =>
    Array.from({ length: to - from }, (_, offset) => {
      const i = from + offset;
      const id = conversationId(i, size);
      const at = now - 30 * DAY_MS + Math.floor((i / size) * 29 * DAY_MS);
      const head: Head & { pk: string; sk: string } = {
        pk: keys.partition(tenant, id),
        sk: keys.head,
        version: 2,
        messageCount: 2,
        createdAt: new Date(at - 60_000).toISOString(),
        updatedAt: new Date(at).toISOString(),
        op: `seed-${i}`,
        title: `Conversation ${i}`,
        ...listingAttributes(tenant, id, at),
      };
      return { PutRequest: { Item: marshall(head) } };
    });
  const batch = 25;
  const parallel = 8;
  for (let start = 0; start < size; start += batch * parallel) {
    await Promise.all(
      Array.from({ length: parallel }, async (_, lane) => {
        const from = start + lane * batch;
        if (from >= size) return;
        let requests = heads(from, Math.min(size, from + batch));
        while (requests.length > 0) {
          const output = await client.send(
            new BatchWriteItemCommand({ RequestItems: { [TABLE]: requests } }),
          );
          requests = (output.UnprocessedItems?.[TABLE] ?? []) as typeof requests;
        }
      }),
    );
    if (start % 20_000 === 0 && start > 0) progress(`listing: ${start.toLocaleString('en-US')} of ${size}`);
  }
}

async function measurePage(
  store: ConversationStore,
  meter: DynamoDbMeter,
  page: {
    tenant: string;
    size: number;
    kind: ListingKind;
    page: number;
    prefix: string | undefined;
    cursor: string | undefined;
  },
  options: ListingCostOptions,
): Promise<ListingSample> {
  const durations: number[] = [];
  const callCounts: number[] = [];
  let commands: Record<string, number> = {};
  let reported = { table: 0, indexes: 0, total: 0 };
  let listed = 0;
  for (let run = 0; run < options.measuredPages; run++) {
    const started = performance.now();
    const result = await store.listConversations(page.tenant, {
      limit: PAGE,
      prefix: page.prefix,
      cursor: page.cursor,
    });
    durations.push(performance.now() - started);
    const calls = meter.take();
    callCounts.push(calls.length);
    listed = result.conversations.length;
    commands = countCommands(calls);
    reported = reportedUnits(calls);
  }
  return {
    conversations: page.size,
    kind: page.kind,
    page: page.page,
    limit: PAGE,
    listed,
    calls: { min: Math.min(...callCounts), max: Math.max(...callCounts) },
    commands,
    reported,
    latency: summarizeLatency(durations),
  };
}

/**
 * A turn's write (user message + reply) on a scoped and an unscoped id: the one that starts the conversation,
 * one in the same minute as the last (the index keys do not change), one in a later minute (they move).
 */
async function turnIndexCost(
  client: DynamoDBDocumentClient,
  meter: DynamoDbMeter,
): Promise<TurnIndexSample[]> {
  const turn = [
    { role: 'user', content: 'x'.repeat(200) },
    { role: 'assistant', content: 'y'.repeat(200) },
  ];
  const samples: TurnIndexSample[] = [];
  const minute = Math.floor(Date.now() / 60_000) * 60_000;
  let clock = minute + 5_000;
  const clocked = new ConversationStore({ client, tableName: TABLE, now: () => clock });
  for (const id of ['user-7:turns', 'turns']) {
    const scoped = id.includes(':') ? 'scoped id (both indexes)' : 'unscoped id (one index)';
    const write = async (label: string, at: number) => {
      clock = at;
      meter.take();
      await clocked.append('listing-turns', id, turn);
      samples.push({ case: `${label}, ${scoped}`, reported: reportedUnits(meter.take()) });
    };
    await write('first turn (the conversation starts)', minute + 5_000);
    await write('turn in the same minute as the last write', minute + 35_000);
    await write('turn in a later minute', minute + 65_000);
  }
  return samples;
}

function countCommands(calls: readonly MeteredCall[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const call of calls) {
    const name = call.command.replace(/Command$/, '');
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

function reportedUnits(calls: readonly MeteredCall[]) {
  const total = calls.reduce((sum, call) => sum + call.capacityUnits, 0);
  const indexes = calls.reduce((sum, call) => sum + call.indexUnits, 0);
  return { table: total - indexes, indexes, total };
}
