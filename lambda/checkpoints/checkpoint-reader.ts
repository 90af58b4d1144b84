import type {
  Checkpoint,
  CheckpointMetadata,
  CheckpointPendingWrite,
  CheckpointTuple,
  SerializerProtocol,
} from '@langchain/langgraph-checkpoint';
import {
  compareWritesSortKeys,
  maxChannelVersion,
  TASKS,
  writesSortKey,
} from '@langchain/langgraph-checkpoint';
import { isLive } from '../memory/head.js';
import type { Expiring } from '../memory/table.js';
import { type CheckpointTable, type Item, itemId } from './checkpoint-table.js';
import { type PayloadAttributes, readPayload } from './stored-payload.js';
import { threadKeys } from './thread-keys.js';

/** Where one channel value of a checkpoint is stored: the checkpoint that wrote it, at which version. */
export interface ValueLocation {
  /** The channel version the value belongs to. */
  readonly v: number | string;
  /** The checkpoint that wrote it (its value item is `CV#<ns>#<at>#<channel>`). */
  readonly at: string;
  /** When the value item expires (epoch seconds), with retention. */
  readonly e?: number;
}

/** A checkpoint item, as stored. Its payload parts: the checkpoint without channel values, then metadata. */
export type CheckpointItem = Item &
  PayloadAttributes & {
    readonly parent?: string;
    readonly loc: Record<string, ValueLocation>;
    /** Until when the thread index entry is known to exist (epoch seconds; 0: without expiry). */
    readonly indexed?: number;
  };

export interface CheckpointReaderOptions {
  readonly table: CheckpointTable;
  readonly serde: SerializerProtocol;
  /** The clock, in epoch milliseconds. */
  readonly now: () => number;
  /** Called with every checkpoint item read whole (the saver remembers where its values are). */
  readonly onRead: (pk: string, ns: string, checkpointId: string, item: CheckpointItem) => void;
  /** The version a channel gets when it has none yet (the saver's getNextVersion). */
  readonly nextVersion: () => number | string;
}

/**
 * The read side of DynamoDBSaver (./dynamodb-saver.ts): a checkpoint item becomes a whole tuple (its record and
 * metadata, every channel value it locates, its pending writes), or none when anything of it expired or is
 * missing.
 */
export class CheckpointReader {
  constructor(private readonly options: CheckpointReaderOptions) {}

  /** DynamoDB deletes expired items lazily (within days), so reads treat them as gone already. */
  isLive(item: Record<string, unknown>): boolean {
    return isLive(item as Expiring, Math.floor(this.options.now() / 1000));
  }

  /** The tuple of a checkpoint item, or undefined when it expired or anything of it is missing. */
  async tupleOf(
    threadId: string,
    item: CheckpointItem,
    knownHead?: { checkpoint: Omit<Checkpoint, 'channel_values'>; metadata: CheckpointMetadata },
  ): Promise<CheckpointTuple | undefined> {
    if (!this.isLive(item)) return undefined;
    const { ns, checkpointId } = threadKeys.parseCheckpoint(item.sk);
    const [head, values, pendingWrites] = await Promise.all([
      knownHead ?? this.headOf(item),
      this.valuesOf(item),
      this.pendingWritesOf(item.pk, ns, checkpointId),
    ]);
    if (head === undefined || values === undefined || pendingWrites === undefined) return undefined;
    const checkpoint = { ...head.checkpoint, channel_values: values } as Checkpoint;
    if (checkpoint.v < 4 && item.parent !== undefined) {
      // Checkpoints before format 4 kept pending sends as the parent's writes to the TASKS channel.
      const sends = ((await this.pendingWritesOf(item.pk, ns, item.parent)) ?? []).filter(
        ([, channel]) => channel === TASKS,
      );
      if (sends.length > 0) {
        checkpoint.channel_values[TASKS] = sends.map(([, , value]) => value);
        const versions = Object.values(checkpoint.channel_versions);
        checkpoint.channel_versions[TASKS] =
          versions.length > 0 ? maxChannelVersion(...versions) : this.options.nextVersion();
      }
    }
    this.options.onRead(item.pk, ns, checkpointId, item);
    const configOf = (id: string) => ({
      configurable: { thread_id: threadId, checkpoint_ns: ns, checkpoint_id: id },
    });
    return {
      config: configOf(checkpointId),
      checkpoint,
      metadata: head.metadata,
      ...(item.parent === undefined ? {} : { parentConfig: configOf(item.parent) }),
      pendingWrites,
    };
  }

  /** The checkpoint (without channel values) and metadata of a checkpoint item. */
  async headOf(
    item: CheckpointItem,
  ): Promise<{ checkpoint: Omit<Checkpoint, 'channel_values'>; metadata: CheckpointMetadata } | undefined> {
    const parts = await this.partsOf(item);
    if (parts?.length !== 2) return undefined;
    const [record, metadata] = await Promise.all(
      parts.map((part) => this.options.serde.loadsTyped(part.type, part.bytes)),
    );
    return { checkpoint: record, metadata };
  }

  /** The channel values a checkpoint item locates: every one of them, or undefined. */
  async valuesOf(item: CheckpointItem): Promise<Record<string, unknown> | undefined> {
    const { ns } = threadKeys.parseCheckpoint(item.sk);
    const entries = Object.entries(item.loc ?? {});
    if (entries.length === 0) return {};
    const keys = entries.map(([channel, { at }]) => ({ pk: item.pk, sk: threadKeys.value(ns, at, channel) }));
    const found = await this.options.table.batchGet(keys);
    const values = await Promise.all(
      keys.map(async (key) => {
        const valueItem = found.get(itemId(key));
        if (valueItem === undefined || !this.isLive(valueItem)) return undefined;
        const part = (await this.partsOf(valueItem as Item & PayloadAttributes))?.[0];
        return part === undefined
          ? undefined
          : { value: await this.options.serde.loadsTyped(part.type, part.bytes) };
      }),
    );
    if (values.some((value) => value === undefined)) return undefined;
    return Object.fromEntries(entries.map(([channel], position) => [channel, values[position]?.value]));
  }

  /** A checkpoint's pending writes, in the order LangGraph applies them (task path, task id, index). */
  async pendingWritesOf(
    pk: string,
    ns: string,
    checkpointId: string,
  ): Promise<CheckpointPendingWrite[] | undefined> {
    const writes: { key: ReturnType<typeof writesSortKey>; write: CheckpointPendingWrite }[] = [];
    for await (const page of this.options.table.query(pk, {
      prefix: threadKeys.writesPrefix(ns, checkpointId),
    })) {
      for (const item of page as (Item & PayloadAttributes)[]) {
        if (!this.isLive(item)) continue;
        const parts = await this.partsOf(item);
        if (parts === undefined) return undefined;
        for (const part of parts) {
          const task = item.task as string;
          writes.push({
            key: writesSortKey((item.path as string | undefined) ?? '', task, part.i ?? 0),
            write: [task, part.c ?? '', await this.options.serde.loadsTyped(part.type, part.bytes)],
          });
        }
      }
    }
    writes.sort((a, b) => compareWritesSortKeys(a.key, b.key));
    return writes.map(({ write }) => write);
  }

  /** An item's payload parts, reading its chunks when it has any; undefined when incomplete. */
  async partsOf(item: Item & PayloadAttributes) {
    if (item.chunks === undefined) return readPayload(item);
    const pieces: Uint8Array[] = [];
    for await (const page of this.options.table.query(item.pk, {
      prefix: threadKeys.chunkPrefix(item.chunks.set),
    })) {
      for (const chunk of page) pieces.push(chunk.data as Uint8Array);
    }
    return readPayload(item, pieces);
  }
}
