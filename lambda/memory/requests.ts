import type {
  DeleteCommandInput,
  GetCommandInput,
  QueryCommandInput,
  TransactWriteCommandInput,
  UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { type MarkerItem, markerPut, markerRelease } from './attachments/marker-requests.js';
import type { AttachmentRecord } from './attachments/offload.js';
import type { StoredMessage } from './message.js';
import type { Attempt, Operation } from './operation.js';
import {
  type Head,
  type IdempotencyRecord,
  keys,
  type listingAttributes,
  type RemovalMarker,
  summaryCheckInterval,
  ttlAttribute,
} from './table.js';

/*
 * Every request the store sends to DynamoDB: keys, conditions and update expressions, side by side so that
 * the invariants read together. The table's name is added by the table client (./table-client.ts); every read
 * there is strongly consistent.
 *
 * The invariants the conditions keep:
 * - a write commits only on the head it was computed for (`version = base` on a live head, no head at all, or
 *   the same dead head a new life starts over), so seqs are contiguous per life and never reused;
 * - an idempotency key is written once per life of the id (a record of a past life, or an expired one, is free);
 * - a delete's cleanup touches only the life it tombstoned;
 * - a summary is stored only on the life and the messages it was made from, in place of the summary it read.
 * - a live head carries its listing keys, a dead one none (a tombstone removes them), so the listing's indexes
 *   hold the live conversations only (expired ones excepted, which the listing's key range leaves out);
 * - a PATCH changes title and metadata only, on the life and revision it read (./beside-messages-requests.ts,
 *   with the listing's reads, summaries and a chat's recorded stream).
 */

type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];
type WithoutTable<T> = Omit<NonNullable<T>, 'TableName'>;

/** A transaction item before the table client names the table. */
export interface WriteItem {
  readonly Put?: WithoutTable<TransactItem['Put']>;
  readonly Update?: WithoutTable<TransactItem['Update']>;
  readonly Delete?: WithoutTable<TransactItem['Delete']>;
  readonly ConditionCheck?: WithoutTable<TransactItem['ConditionCheck']>;
}
export type ItemKey = NonNullable<GetCommandInput['Key']>;
export type QueryRequest = Pick<
  QueryCommandInput,
  'KeyConditionExpression' | 'ExpressionAttributeValues' | 'ScanIndexForward' | 'ProjectionExpression'
>;
export type UpdateRequest = Omit<UpdateCommandInput, 'TableName'>;
export type ConditionalDeleteRequest = Pick<
  DeleteCommandInput,
  'Key' | 'ConditionExpression' | 'ExpressionAttributeValues'
>;
export type IndexQueryRequest = Pick<
  QueryCommandInput,
  'IndexName' | 'KeyConditionExpression' | 'ExpressionAttributeValues' | 'ScanIndexForward'
>;

/** A failed condition answers with the item as it is now: a lost race learns the current head for free. */
export const returnOld = { ReturnValuesOnConditionCheckFailure: 'ALL_OLD' } as const;

export const headKey = (pk: string): ItemKey => ({ pk, sk: keys.head });

// ---- Reads ----

/** The head, then the newest messages: one descending Query ('~HEAD' sorts after every seq). */
export const newestQuery = (pk: string): QueryRequest => ({
  KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
  ExpressionAttributeValues: { ':pk': pk, ':prefix': keys.messagePrefix },
  ScanIndexForward: false,
});

/** The messages from seq `lower` to `upper`, both included. */
export const seqRangeQuery = (pk: string, lower: number, upper: number, forward: boolean): QueryRequest => ({
  KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lower AND :upper',
  ExpressionAttributeValues: { ':pk': pk, ':lower': keys.message(lower), ':upper': keys.message(upper) },
  ScanIndexForward: forward,
});

/**
 * Every item of the partition, by key and version only (and the attachments of messages): what a delete's
 * cleanup sorts into lives.
 */
export const partitionItemsQuery = (pk: string): QueryRequest => ({
  KeyConditionExpression: 'pk = :pk',
  ExpressionAttributeValues: { ':pk': pk },
  ProjectionExpression: 'sk, version, att, throughSeq',
});

// ---- The write of one attempt (the append algorithm's transaction) ----

/** What an attempt writes besides its messages. */
export interface AttemptWrites {
  readonly pk: string;
  readonly attempt: Attempt;
  /** Seqs of the messages it removes (an edit). */
  readonly remove: readonly number[];
  /** The idempotency record it writes, if the write has a key; `floor`: records at or below it are dead. */
  readonly record?: { readonly key: string; readonly hash: string; readonly floor: number };
  /** The pending marker of the objects it uploaded, released by this transaction. */
  readonly releases?: ItemKey;
  /** A garbage marker for the objects of the messages it removes. */
  readonly garbage?: MarkerItem;
  /** An edit that removes messages: what it does to the summary item (ConversationStore.replaceSuffix). */
  readonly summary?: SummaryGuard;
  /** The head's listing keys, as of this write's clock. */
  readonly listing: ReturnType<typeof listingAttributes>;
  /** The title of a conversation this write starts (ignored when it continues one). */
  readonly title?: string;
}

/**
 * What an edit that removes messages does to the summary: it deletes the summary when it removes messages the summary
 * covers (a summary never outlives what it summarized), else leaves it, and either way only if the summary item is
 * still the one it read (`op`; undefined: there was none), so that a compaction storing a summary in between makes
 * the edit read again.
 */
export interface SummaryGuard {
  readonly op: string | undefined;
  readonly remove: boolean;
}

/**
 * All or nothing: the head's condition and new version, an edit's summary guard, deletes of what it removes, a put
 * per message (or, when it adds none, its removal marker), and the idempotency record, conditioned on its key being
 * free.
 */
export function attemptTransaction({
  pk,
  attempt,
  remove,
  record,
  releases,
  garbage,
  summary,
  listing,
  title,
}: AttemptWrites): WriteItem[] {
  const { op, stored, version } = attempt;
  const ttl = expiring(op);
  return [
    headWrite(pk, attempt, stored.length - remove.length, remove.length > 0, summary?.remove === true, {
      listing,
      title,
    }),
    // Second, so that its cancellation reason is known by place (./write.ts).
    ...(summary === undefined ? [] : [summaryGuard(pk, summary)]),
    ...remove.map((seq) => ({ Delete: { Key: { pk, sk: keys.message(seq) } } })),
    ...stored.map((message: StoredMessage, index) => ({
      Put: {
        Item: {
          pk,
          sk: keys.message(message.seq),
          msg: JSON.stringify(message),
          ...attachmentsOf(op.attachments?.[index]),
          ...ttl,
        },
      },
    })),
    // Before the record: a failed condition on the record is always the last reason.
    ...(releases === undefined ? [] : [markerRelease(releases)]),
    ...(garbage === undefined ? [] : [{ Put: { Item: garbage } }]),
    // An edit that only removes leaves no message behind to recognise it by, so it leaves this.
    ...(stored.length === 0
      ? [
          {
            Put: {
              Item: { pk, sk: keys.removal(version), op: op.id, version, ...ttl } satisfies RemovalMarker & {
                pk: string;
                sk: string;
              },
            },
          },
        ]
      : []),
    ...(record === undefined
      ? []
      : [
          {
            Put: {
              Item: {
                pk,
                sk: keys.idempotency(record.key),
                hash: record.hash,
                version,
                firstSeq: attempt.start + 1,
                lastSeq: attempt.start + stored.length,
                op: op.id,
                ...ttl,
              } satisfies IdempotencyRecord & { pk: string; sk: string },
              // A record past its expiry, or of a past life of this id, is dead: its key is free again.
              ConditionExpression: `attribute_not_exists(pk) OR ${ttlAttribute} <= :nowSec OR version <= :floor`,
              ExpressionAttributeValues: { ':nowSec': nowSec(op), ':floor': record.floor },
              ...returnOld,
            },
          },
        ]),
  ];
}

/**
 * The head write. A live head: a version bump conditioned on `version = base`. None: a Put conditioned on
 * there being none. A dead head: a new life whose floor is the dead version, conditioned on it still being
 * that dead head. Either way the listing keys are set as of this write's clock: within a minute they are the
 * same values, and the listing's indexes are not written.
 */
function headWrite(
  pk: string,
  attempt: Attempt,
  countDelta: number,
  rewrite: boolean,
  summaryRemoved: boolean,
  { listing, title }: Pick<AttemptWrites, 'listing' | 'title'>,
): WriteItem {
  const { op, base, restartOver, version } = attempt;
  const live = op.expiresAt === undefined ? {} : { liveUntil: op.expiresAt };
  // The compactor's wake (./table.ts): every 10 seqs, and when an edit removed the summary.
  const summaryDue =
    summaryRemoved ||
    Math.floor(version / summaryCheckInterval) > Math.floor(attempt.start / summaryCheckInterval);
  if (base === 0) {
    const head: Head & { pk: string; sk: string } = {
      pk,
      sk: keys.head,
      version,
      messageCount: countDelta,
      createdAt: op.createdAt,
      updatedAt: op.createdAt,
      ...(restartOver ? { floor: restartOver.version } : {}),
      ...live,
      op: op.id,
      ...(summaryDue ? { summaryDue } : {}),
      ...listing,
      ...(title === undefined ? {} : { title }),
    };
    const condition = restartOver
      ? {
          ConditionExpression: 'version = :dead AND (deleted = :true OR liveUntil <= :nowSec)',
          ExpressionAttributeValues: { ':dead': restartOver.version, ':true': true, ':nowSec': nowSec(op) },
        }
      : { ConditionExpression: 'attribute_not_exists(pk)' };
    return { Put: { Item: head, ...condition, ...returnOld } };
  }
  const set = ['version = :version', 'updatedAt = :now', 'op = :op', 'lpk = :lpk', 'lsk = :lsk'];
  if (listing.spk !== undefined) set.push('spk = :spk');
  const add = ['messageCount :count'];
  const removed: string[] = [];
  if (summaryDue) set.push('summaryDue = :true');
  else removed.push('summaryDue');
  // Without retention, REMOVE clears an expiry left from when it was on: it would kill a live head.
  if (op.expiresAt === undefined) removed.push('liveUntil');
  else set.push('liveUntil = :expiresAt');
  if (rewrite) add.push('rewrites :one');
  return {
    Update: {
      Key: headKey(pk),
      UpdateExpression: [
        `SET ${set.join(', ')}`,
        `ADD ${add.join(', ')}`,
        ...(removed.length > 0 ? [`REMOVE ${removed.join(', ')}`] : []),
      ].join(' '),
      ConditionExpression:
        'version = :base AND attribute_not_exists(deleted) AND (attribute_not_exists(liveUntil) OR liveUntil > :nowSec)',
      ExpressionAttributeValues: {
        ':version': version,
        ':now': op.createdAt,
        ':op': op.id,
        ':count': countDelta,
        ':base': base,
        ':nowSec': nowSec(op),
        ':lpk': listing.lpk,
        ':lsk': listing.lsk,
        ...(listing.spk === undefined ? {} : { ':spk': listing.spk }),
        ...(rewrite ? { ':one': 1 } : {}),
        ...(summaryDue ? { ':true': true } : {}),
        ...(op.expiresAt === undefined ? {} : { ':expiresAt': op.expiresAt }),
      },
      ...returnOld,
    },
  };
}

/** The summary guard of an edit (SummaryGuard): a Delete or a ConditionCheck of the summary item it read. */
function summaryGuard(pk: string, guard: SummaryGuard): WriteItem {
  const key = { pk, sk: keys.summary };
  const condition =
    guard.op === undefined
      ? { ConditionExpression: 'attribute_not_exists(pk)' }
      : { ConditionExpression: 'op = :summaryOp', ExpressionAttributeValues: { ':summaryOp': guard.op } };
  return guard.remove
    ? { Delete: { Key: key, ...condition } }
    : { ConditionCheck: { Key: key, ...condition } };
}

// ---- Delete: tombstone first, then the dead life, then the head ----

/**
 * Marks the head deleted, with no version in the condition: a steady stream of appends cannot starve a
 * delete. From then on the id reads as unknown, its keys are dead and it leaves the listing.
 */
export const tombstoneUpdate = (pk: string): UpdateRequest => ({
  Key: headKey(pk),
  UpdateExpression:
    'SET deleted = :true REMOVE messageCount, createdAt, updatedAt, liveUntil, floor, summaryDue, ' +
    'title, meta, revision, patchOp, lpk, spk, lsk',
  ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(deleted)',
  ExpressionAttributeValues: { ':true': true },
  ReturnValues: 'ALL_NEW',
});

/** The condition of every cleanup step: the head is still the tombstone of this life. */
const stillTombstone = (version: number) => ({
  ConditionExpression: 'deleted = :true AND version = :version',
  ExpressionAttributeValues: { ':true': true, ':version': version },
});

/**
 * Deletes items of the dead life, if the tombstone is still the one being cleaned up, with a garbage marker for
 * the objects of the messages among them.
 */
export const pastLifeDeletes = (
  pk: string,
  version: number,
  sortKeys: readonly string[],
  garbage?: MarkerItem,
): WriteItem[] => [
  { ConditionCheck: { Key: headKey(pk), ...stillTombstone(version) } },
  ...sortKeys.map((sk) => ({ Delete: { Key: { pk, sk } } })),
  ...(garbage === undefined ? [] : [markerPut(garbage)]),
];

/** The last step: the tombstone itself, if it is still this life's. */
export const tombstoneDelete = (pk: string, version: number): WriteItem[] => [
  { Delete: { Key: headKey(pk), ...stillTombstone(version) } },
];

function attachmentsOf(records: readonly AttachmentRecord[] | undefined): { att?: string } {
  return records === undefined || records.length === 0 ? {} : { att: JSON.stringify(records) };
}

function expiring(op: Operation): { [ttlAttribute]?: number } {
  return op.expiresAt === undefined ? {} : { [ttlAttribute]: op.expiresAt };
}

function nowSec(op: Operation): number {
  return Math.floor(op.nowMs / 1000);
}
