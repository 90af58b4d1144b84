import { createHash } from 'node:crypto';
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

/*
 * Key schema: one table, one partition per conversation.
 *
 *   pk = T#<tenant, URI-encoded>#C#<conversationId>    (ids cannot contain '#', encoded tenants neither)
 *   sk = MSG#0000000042      a message, seq zero-padded to 10 digits so string order is seq order
 *        MSG#~HEAD           the head: version, messageCount, times, op ('~' sorts after every digit)
 *        MSG#SUMMARY         the summary of the conversation up to a seq ('S' sorts between the digits and '~')
 *        IDEM#<key>          an idempotency record: the request's hash and the seq range it wrote (a PATCH: its answer)
 *        REMOVAL#0000000042  an edit that only removed messages wrote version 42 (its operation id)
 *        STREAM#ACTIVE    the chat's running UI message stream (chat route): its id and start
 *        STREAM#<streamId>#000042   a batch of that stream's recorded chunks, for clients that resume it
 *
 *   pk = ATTQ#<00-15>                                  (no conversation pk starts so: they all start with T#)
 *   sk = <due, epoch seconds, 12 digits>#<id>  an attachment marker: S3 objects to delete unless a commit
 *                                               releases the marker first (./attachments/markers.ts)
 *
 * A descending Query on begins_with(sk, 'MSG#') returns the head first, then the summary, then the newest
 * messages: a turn's context (summary and window) is one Query whose cost depends on the window and the
 * summary's size, not on the conversation's length. A summary never replaces a message: there is one summary
 * item per conversation, which each new summary replaces. The items' shapes are below; every condition and
 * expression on them is in ./requests.ts.
 * The head of a live conversation also carries the keys of the tenant's listing (`listing` below).
 */
export const keys = {
  partition: (tenant: string, conversationId: string) =>
    `T#${encodeURIComponent(tenant)}#C#${conversationId}`,
  head: 'MSG#~HEAD',
  summary: 'MSG#SUMMARY',
  messagePrefix: 'MSG#',
  message: (seq: number) => `MSG#${String(seq).padStart(10, '0')}`,
  idempotency: (key: string) => `IDEM#${key}`,
  removal: (version: number) => `REMOVAL#${String(version).padStart(10, '0')}`,
  activeStream: 'STREAM#ACTIVE',
  /** Stream ids are ULIDs (no '#'), so batches never collide with the pointer or each other. */
  streamBatch: (streamId: string, index: number) => `STREAM#${streamId}#${String(index).padStart(6, '0')}`,
  /** The highest batch index the 6 digits hold. */
  lastStreamBatch: 999_999,
  markerPartition: (shard: number) => `ATTQ#${String(shard).padStart(2, '0')}`,
  marker: (dueSeconds: number, id: string) => `${String(dueSeconds).padStart(12, '0')}#${id}`,
} as const;

/** Markers are spread over this many partitions, so that no one partition takes every offloading write. */
export const markerShards = 16;

/** The tenant and conversation of a conversation's partition key; undefined for any other partition. */
export function conversationOfPartition(pk: string): { tenant: string; conversationId: string } | undefined {
  const match = /^T#([^#]+)#C#([^#]+)$/.exec(pk);
  if (match === null) return undefined;
  try {
    return { tenant: decodeURIComponent(match[1] as string), conversationId: match[2] as string };
  } catch {
    return undefined;
  }
}

/** The seq of a message item, from its sort key. */
export function seqOf(sk: string): number {
  return Number(sk.slice(keys.messagePrefix.length));
}

/** Whether a sort key is a message's (not the head's or the summary's, which share the prefix). */
export function isMessageKey(sk: string): boolean {
  return sk.startsWith(keys.messagePrefix) && sk !== keys.head && sk !== keys.summary;
}

/**
 * A write that carries the version across a multiple of this many seqs (or that removes messages) marks the head
 * `summaryDue`: the compactor looks at the conversation then, and only then (lambda/summaries/).
 */
export const summaryCheckInterval = 10;

/** The attribute DynamoDB's TTL deletes items by (epoch seconds). */
export const ttlAttribute = 'expiresAt';

/** Retention, as every item but the head carries it: DynamoDB deletes the item some time after this. */
export interface Expiring {
  readonly [ttlAttribute]?: number;
}

/**
 * The head item. A head that is deleted (a tombstone) or past `liveUntil` is dead: the id reads as unknown,
 * and everything up to its version belongs to that past life. A new life over a dead head continues its seqs
 * with `floor` = the dead version, so seqs are never reused and leftovers of the past life stay invisible.
 * Its expiry is not DynamoDB's TTL attribute, so TTL never removes it and the floor it keeps outlives
 * everything below it; only a completed delete removes it, after everything below it.
 */
export interface Head {
  readonly version: number;
  readonly messageCount: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly liveUntil?: number;
  readonly floor?: number;
  readonly deleted?: boolean;
  /** How many edits removed messages: a page read re-checks it to know no history changed under it. */
  readonly rewrites?: number;
  /** The operation that wrote this version: tells a write whose answer was lost that it was the last one. */
  readonly op?: string;
  /**
   * Set by the write that crossed a multiple of `summaryCheckInterval` or removed messages, removed by the next
   * one: the compactor's trigger (the stack's stream filter wakes it on a head image that carries it).
   */
  readonly summaryDue?: boolean;
  /** The conversation's title (1-256 characters), set by its first write or a PATCH. */
  readonly title?: string;
  /** Its metadata: a JSON object, as JSON text (a PATCH merges into it). */
  readonly meta?: string;
  /** How many PATCHes changed title or metadata in this life (absent: 0); a PATCH may be conditional on it. */
  readonly revision?: number;
  /** The PATCH that wrote this revision: tells a PATCH whose answer was lost that it was the last one. */
  readonly patchOp?: string;
  /** The listing's keys while the conversation lives (`listing` below); a tombstone removes them. */
  readonly lpk?: string;
  readonly spk?: string;
  readonly lsk?: string;
}

/**
 * A message item: the stored message's JSON, as written (`msg`), under its seq; with attachments, `att` lists
 * the values moved to S3 (JSON of ./attachments/offload.ts AttachmentRecord[]; each is `null` in `msg`).
 */
export interface MessageItem extends Expiring {
  readonly msg: string;
  readonly att?: string;
}

/**
 * An attachment marker: S3 objects (`keys`) to delete once `due` has passed. `pending`: written before an
 * offloading write uploads anything; the write's transaction deletes it, so only a write that never committed
 * leaves it behind. `garbage`: written by the transaction that removed messages (an edit, a delete), for their
 * objects. `sweeping`: claimed by a sweep, which no commit can release any more.
 */
export interface AttachmentMarker {
  readonly state: 'pending' | 'garbage' | 'sweeping';
  readonly keys: readonly string[];
  readonly due: number;
  /** The conversation's partition, for the logs. */
  readonly conversation: string;
}

/** An idempotency record: which request (hash) wrote which seq range, in which operation. */
export interface IdempotencyRecord extends Expiring {
  readonly hash: string;
  readonly version: number;
  readonly firstSeq: number;
  readonly lastSeq: number;
  /** The operation that wrote it: its own retry is answered as applied, not as a replay. */
  readonly op?: string;
  /** A PATCH's answer, as JSON: it wrote no messages to re-read (its seq range is empty). */
  readonly result?: string;
}

/**
 * The summary item: the conversation from `fromSeq` through `throughSeq` (`messageCount` messages), summarized.
 * It is valid while its life is: the head's `createdAt` (a new life has another) is the one it was made on; an edit
 * that removes messages it covers deletes it. `op` identifies the compaction that wrote it: the next one (or an
 * edit) replaces it only if it is still that one, and one whose answer was lost finds itself by it.
 */
export interface SummaryItem extends Expiring {
  readonly text: string;
  readonly fromSeq: number;
  readonly throughSeq: number;
  readonly messageCount: number;
  /** The summary it folded in (its `throughSeq`), 0 when it was made from the messages alone. */
  readonly basedOn: number;
  readonly createdAt: string;
  readonly model: string;
  readonly usage?: {
    readonly inputTokens?: number;
    readonly outputTokens?: number;
    readonly totalTokens?: number;
  };
  readonly lifeCreatedAt: string;
  readonly op: string;
}

/** The marker of an edit that only removed messages: nothing else in the table would show it was applied. */
export interface RemovalMarker extends Expiring {
  readonly op: string;
  readonly version: number;
}

/*
 * The tenant's listing: two global secondary indexes over the heads of live conversations, keys only.
 *
 *   listing           lpk = <tenant>#<shard>           lsk = <minute of the last write, 10 digits>#<id>
 *   listing-by-scope  spk = <tenant>#<shard>#<scope>   lsk (the same)
 *
 * The shard (0-f) is a hash of the conversation id, so a tenant's index writes spread over 16 partitions of
 * each index (a partition takes ~1,000 writes a second; a throttled index throttles the table's writes); a page
 * is read from all 16, newest first, and merged (./list.ts). The scope is the id up to its first ':'
 * (`user-42:` of `user-42:ticket-7`): one user's conversations, newest first, at a page's cost.
 *
 * Every write of messages sets `lsk` from its own clock, so the index entry moves at most once a minute however
 * often the conversation is written: within a minute the head changes, its index keys do not, and DynamoDB
 * writes an index only when an indexed attribute changes. The order is therefore the minute of the last write,
 * newest first, then the id, descending. Keys only: a PATCH (title, metadata) never writes an index; the
 * listing reads those, and the counts, from the heads it lists.
 */
export const listing = {
  index: 'listing',
  scopedIndex: 'listing-by-scope',
  shards: 16,
  intervalMs: 60_000,
} as const;

export const listingKeys = {
  /** The index partition of one shard of the tenant's listing. */
  partition: (tenant: string, shard: string) => `${encodeURIComponent(tenant)}#${shard}`,
  /** The index partition of one shard of a scope's listing (scope: `user-42:`). */
  scopedPartition: (tenant: string, shard: string, scope: string) =>
    `${encodeURIComponent(tenant)}#${shard}#${scope}`,
  /** The sort key of a conversation last written at `nowMs`: the same all minute long. */
  sortKey: (nowMs: number, conversationId: string) => `${minuteOf(nowMs)}#${conversationId}`,
  /** The lowest sort key of the minute of `nowMs` (every entry of that minute sorts at or above it). */
  minuteStart: (nowMs: number) => `${minuteOf(nowMs)}#`,
  shardOf: (conversationId: string) => createHash('sha256').update(conversationId).digest('hex').charAt(0),
  /** Every shard, as `shardOf` names them. */
  allShards: Array.from({ length: listing.shards }, (_, shard) => shard.toString(16)),
  /** The part of the id before its first ':', with the ':' (`user-42:`), if the id has one. */
  scopeOf: (conversationId: string): string | undefined => {
    const colon = conversationId.indexOf(':');
    return colon > 0 ? conversationId.slice(0, colon + 1) : undefined;
  },
} as const;

function minuteOf(nowMs: number): string {
  return String(Math.floor(nowMs / listing.intervalMs)).padStart(10, '0');
}

/** The listing attributes of a live head written at `nowMs`. */
export function listingAttributes(
  tenant: string,
  conversationId: string,
  nowMs: number,
): { lpk: string; spk?: string; lsk: string } {
  const shard = listingKeys.shardOf(conversationId);
  const scope = listingKeys.scopeOf(conversationId);
  return {
    lpk: listingKeys.partition(tenant, shard),
    ...(scope === undefined ? {} : { spk: listingKeys.scopedPartition(tenant, shard, scope) }),
    lsk: listingKeys.sortKey(nowMs, conversationId),
  };
}

/** The listing's indexes: string keys, keys only (the stack's table and DynamoDB Local's). */
export const listingIndexes = [
  { indexName: listing.index, partitionKey: 'lpk', sortKey: 'lsk' },
  { indexName: listing.scopedIndex, partitionKey: 'spk', sortKey: 'lsk' },
] as const;

/** A listing index as CreateTable and UpdateTable take it. */
export function listingIndexDefinition(index: (typeof listingIndexes)[number]) {
  return {
    IndexName: index.indexName,
    KeySchema: [
      { AttributeName: index.partitionKey, KeyType: 'HASH' as const },
      { AttributeName: index.sortKey, KeyType: 'RANGE' as const },
    ],
    Projection: { ProjectionType: 'KEYS_ONLY' as const },
  };
}

/** The table as the CDK stack defines it, for DynamoDB Local (tests, local server, benchmarks). */
export function conversationTableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
      { AttributeName: 'lpk', AttributeType: 'S' },
      { AttributeName: 'spk', AttributeType: 'S' },
      { AttributeName: 'lsk', AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: listingIndexes.map(listingIndexDefinition),
  };
}
