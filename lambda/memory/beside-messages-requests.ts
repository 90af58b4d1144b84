import {
  type ConditionalDeleteRequest,
  headKey,
  type IndexQueryRequest,
  type QueryRequest,
  returnOld,
  type WriteItem,
} from './requests.js';
import { type IdempotencyRecord, keys, type SummaryItem, ttlAttribute } from './table.js';

/*
 * The requests for what sits beside a conversation's messages, under the invariants of ./requests.ts: a PATCH of
 * its title and metadata (./patch.ts), the listing's reads of its keys-only indexes (./list.ts), its summary
 * (./summaries.ts), and a chat's recorded stream (./chat-stream-log.ts).
 */

// ---- PATCH: title and metadata, on the life and revision it read ----

/** What a PATCH sends: the head's title and metadata at the next revision, and its idempotency record. */
export interface PatchWrites {
  readonly pk: string;
  /** The life (its createdAt) and revision the PATCH read and builds on. */
  readonly read: { readonly createdAt: string; readonly revision: number };
  readonly expectedVersion?: number;
  /** The new title and metadata (undefined: removed). Absent: nothing changes, a keyed PATCH records its key. */
  readonly change?: { readonly title: string | undefined; readonly meta: string | undefined };
  readonly op: { readonly id: string; readonly nowSec: number; readonly expiresAt: number | undefined };
  readonly record?: {
    readonly key: string;
    readonly hash: string;
    readonly floor: number;
    /** The conversation's version when it was written (a record of this life lies above the floor). */
    readonly version: number;
    /** The answer, as JSON: a replay returns it. */
    readonly result: string;
  };
}

/**
 * All or nothing: the head's new title, metadata and revision (or only its condition, when nothing changes)
 * and the idempotency record. The head must still be the live life and revision read (and at
 * `expectedVersion`), so a PATCH computed from a head never lands on another; its messages, version and
 * listing keys are not touched, so the listing's indexes are not written.
 */
export function patchTransaction({
  pk,
  read,
  expectedVersion,
  change,
  op,
  record,
}: PatchWrites): WriteItem[] {
  const condition = {
    ConditionExpression: [
      'attribute_not_exists(deleted) AND (attribute_not_exists(liveUntil) OR liveUntil > :nowSec)',
      'createdAt = :createdAt',
      read.revision === 0
        ? '(attribute_not_exists(revision) OR revision = :revision)'
        : 'revision = :revision',
      ...(expectedVersion === undefined ? [] : ['version = :expectedVersion']),
    ].join(' AND '),
    ExpressionAttributeValues: {
      ':nowSec': op.nowSec,
      ':createdAt': read.createdAt,
      ':revision': read.revision,
      ...(expectedVersion === undefined ? {} : { ':expectedVersion': expectedVersion }),
    },
  };
  let head: WriteItem;
  if (change === undefined) {
    head = { ConditionCheck: { Key: headKey(pk), ...condition, ...returnOld } };
  } else {
    const set = ['revision = :next', 'patchOp = :op'];
    // The compactor's wake is the write that set it, removed by the next write (./table.ts): a PATCH too.
    const removed: string[] = ['summaryDue'];
    const values: Record<string, unknown> = { ':next': read.revision + 1, ':op': op.id };
    for (const [name, value] of [
      ['title', change.title],
      ['meta', change.meta],
    ] as const) {
      if (value === undefined) removed.push(name);
      else {
        set.push(`${name} = :${name}`);
        values[`:${name}`] = value;
      }
    }
    head = {
      Update: {
        Key: headKey(pk),
        UpdateExpression: `SET ${set.join(', ')}${removed.length > 0 ? ` REMOVE ${removed.join(', ')}` : ''}`,
        ...condition,
        ExpressionAttributeValues: { ...condition.ExpressionAttributeValues, ...values },
        ...returnOld,
      },
    };
  }
  if (record === undefined) return [head];
  const item: IdempotencyRecord & { pk: string; sk: string } = {
    pk,
    sk: keys.idempotency(record.key),
    hash: record.hash,
    version: record.version,
    // An empty seq range: it wrote no message.
    firstSeq: record.version + 1,
    lastSeq: record.version,
    op: op.id,
    result: record.result,
    ...(op.expiresAt === undefined ? {} : { [ttlAttribute]: op.expiresAt }),
  };
  return [
    head,
    {
      Put: {
        Item: item,
        ConditionExpression: `attribute_not_exists(pk) OR ${ttlAttribute} <= :nowSec OR version <= :floor`,
        ExpressionAttributeValues: { ':nowSec': op.nowSec, ':floor': record.floor },
        ...returnOld,
      },
    },
  ];
}

// ---- The listing: one shard of an index, newest first; the heads it names ----

/**
 * One shard's entries, newest first, strictly below `below` (a cursor) and at or above `from` (the oldest
 * minute that may still hold a live conversation, with retention). DynamoDB has no "between, upper bound
 * excluded", so with both bounds the entry equal to `below` comes back too, and the reader drops it.
 */
export function listingQuery(
  index: string,
  partitionAttribute: 'lpk' | 'spk',
  partition: string,
  range: { readonly below?: string; readonly from?: string },
): IndexQueryRequest {
  const { below, from } = range;
  const sortCondition =
    below !== undefined && from !== undefined
      ? ' AND lsk BETWEEN :from AND :below'
      : below !== undefined
        ? ' AND lsk < :below'
        : from !== undefined
          ? ' AND lsk >= :from'
          : '';
  return {
    IndexName: index,
    KeyConditionExpression: `${partitionAttribute} = :partition${sortCondition}`,
    ExpressionAttributeValues: {
      ':partition': partition,
      ...(below === undefined ? {} : { ':below': below }),
      ...(from === undefined ? {} : { ':from': from }),
    },
    ScanIndexForward: false,
  };
}

/** What the listing reads of each head it lists: no message, nothing of other items. */
export const listedHeadAttributes = [
  'pk',
  'version',
  'messageCount',
  'createdAt',
  'updatedAt',
  'liveUntil',
  'deleted',
  'title',
  'meta',
  'revision',
  'lsk',
] as const;

// ---- Summaries (./summaries.ts) ----

/** What a summary is stored on: the life and the edits it was made on, and the summary it replaces. */
export interface SummaryBasis {
  /** The head's `createdAt`: a new life of the id has another. */
  readonly lifeCreatedAt: string;
  /** The head's `rewrites`: an edit that removed messages raises it. */
  readonly rewrites: number;
  /** The `op` of the summary item it replaces; undefined when there was none. */
  readonly replacesOp: string | undefined;
}

/**
 * A summary, all or nothing: a check that the head is still the life, and has seen no removing edit, the summary
 * was made from (appends since do not matter: they add after what it covers; an edit after it is stored deletes it
 * if it removes messages it covers, SummaryGuard), and a Put that replaces the summary item only if it is still the
 * one the compaction read. Two compactions of the same state: one is stored.
 */
export function summaryTransaction(
  pk: string,
  summary: SummaryItem,
  basis: SummaryBasis,
  nowSec: number,
): WriteItem[] {
  const rewrites = basis.rewrites === 0 ? 'attribute_not_exists(rewrites)' : 'rewrites = :rewrites';
  return [
    {
      ConditionCheck: {
        Key: headKey(pk),
        ConditionExpression: `createdAt = :life AND attribute_not_exists(deleted) AND (attribute_not_exists(liveUntil) OR liveUntil > :nowSec) AND version >= :through AND ${rewrites}`,
        ExpressionAttributeValues: {
          ':life': basis.lifeCreatedAt,
          ':nowSec': nowSec,
          ':through': summary.throughSeq,
          ...(basis.rewrites === 0 ? {} : { ':rewrites': basis.rewrites }),
        },
        ...returnOld,
      },
    },
    {
      Put: {
        Item: { pk, sk: keys.summary, ...summary },
        ...(basis.replacesOp === undefined
          ? { ConditionExpression: 'attribute_not_exists(pk)' }
          : {
              ConditionExpression: 'op = :replaces',
              ExpressionAttributeValues: { ':replaces': basis.replacesOp },
            }),
        ...returnOld,
      },
    },
  ];
}

// ---- A chat's recorded stream (./chat-stream-log.ts): outside every conversation's life, removed by TTL ----

/** The pointer to the chat's running stream, removed only while it is still this stream's. */
export const activeStreamRemoval = (pk: string, streamId: string): ConditionalDeleteRequest => ({
  Key: { pk, sk: keys.activeStream },
  ConditionExpression: 'streamId = :streamId',
  ExpressionAttributeValues: { ':streamId': streamId },
});

/** A stream's batches from index `first` on, in order (a key range: DynamoDB Local scans for begins_with). */
export const streamBatchesQuery = (pk: string, streamId: string, first: number): QueryRequest => ({
  KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
  ExpressionAttributeValues: {
    ':pk': pk,
    ':from': keys.streamBatch(streamId, first),
    ':to': keys.streamBatch(streamId, keys.lastStreamBatch),
  },
  ScanIndexForward: true,
});
