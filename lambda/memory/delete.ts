import { partitionOf } from './arguments.js';
import { garbageMarker } from './attachments/attachment-writes.js';
import { sweepSoon } from './attachments/markers.js';
import type { AttachmentRecord } from './attachments/offload.js';
import { UnavailableError } from './errors.js';
import {
  headKey,
  partitionItemsQuery,
  pastLifeDeletes,
  tombstoneDelete,
  tombstoneUpdate,
} from './requests.js';
import { nowSeconds, retryBudget, type StoreContext } from './store-context.js';
import { type Head, isMessageKey, keys, seqOf } from './table.js';

/**
 * DynamoDB allows 100 actions per transaction: 99 deletes next to the check on the tombstone, or 98 with
 * attachments, whose garbage marker may go with them.
 */
const deletesPerTransaction = (store: StoreContext) => (store.attachments ? 98 : 99);

/**
 * ConversationStore.deleteConversation: first a tombstone on the head (one conditional write, after which the
 * id reads as unknown and its keys are dead), then every item of that life, then the head. Each batch of
 * deletes is a transaction conditioned on that same tombstone, so a cleanup cut short, retried, or still
 * running after another delete finished and a new conversation began, can never touch anything but the dead
 * life. A completed delete leaves nothing: the id starts again at seq 1. One cut short leaves a tombstone that
 * hides what remains; a new conversation then continues above its seqs, and a retried delete finishes.
 */
export async function deleteConversation(store: StoreContext, tenant: string, conversationId: string) {
  const pk = partitionOf(tenant, conversationId);
  let { item: head } = await store.table.get<Head>(headKey(pk));
  if (head === undefined) return; // never written: nothing to delete, and nothing to race with
  if (head.deleted !== true) {
    head = await store.table.update<Head>(tombstoneUpdate(pk), retryBudget(store));
    // Undefined: deleted meanwhile, by another delete.
    head ??= (await store.table.get<Head>(headKey(pk))).item;
    if (head === undefined || head.deleted !== true) return; // another delete finished, a new life began
  }
  if (!(await removePastLife(store, { pk, tenant, conversationId }, head.version))) return;
  const outcome = await store.table.commit(tombstoneDelete(pk, head.version), retryBudget(store));
  if (outcome.status === 'unknown') throw unfinishedDelete(outcome.error);
}

/**
 * Deletes the messages, summary, markers and idempotency records of a dead life (seq or version <= floor), page by
 * page, in transactions that each check the tombstone is still the one being cleaned up. False: it is not (a
 * new life has begun over it, or another delete finished), and what is left is not this cleanup's to touch.
 */
export async function removePastLife(
  store: StoreContext,
  where: { readonly pk: string; readonly tenant: string; readonly conversationId: string },
  floor: number,
): Promise<boolean> {
  const { pk } = where;
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await store.table.query(partitionItemsQuery(pk), { startKey });
    const doomed = page.items.filter((item) => {
      const sk = String(item.sk);
      if (sk === keys.head) return false;
      if (isMessageKey(sk)) return seqOf(sk) <= floor;
      return ((sk === keys.summary ? item.throughSeq : item.version) as number) <= floor;
    });
    const size = deletesPerTransaction(store);
    for (let i = 0; i < doomed.length; i += size) {
      const batch = doomed.slice(i, i + size);
      // Their objects: listed in the same transaction, deleted right after (or by the next sweep).
      const garbage = garbageMarker(
        store,
        where,
        { id: `delete-${floor}-${String(batch[0]?.sk)}`, dueSeconds: nowSeconds(store) },
        batch.map((item) =>
          typeof item.att === 'string' ? (JSON.parse(item.att) as AttachmentRecord[]) : undefined,
        ),
      );
      const outcome = await store.table.commit(
        pastLifeDeletes(
          pk,
          floor,
          batch.map((item) => String(item.sk)),
          garbage,
        ),
        retryBudget(store),
      );
      if (outcome.status === 'unknown') throw unfinishedDelete(outcome.error);
      if (outcome.status === 'rejected') return false;
      await sweepSoon(store, garbage && { pk: garbage.pk, sk: garbage.sk });
    }
    startKey = page.nextKey;
  } while (startKey);
  return true;
}

/** Every step of a delete can be sent again: a delete whose last answer was lost is simply retried. */
function unfinishedDelete(cause: unknown): UnavailableError {
  return new UnavailableError(
    'DynamoDB did not confirm the delete. Retry it: a delete is safe to repeat.',
    1,
    {
      cause,
    },
  );
}
