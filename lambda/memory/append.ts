import { partitionOf, requireSeq } from './arguments.js';
import { prepareMessages } from './attachments/attachment-writes.js';
import { presentMessages } from './attachments/presentation.js';
import { VersionConflictError } from './errors.js';
import { liveVersion } from './head.js';
import { idempotencyKeyOf } from './idempotency.js';
import { requireTitle } from './metadata.js';
import { headKey } from './requests.js';
import { nowSeconds, type StoreContext } from './store-context.js';
import type { AppendOptions, AppendResult } from './store-types.js';
import type { Head } from './table.js';
import { type AttemptTarget, commitAttempt, newWrite, settleAttachments } from './write.js';

/**
 * ConversationStore.append. With `expectedVersion` the base is the caller's and one lost race is a
 * VersionConflictError; without it the head is read (strongly consistent) and a lost race goes again on the
 * version the failed condition returned.
 */
export async function append(
  store: StoreContext,
  tenant: string,
  conversationId: string,
  messages: readonly unknown[],
  options: AppendOptions = {},
): Promise<AppendResult> {
  const pk = partitionOf(tenant, conversationId);
  const batch = prepareMessages(store, messages);
  const { expectedVersion, title } = options;
  if (expectedVersion !== undefined) requireSeq('expectedVersion', expectedVersion);
  if (title !== undefined) requireTitle(title);
  const key = idempotencyKeyOf(options, () => ({
    messages: batch.map(({ input }) => input),
    expectedVersion,
    title,
  }));
  const write = await newWrite(store, {
    pk,
    tenant,
    conversationId,
    messages: batch,
    idempotency: key,
    ...(title === undefined ? {} : { title }),
  });
  const result = await settleAttachments(store, write, () => commit(store, write, expectedVersion));
  return {
    ...result,
    messages: await presentMessages(
      store,
      { tenant, conversationId },
      result.messages,
      options.attachments ?? 'inline',
      write.staged?.known,
    ),
  };
}

async function commit(
  store: StoreContext,
  write: Awaited<ReturnType<typeof newWrite>>,
  expectedVersion: number | undefined,
): Promise<AppendResult> {
  const { pk } = write;
  let capacity = 0;
  let target: AttemptTarget = { base: expectedVersion ?? 0, remove: [] };
  if (expectedVersion === undefined) {
    const read = await store.table.get<Head>(headKey(pk));
    capacity += read.capacity;
    target = { base: liveVersion(read.item, nowSeconds(store)), remove: [], known: { head: read.item } };
  }

  for (;;) {
    const outcome = await commitAttempt(store, write, target);
    if (outcome.done) {
      return { ...outcome.result, consumedCapacity: capacity + outcome.result.consumedCapacity };
    }
    if (expectedVersion !== undefined && outcome.current !== expectedVersion) {
      throw new VersionConflictError(outcome.current, { cause: outcome.error });
    }
    await write.budget.afterFailedCondition(outcome.current !== target.base, outcome.error);
    target = { base: outcome.current, remove: [], known: { head: outcome.head } };
  }
}
