import {
  type PreparedMessage,
  type StagedAttachments,
  stageAttachments,
} from './attachments/attachment-writes.js';
import type { MarkerItem } from './attachments/marker-requests.js';
import { sweepSoon } from './attachments/markers.js';
import {
  IdempotencyKeyReusedError,
  IdempotentResultGoneError,
  NoPendingToolCallsError,
  StoreFailureError,
  SuffixMismatchError,
  UnavailableError,
  VersionConflictError,
  WriteOutcomeUnknownError,
} from './errors.js';
import { floorOf, isLiveHead, isLiveRecord, liveVersion } from './head.js';
import { type IdempotencyKey, readRecord, replayFrom } from './idempotency.js';
import {
  type Attempt,
  applied,
  attemptOn,
  newOperation,
  type Operation,
  storedMessages,
} from './operation.js';
import { attemptTransaction, headKey, type SummaryGuard } from './requests.js';
import type { RetryBudget } from './retry-budget.js';
import { nowSeconds, retryBudget, type StoreContext } from './store-context.js';
import type { AppendResult } from './store-types.js';
import {
  type Head,
  type IdempotencyRecord,
  keys,
  listingAttributes,
  type MessageItem,
  type RemovalMarker,
} from './table.js';
import { conditionFailed, itemOf, unavailable } from './table-client.js';

/** One logical write (an append or an edit) of one operation, across all its attempts. */
export interface Write {
  readonly pk: string;
  readonly tenant: string;
  readonly conversationId: string;
  readonly op: Operation;
  readonly idempotency: IdempotencyKey | undefined;
  readonly budget: RetryBudget;
  /** The head's listing keys as of the operation's clock (./table.ts, `listing`). */
  readonly listing: ReturnType<typeof listingAttributes>;
  /** The title, if this write starts the conversation. */
  readonly title?: string;
  /** What it uploaded to S3 before its first attempt (./attachments/). */
  readonly staged?: StagedAttachments;
  /** The garbage marker of the objects of messages it removes (an edit), written by its transaction. */
  garbage?: MarkerItem;
}

/**
 * A new write of `messages`: its operation (ids, time, op id), listing keys and retry budget, fixed for all its
 * attempts. What its messages move to S3 is uploaded now, once, under the operation's keys.
 */
export async function newWrite(
  store: StoreContext,
  write: Pick<Write, 'pk' | 'tenant' | 'conversationId' | 'idempotency' | 'title'> & {
    readonly messages: readonly PreparedMessage[];
  },
): Promise<Write> {
  const { messages, ...rest } = write;
  const op = newOperation(messages, store.now(), store.ttlSeconds);
  const { records, staged } = await stageAttachments(store, rest, op, messages);
  return {
    ...rest,
    op: records === undefined ? op : { ...op, attachments: records },
    listing: listingAttributes(write.tenant, write.conversationId, op.nowMs),
    budget: retryBudget(store),
    ...(staged === undefined ? {} : { staged }),
  };
}

/**
 * Runs a write's attempts, then tidies S3: a write that did not apply (refused, or answered by a replay) sweeps
 * what it uploaded at once; an applied one sweeps the objects of what it removed. A write whose outcome is
 * unknown leaves both to the periodic sweep, which can tell from the markers.
 */
export async function settleAttachments<T extends { readonly replayed: boolean }>(
  store: StoreContext,
  write: Write,
  run: () => Promise<T>,
): Promise<T> {
  let result: T;
  try {
    result = await run();
  } catch (error) {
    if (notApplied(error)) await sweepSoon(store, write.staged?.marker);
    throw error;
  }
  if (result.replayed) await sweepSoon(store, write.staged?.marker);
  else if (write.garbage) await sweepSoon(store, { pk: write.garbage.pk, sk: write.garbage.sk });
  return result;
}

/** Errors that prove the write's transaction never committed. */
function notApplied(error: unknown): boolean {
  return (
    error instanceof VersionConflictError ||
    error instanceof SuffixMismatchError ||
    error instanceof IdempotencyKeyReusedError ||
    error instanceof IdempotentResultGoneError ||
    error instanceof NoPendingToolCallsError
  );
}

/** Where one attempt goes: on `base`, removing `remove`, with the head as last read (if read). */
export interface AttemptTarget {
  readonly base: number;
  readonly remove: readonly number[];
  /** An edit's summary guard (./requests.ts). */
  readonly summary?: SummaryGuard;
  /** The head as last read (`head` undefined: there was none); absent when the write has not read it. */
  readonly known?: { readonly head: Head | undefined };
}

/**
 * The attempt's answer: the result (applied now, found applied after a lost answer, or a replay), or the head
 * that made its condition fail, which proves that this attempt and every earlier one of the write wrote nothing.
 */
export type AttemptOutcome =
  | { readonly done: true; readonly result: AppendResult }
  | {
      readonly done: false;
      readonly current: number;
      readonly head: Head | undefined;
      readonly error: unknown;
    };

/**
 * One conditional commit of the write's operation (the append algorithm, ./conversation-store.ts): the head check,
 * deletes of `remove`, puts of the operation's messages after the last seq (or, when it adds none, its removal
 * marker), and the idempotency record. When a send of it may have committed unseen, its outcome is settled from
 * the table before anything else: it is never reported as not applied, and never sent on another base, until
 * the table shows it was not.
 */
export async function commitAttempt(
  store: StoreContext,
  write: Write,
  target: AttemptTarget,
): Promise<AttemptOutcome> {
  const { pk, conversationId, op, idempotency } = write;
  const { base, remove, known, summary } = target;
  const nowSec = nowSeconds(store);
  const restartOver =
    base === 0 && known?.head !== undefined && !isLiveHead(known.head, nowSec) ? known.head : undefined;
  const attempt = attemptOn(op, base, restartOver);
  const floor = restartOver ? attempt.start : (known?.head?.floor ?? 0);
  const outcome = await store.table.commit(
    attemptTransaction({
      pk,
      attempt,
      remove,
      listing: write.listing,
      ...(write.title === undefined ? {} : { title: write.title }),
      ...(idempotency === undefined ? {} : { record: { ...idempotency, floor } }),
      ...(write.staged === undefined ? {} : { releases: write.staged.marker }),
      ...(write.garbage === undefined || remove.length === 0 ? {} : { garbage: write.garbage }),
      ...(summary === undefined ? {} : { summary }),
    }),
    write.budget,
  );
  if (outcome.status === 'committed') {
    return { done: true, result: applied(conversationId, attempt, outcome.capacity) };
  }
  const reasons = outcome.status === 'rejected' ? outcome.reasons : [];
  const headReason = reasons[0];
  const keyReason = idempotency === undefined ? undefined : reasons.at(-1);
  const summaryReason = summary === undefined ? undefined : reasons[1];
  const unsure = outcome.status === 'unknown' || outcome.unsure;
  // The head as DynamoDB holds it now (the failed condition returns it), else as last read.
  let current: Head | undefined = conditionFailed(headReason) ? itemOf<Head>(headReason) : known?.head;
  let currentIsFresh = conditionFailed(headReason);
  // While the write may have committed, a read that fails leaves its outcome unknown: not "retry shortly".
  const evidence = <T>(read: Promise<T>): Promise<T> =>
    read.catch((error: unknown) => {
      throw unsure && error instanceof UnavailableError
        ? new WriteOutcomeUnknownError({ cause: error })
        : error;
    });
  const freshHead = async () => {
    if (!currentIsFresh) current = (await evidence(store.table.get<Head>(headKey(pk)))).item;
    currentIsFresh = true;
    return current;
  };

  if (idempotency !== undefined) {
    // The record is part of every attempt, so it settles the write. DynamoDB may report only the first
    // failed condition: a failed head check, or an unsure outcome, looks the key up.
    let record = conditionFailed(keyReason) ? itemOf<IdempotencyRecord>(keyReason) : undefined;
    if (!record && (conditionFailed(headReason) || unsure))
      record = (await evidence(readRecord(store, pk, idempotency.key))).record;
    const head = async () => (known || currentIsFresh ? current : await freshHead());
    if (record && isLiveRecord(record, await head(), nowSeconds(store))) {
      if (record.op === op.id) {
        const own = { version: record.version, stored: storedMessages(op, record.firstSeq - 1) };
        return { done: true, result: applied(conversationId, own, 0) };
      }
      return { done: true, result: await replayFrom(store, pk, conversationId, record, idempotency.hash) };
    }
  } else if (unsure) {
    const verdict = await evidence(settle(store, pk, attempt, await freshHead()));
    if (verdict === 'committed') return { done: true, result: applied(conversationId, attempt, 0) };
    if (verdict === 'unknown') throw new WriteOutcomeUnknownError({ cause: outcome.error });
  }
  if (outcome.status === 'unknown') {
    // Not in the table, but DynamoDB kept failing: a send may still be on its way while the head is
    // where it expects it.
    if (stillExpects(attempt, await freshHead(), nowSeconds(store))) {
      throw new WriteOutcomeUnknownError({ cause: outcome.error });
    }
    throw unavailable(outcome.error);
  }
  if (!conditionFailed(headReason) && !conditionFailed(keyReason) && !conditionFailed(summaryReason)) {
    if (write.staged !== undefined && reasons.some(conditionFailed)) {
      // Only the marker's condition failed: a sweep took this write's uploads (it ran past its grace).
      throw new UnavailableError(
        'The write took too long and its attachments were cleaned up; nothing was stored. Send it again.',
        1,
        { cause: outcome.error },
      );
    }
    throw new StoreFailureError('DynamoDB cancelled the write for an unexpected reason.', {
      cause: outcome.error,
    });
  }
  // Only the summary changed (a compaction stored one in between): the caller reads again, on the same head.
  return {
    done: false,
    current: liveVersion(current, nowSeconds(store)),
    head: current,
    error: outcome.error,
  };
}

/**
 * Whether an attempt that may have committed unseen did, from the table as it is now (strongly consistent):
 * its op id on the head (nobody wrote since), else its first message at its first seq, or for an edit that
 * only removed, its marker. Within one life seqs and versions are never reused, so whatever holds the
 * attempt's first seq (or version) decides. 'unknown' when that evidence is gone: a later edit removed what
 * stood there, or the conversation's life ended.
 */
async function settle(
  store: StoreContext,
  pk: string,
  attempt: Attempt,
  head: Head | undefined,
): Promise<'committed' | 'absent' | 'unknown'> {
  const nowSec = nowSeconds(store);
  if (head?.op === attempt.op.id) return 'committed';
  if (stillExpects(attempt, head, nowSec)) return 'absent';
  if (head === undefined || !isLiveHead(head, nowSec) || floorOf(head, nowSec) > attempt.start)
    return 'unknown';
  if (head.version < attempt.version) return 'absent';
  const first = attempt.stored[0];
  if (first === undefined) {
    const { item: marker } = await store.table.get<RemovalMarker>({ pk, sk: keys.removal(attempt.version) });
    return marker?.op === attempt.op.id ? 'committed' : 'absent';
  }
  const { item } = await store.table.get<MessageItem>({ pk, sk: keys.message(first.seq) });
  if (item) return item.msg === JSON.stringify(first) ? 'committed' : 'absent';
  // Nothing at its first seq: an edit that only removed won the base, or what stood there was edited away.
  if (!attempt.restartOver) {
    const { item: marker } = await store.table.get<RemovalMarker>({ pk, sk: keys.removal(attempt.base + 1) });
    if (marker) return 'absent';
  }
  return 'unknown';
}

/** Whether the head is still in the state the attempt's condition expects (the attempt has not landed). */
function stillExpects(attempt: Attempt, head: Head | undefined, nowSec: number): boolean {
  if (attempt.restartOver) {
    return head !== undefined && !isLiveHead(head, nowSec) && head.version === attempt.restartOver.version;
  }
  return attempt.base === 0 ? head === undefined : liveVersion(head, nowSec) === attempt.base;
}
