import { UnavailableError } from '../memory/errors.js';
import { type CheckpointTable, itemId, type Key, type SortKeyRange } from './checkpoint-table.js';
import { threadKeys } from './thread-keys.js';

/**
 * Deletes every checkpoint, value and write of a thread. Checkpoints go first, oldest first and each
 * namespace's newest last, so a delete cut short leaves whole checkpoints (the newest ones) or none;
 * then everything else, then the thread's index entry. Running it again finishes it. Returns the thread's
 * partition key.
 */
export async function deleteThread(
  table: CheckpointTable,
  tenant: string,
  threadId: string,
): Promise<string> {
  const pk = threadKeys.thread(tenant, threadId);
  for (let round = 0; ; round++) {
    const checkpoints = await allKeys(table, pk, { prefix: threadKeys.checkpointPrefix() });
    if (checkpoints.length === 0) break;
    if (round >= 10) throw new UnavailableError('The thread kept receiving checkpoints while being deleted.');
    const newest = new Map<string, Key>();
    for (const key of checkpoints) newest.set(threadKeys.parseCheckpoint(key.sk).ns, key);
    const newestIds = new Set([...newest.values()].map(itemId));
    await table.writeBatch(
      checkpoints.filter((key) => !newestIds.has(itemId(key))).map((key) => ({ delete: key })),
    );
    await table.writeBatch([...newest.values()].map((key) => ({ delete: key })));
  }
  const rest = await allKeys(table, pk, 'whole partition');
  await table.writeBatch(rest.map((key) => ({ delete: key })));
  await table.writeBatch([
    { delete: { pk: threadKeys.threadIndex(tenant), sk: threadKeys.threadIndexEntry(threadId) } },
  ]);
  return pk;
}

async function allKeys(table: CheckpointTable, pk: string, range: SortKeyRange): Promise<Key[]> {
  const keys: Key[] = [];
  for await (const page of table.query(pk, range, { projection: 'pk, sk' })) keys.push(...page);
  return keys;
}
