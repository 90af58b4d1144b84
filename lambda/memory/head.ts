import type { ConversationInfo } from './store-types.js';
import { type Expiring, type Head, type IdempotencyRecord, type SummaryItem, ttlAttribute } from './table.js';

/*
 * The life of a conversation id, as pure functions of what is stored and the time (epoch seconds). A live
 * head is neither deleted nor past `liveUntil`; without one the id reads as unknown, at version 0. A dead
 * head keeps the seqs of its past life: a new life starts above them (its `floor`), and any record or message
 * at or below the floor belongs to the past and is never read again.
 */

/** DynamoDB deletes expired items lazily (within days), so reads treat them as gone already. */
export function isLive(item: Expiring, nowSec: number): boolean {
  const expiresAt = item[ttlAttribute];
  return expiresAt === undefined || expiresAt > nowSec;
}

export function isLiveHead(head: Head | undefined, nowSec: number): boolean {
  return head !== undefined && head.deleted !== true && isLive({ [ttlAttribute]: head.liveUntil }, nowSec);
}

/** The version a reader sees: the head's while it lives, else 0. */
export function liveVersion(head: Head | undefined, nowSec: number): number {
  return head !== undefined && isLiveHead(head, nowSec) ? head.version : 0;
}

/** Seqs and records at or below this belong to a past life of the id: all of a dead head's range. */
export function floorOf(head: Head | undefined, nowSec: number): number {
  if (head === undefined) return 0;
  return isLiveHead(head, nowSec) ? (head.floor ?? 0) : head.version;
}

/** What only an edit, a delete or an expiry changes: equal before and after a read, the read stands. */
export function historyShape(head: Head | undefined, nowSec: number): string {
  return `${liveVersion(head, nowSec) > 0}:${floorOf(head, nowSec)}:${head?.rewrites ?? 0}`;
}

/** A record of this life that has not expired: its key is taken. Any other record's key is free again. */
export function isLiveRecord(record: IdempotencyRecord, head: Head | undefined, nowSec: number): boolean {
  return isLive(record, nowSec) && record.version > floorOf(head, nowSec);
}

/**
 * A summary a reader may use: of the head's live life (its `createdAt`), unexpired, covering seqs of this life only.
 * (An edit that removes messages it covers deletes it with them, ./edit.ts.)
 */
export function isValidSummary(
  summary: SummaryItem | undefined,
  head: Head | undefined,
  nowSec: number,
): boolean {
  return (
    summary !== undefined &&
    head !== undefined &&
    isLiveHead(head, nowSec) &&
    isLive(summary, nowSec) &&
    summary.lifeCreatedAt === head.createdAt &&
    summary.throughSeq <= head.version &&
    summary.fromSeq > floorOf(head, nowSec)
  );
}

/** Epoch seconds of a clock in epoch milliseconds. */
export function epochSeconds(nowMs: number): number {
  return Math.floor(nowMs / 1000);
}

/** What a reader is told of a live head: GET /v1/conversations/{id}, a listed conversation, a PATCH's answer. */
export function conversationInfo(conversationId: string, head: Head): ConversationInfo {
  return {
    conversationId,
    version: head.version,
    messageCount: head.messageCount,
    createdAt: head.createdAt,
    updatedAt: head.updatedAt,
    ...(head.liveUntil === undefined ? {} : { expiresAt: new Date(head.liveUntil * 1000).toISOString() }),
    ...(head.title === undefined ? {} : { title: head.title }),
    ...(head.meta === undefined ? {} : { metadata: JSON.parse(head.meta) as Record<string, unknown> }),
    revision: head.revision ?? 0,
  };
}
