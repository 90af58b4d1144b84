import { randomBytes } from 'node:crypto';
import { partitionOf, requireSeq } from './arguments.js';
import { type PatchWrites, patchTransaction } from './beside-messages-requests.js';
import {
  ConversationNotFoundError,
  IdempotencyKeyReusedError,
  RevisionConflictError,
  UnavailableError,
  VersionConflictError,
  WriteOutcomeUnknownError,
} from './errors.js';
import { conversationInfo, floorOf, isLiveHead, isLiveRecord } from './head.js';
import { idempotencyKeyOf, readRecord } from './idempotency.js';
import { applyPatch, type ConversationPatch, requirePatch } from './metadata.js';
import { headKey } from './requests.js';
import { nowSeconds, retryBudget, type StoreContext } from './store-context.js';
import type { ConversationInfo, PatchOptions, PatchResult } from './store-types.js';
import type { Head } from './table.js';

/**
 * ConversationStore.patchConversation: reads the head (and the key's record), merges the patch into its title and
 * metadata, and writes them at the next revision, conditioned on the life and revision it read; a lost race reads
 * and merges again. Messages, version and listing keys stay as they are. A patch that changes nothing writes
 * nothing (a keyed one records its key).
 *
 * Exactly once when an answer is lost: every attempt carries the same op id, which it writes on the head
 * (`patchOp`), and with a key its record. When an attempt may have committed unseen, the next read settles it:
 * the key's record, or the head's `patchOp` (nobody patched since), or the head still at the revision the attempt
 * expected, or one past it by another PATCH (it did not land). Otherwise the evidence is gone and the answer is
 * WriteOutcomeUnknownError.
 */
export async function patchConversation(
  store: StoreContext,
  tenant: string,
  conversationId: string,
  patch: ConversationPatch,
  options: PatchOptions = {},
): Promise<PatchResult> {
  const pk = partitionOf(tenant, conversationId);
  requirePatch(patch);
  const { expectedVersion, expectedRevision } = options;
  if (expectedVersion !== undefined) requireSeq('expectedVersion', expectedVersion);
  if (expectedRevision !== undefined) requireSeq('expectedRevision', expectedRevision);
  const idempotency = idempotencyKeyOf({ idempotencyKey: options.idempotencyKey }, () => ({
    kind: 'patch',
    title: patch.title,
    metadata: patch.metadata,
    expectedVersion,
    expectedRevision,
  }));
  const nowSec = nowSeconds(store);
  const op: PatchWrites['op'] = {
    id: randomBytes(12).toString('base64url'),
    nowSec,
    expiresAt: store.ttlSeconds === undefined ? undefined : nowSec + store.ttlSeconds,
  };
  const budget = retryBudget(store);
  let capacity = 0;
  const answer = (info: ConversationInfo, replayed = false): PatchResult => ({
    ...info,
    replayed,
    consumedCapacity: capacity,
  });
  /** The head an attempt expected, while that attempt may have committed unseen; `final`: a send may still land. */
  let pending: { readonly createdAt: string; readonly revision: number; readonly final: boolean } | undefined;

  for (;;) {
    const [headRead, recordRead] = await Promise.all([
      store.table.get<Head>(headKey(pk)),
      idempotency === undefined ? undefined : readRecord(store, pk, idempotency.key),
    ]).catch((error: unknown) => {
      throw pending && error instanceof UnavailableError
        ? new WriteOutcomeUnknownError({ cause: error })
        : error;
    });
    const head = headRead.item;
    capacity += headRead.capacity + (recordRead?.capacity ?? 0);
    const record = recordRead?.record;
    if (idempotency !== undefined && record && isLiveRecord(record, head, nowSeconds(store))) {
      // The record is written with the change: it settles an earlier attempt, and answers a replay.
      if (record.hash !== idempotency.hash || record.result === undefined)
        throw new IdempotencyKeyReusedError();
      return answer(JSON.parse(record.result) as ConversationInfo, record.op !== op.id);
    }
    if (pending) {
      if (idempotency === undefined && head?.patchOp === op.id)
        return answer(conversationInfo(conversationId, head));
      const sameLife =
        head !== undefined && isLiveHead(head, nowSeconds(store)) && head.createdAt === pending.createdAt;
      const revisionNow = head?.revision ?? 0;
      // The revision the attempt would have written, held by another PATCH: it did not land, and conditioned on
      // the revision before, no send of it ever can.
      const overtaken = sameLife && revisionNow === pending.revision + 1;
      // Otherwise, without its record or op, it did not land only if the head is still as it expected, and no
      // send of it can still arrive.
      const untouched = sameLife && revisionNow === pending.revision;
      if (!overtaken && (pending.final || (idempotency === undefined && !untouched))) {
        throw new WriteOutcomeUnknownError();
      }
      pending = undefined;
    }
    if (head === undefined || !isLiveHead(head, nowSeconds(store))) {
      throw new ConversationNotFoundError(conversationId);
    }
    const revision = head.revision ?? 0;
    if (expectedVersion !== undefined && head.version !== expectedVersion) {
      throw new VersionConflictError(head.version);
    }
    if (expectedRevision !== undefined && revision !== expectedRevision) {
      throw new RevisionConflictError(revision);
    }
    const next = applyPatch({ title: head.title, meta: head.meta }, patch);
    const changed = next.title !== head.title || next.meta !== head.meta;
    if (!changed && idempotency === undefined) return answer(conversationInfo(conversationId, head));
    const result = conversationInfo(
      conversationId,
      changed ? { ...head, ...next, revision: revision + 1 } : head,
    );
    const read = { createdAt: head.createdAt, revision };
    const outcome = await store.table.commit(
      patchTransaction({
        pk,
        read,
        ...(expectedVersion === undefined ? {} : { expectedVersion }),
        ...(changed ? { change: next } : {}),
        op,
        ...(idempotency === undefined
          ? {}
          : {
              record: {
                ...idempotency,
                floor: floorOf(head, nowSeconds(store)),
                version: head.version,
                result: JSON.stringify(result),
              },
            }),
      }),
      budget,
    );
    if (outcome.status === 'committed') {
      capacity += outcome.capacity;
      return answer(result);
    }
    if (outcome.status === 'unknown' || outcome.unsure) {
      pending = { ...read, final: outcome.status === 'unknown' };
      continue;
    }
    // A condition failed: another PATCH, a delete, or (with expectedVersion) an append got in. Read again.
    await budget.afterFailedCondition(true, outcome.error);
  }
}
