import { randomUUID } from 'node:crypto';
import { UnavailableError } from '../memory/errors.js';
import type { CheckpointTable, Item, TransactAction } from './checkpoint-table.js';
import { estimateItemBytes } from './stored-payload.js';
import { threadKeys } from './thread-keys.js';

/**
 * An item that makes a write visible (a checkpoint item, a task's writes), with its `dependents`: the items
 * only reachable through it (its chunks, a checkpoint's values). `ifAbsent`: an existing item of that key
 * is kept instead (a task's first writes win).
 */
export interface IndexEntry {
  readonly item: Item;
  readonly ifAbsent?: boolean;
  readonly dependents: Item[];
}

/** DynamoDB's transaction limits: 100 actions and 4 MB, with room for our size estimate's error. */
const TRANSACTION_ACTIONS = 100;
const TRANSACTION_BYTES = 3.5 * 1024 * 1024;

/**
 * Writes a partition's items so that they become visible at once, whatever their number and size.
 *
 * When everything fits one transaction, it is one TransactWriteItems. Otherwise a marker item listing the
 * dependents is written first, then the dependents (in batches: nothing references them yet), then one
 * transaction of the index items and the marker's deletion, conditioned on the marker still being there.
 * A writer that dies before that commit leaves only unreferenced items and its marker; a later staged
 * write of the partition sweeps markers older than `stagedWriteTimeoutMs` (the marker first, so that a
 * writer waking up after it can no longer commit), then what they list.
 */
export class AtomicWriter {
  constructor(
    private readonly table: CheckpointTable,
    private readonly options: {
      readonly stagedWriteTimeoutMs: number;
      readonly now: () => number;
      /** The expiry attribute of a marker written now (retention), or none. */
      readonly expiry: (nowSec: number) => Record<string, number>;
    },
  ) {}

  async write(pk: string, entries: readonly IndexEntry[]): Promise<void> {
    const dependents = entries.flatMap((entry) => entry.dependents);
    const items = [...entries.map((entry) => entry.item), ...dependents];
    const fits =
      items.length <= TRANSACTION_ACTIONS &&
      items.reduce((sum, item) => sum + estimateItemBytes(item), 0) <= TRANSACTION_BYTES;
    await (fits ? this.commitTogether(entries) : this.stageThenCommit(pk, entries, dependents));
  }

  /** Removes what dead writers staged in the partition: markers older than the timeout, then their items. */
  async sweep(pk: string): Promise<void> {
    const cutoff = this.options.now() - this.options.stagedWriteTimeoutMs;
    for await (const page of this.table.query(pk, { prefix: threadKeys.stagedPrefix })) {
      for (const marker of page) {
        const startedAt = marker.startedAt as number;
        if (startedAt > cutoff) continue;
        const claimed = await this.table.deleteIf(
          { pk, sk: marker.sk },
          { expression: 'startedAt = :startedAt', values: { ':startedAt': startedAt } },
        );
        if (claimed) {
          await this.table.writeBatch((marker.staged as string[]).map((sk) => ({ delete: { pk, sk } })));
        }
      }
    }
  }

  private async commitTogether(entries: readonly IndexEntry[]): Promise<void> {
    let remaining = entries;
    while (remaining.length > 0) {
      const outcome = await this.table.commit(
        remaining.flatMap((entry) => [
          this.put(entry),
          ...entry.dependents.map((item) => this.put({ item })),
        ]),
      );
      if (outcome.committed) return;
      // Only an `ifAbsent` item has a condition: it exists, so it stays out, with its dependents.
      let position = 0;
      remaining = remaining.filter((entry) => {
        const failed = outcome.reasons[position]?.Code === 'ConditionalCheckFailed';
        position += 1 + entry.dependents.length;
        return !failed;
      });
    }
  }

  private async stageThenCommit(
    pk: string,
    entries: readonly IndexEntry[],
    dependents: readonly Item[],
  ): Promise<void> {
    await this.sweep(pk);
    const now = this.options.now();
    const marker = {
      pk,
      sk: threadKeys.staged(randomUUID()),
      startedAt: now,
      staged: dependents.map((item) => item.sk),
      ...this.options.expiry(Math.floor(now / 1000)),
    };
    await this.table.put(marker);
    await this.table.writeBatch(dependents.map((item) => ({ put: item })));

    let remaining = entries;
    let garbage: string[] = [];
    for (;;) {
      const onlyIfStillMarked = { ConditionExpression: 'attribute_exists(pk)' };
      const markerAction: TransactAction =
        garbage.length === 0
          ? { Delete: { TableName: this.table.tableName, Key: { pk, sk: marker.sk }, ...onlyIfStillMarked } }
          : // What a left-out `ifAbsent` item staged is garbage: the marker keeps it for the sweep.
            {
              Put: {
                TableName: this.table.tableName,
                Item: { ...marker, startedAt: 0, staged: garbage },
                ...onlyIfStillMarked,
              },
            };
      const outcome = await this.table.commit([...remaining.map((entry) => this.put(entry)), markerAction]);
      if (outcome.committed) break;
      if (outcome.reasons.at(-1)?.Code === 'ConditionalCheckFailed') {
        throw new UnavailableError(
          'This write was staged for too long and was swept as abandoned; nothing of it was committed.',
        );
      }
      const left = remaining.filter(
        (_, position) => outcome.reasons[position]?.Code === 'ConditionalCheckFailed',
      );
      garbage = [...garbage, ...left.flatMap((entry) => entry.dependents.map((item) => item.sk))];
      remaining = remaining.filter((entry) => !left.includes(entry));
    }
    if (garbage.length > 0) await this.sweep(pk);
  }

  private put(entry: { item: Item; ifAbsent?: boolean }): TransactAction {
    return {
      Put: {
        TableName: this.table.tableName,
        Item: entry.item,
        ...(entry.ifAbsent ? { ConditionExpression: 'attribute_not_exists(pk)' } : {}),
      },
    };
  }
}
