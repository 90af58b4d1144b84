import { isDeepStrictEqual } from 'node:util';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { RunnableConfig } from '@langchain/core/runnables';
import {
  BaseCheckpointSaver,
  type ChannelVersions,
  type Checkpoint,
  type CheckpointListOptions,
  type CheckpointMetadata,
  type CheckpointTuple,
  getCheckpointId,
  type PendingWrite,
  type SerializerProtocol,
  WRITES_IDX_MAP,
} from '@langchain/langgraph-checkpoint';
import { InvalidRequestError } from '../memory/errors.js';
import { ttlAttribute } from '../memory/table.js';
import { AtomicWriter, type IndexEntry } from './atomic-write.js';
import { type CheckpointItem, CheckpointReader, type ValueLocation } from './checkpoint-reader.js';
import { CheckpointTable } from './checkpoint-table.js';
import { payloadItem } from './stored-payload.js';
import { deleteThread } from './thread-deletion.js';
import { threadKeys } from './thread-keys.js';

export interface DynamoDBSaverOptions {
  /** A document client; build it once at module scope (the same one a ConversationStore uses). */
  readonly client: DynamoDBDocumentClient;
  /** The agent-memory table (the construct's `table.tableName`). */
  readonly tableName: string;
  /**
   * Whose threads these are: every key is scoped to it, so a thread id only has to be unique within its
   * tenant, and list() without a thread_id lists this tenant's threads only.
   */
  readonly tenant: string;
  /**
   * Retention: a checkpoint and its writes expire this many seconds after they were written (DynamoDB TTL
   * on `expiresAt`), so a thread is kept this long after its last step. @default undefined (kept until deleteThread)
   */
  readonly ttlSeconds?: number;
  /** LangGraph's serializer. @default JsonPlusSerializer */
  readonly serde?: SerializerProtocol;
  /**
   * A write too large for one transaction is staged over several requests; one whose writer has not
   * committed it after this long is swept away by the thread's next such write (or deleteThread).
   * @default 15 minutes (Lambda's longest invocation)
   */
  readonly stagedWriteTimeoutMs?: number;
  /** The clock, in epoch milliseconds (tests move it to exercise retention). @default Date.now */
  readonly now?: () => number;
}

/** Parent lookups remembered per saver (immutable once written, so never stale). */
const LOCATION_CACHE_SIZE = 512;

/**
 * A LangGraph checkpointer on the agent-memory DynamoDB table, one partition per (tenant, thread).
 *
 * put: the checkpoint item and one value item per channel it changed, in one transaction (./atomic-write.ts
 * when it does not fit one). The checkpoint item says which checkpoint holds each current channel value,
 * carried over from its parent, so a put writes only what changed and a read fetches every value by key:
 * neither depends on the thread's length, and values are never shared by key between two forks or two
 * racing runs. putWrites: a task's regular writes in one item, kept if already there (a retry or a racing
 * duplicate changes nothing), and its special writes (error, interrupt, resume), each replacing the last.
 * Reads are strongly consistent and return whole checkpoints or none.
 */
export class DynamoDBSaver extends BaseCheckpointSaver {
  private readonly table: CheckpointTable;
  private readonly tenant: string;
  private readonly ttlSeconds: number | undefined;
  private readonly writer: AtomicWriter;
  private readonly now: () => number;
  private readonly locations = new Map<string, Pick<CheckpointItem, 'loc' | 'indexed'>>();
  private readonly reader: CheckpointReader;

  constructor(options: DynamoDBSaverOptions) {
    super(options.serde);
    this.table = new CheckpointTable(options.client, options.tableName);
    threadKeys.threadIndex(options.tenant); // validates the tenant now, not at the first call
    this.tenant = options.tenant;
    this.ttlSeconds = options.ttlSeconds;
    this.now = options.now ?? Date.now;
    this.reader = new CheckpointReader({
      table: this.table,
      serde: this.serde,
      now: this.now,
      onRead: (pk, ns, checkpointId, item) => this.remember(pk, ns, checkpointId, item),
      nextVersion: () => this.getNextVersion(undefined),
    });
    this.writer = new AtomicWriter(this.table, {
      stagedWriteTimeoutMs: options.stagedWriteTimeoutMs ?? 15 * 60 * 1000,
      now: this.now,
      expiry: (nowSec) => this.ttl(nowSec),
    });
    if (this.ttlSeconds !== undefined && !(Number.isInteger(this.ttlSeconds) && this.ttlSeconds > 0)) {
      throw new RangeError(`ttlSeconds must be a positive integer, got ${this.ttlSeconds}`);
    }
  }

  async getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    const threadId = config.configurable?.thread_id;
    if (threadId === undefined || threadId === null || threadId === '') return undefined;
    const { ns } = threadOf(config, 'getTuple');
    const pk = threadKeys.thread(this.tenant, String(threadId));
    const checkpointId = getCheckpointId(config);
    if (checkpointId) {
      const item = await this.table.get({ pk, sk: threadKeys.checkpoint(ns, checkpointId) });
      return item === undefined ? undefined : this.reader.tupleOf(String(threadId), item as CheckpointItem);
    }
    // The newest checkpoint of the namespace: the first item of a descending Query.
    for await (const page of this.table.query(
      pk,
      { prefix: threadKeys.checkpointPrefix(ns) },
      { descending: true, pageSizes: [1, 10] },
    )) {
      for (const item of page) {
        const tuple = await this.reader.tupleOf(String(threadId), item as CheckpointItem);
        if (tuple) return tuple;
      }
    }
    return undefined;
  }

  /**
   * Newest first within a namespace. Without `checkpoint_ns`: every namespace of the thread, one after the
   * other; without `thread_id`: every thread of this saver's tenant, in thread id order.
   */
  async *list(config: RunnableConfig, options: CheckpointListOptions = {}): AsyncGenerator<CheckpointTuple> {
    const { filter, before } = options;
    let remaining = options.limit ?? Number.POSITIVE_INFINITY;
    if (remaining <= 0) return;
    const configurable = config.configurable ?? {};
    const ns: string | undefined = configurable.checkpoint_ns ?? undefined;
    const onlyId: string | undefined = configurable.checkpoint_id || undefined;
    const beforeId: string | undefined = before?.configurable?.checkpoint_id || undefined;
    const threadId = configurable.thread_id;
    const threads =
      threadId === undefined || threadId === null || threadId === ''
        ? this.indexedThreads()
        : oneThread(String(threadId));

    for await (const thread of threads) {
      const pk = threadKeys.thread(this.tenant, thread);
      const range =
        ns !== undefined && beforeId !== undefined
          ? { from: threadKeys.checkpointPrefix(ns), to: threadKeys.checkpoint(ns, beforeId) }
          : { prefix: threadKeys.checkpointPrefix(ns) };
      for await (const page of this.table.query(pk, range, { descending: true, pageSizes: [25] })) {
        const candidates = (page as CheckpointItem[]).filter((item) => {
          const { checkpointId } = threadKeys.parseCheckpoint(item.sk);
          return (
            this.reader.isLive(item) &&
            (onlyId === undefined || checkpointId === onlyId) &&
            (beforeId === undefined || checkpointId < beforeId)
          );
        });
        const heads = await Promise.all(candidates.map((item) => this.reader.headOf(item)));
        const wanted = candidates
          .map((item, index) => ({ item, head: heads[index] }))
          .filter(
            ({ head }) =>
              head !== undefined &&
              Object.entries(filter ?? {}).every(([key, value]) =>
                isDeepStrictEqual((head.metadata as Record<string, unknown>)[key], value),
              ),
          )
          .slice(0, Number.isFinite(remaining) ? remaining : undefined);
        const tuples = await Promise.all(
          wanted.map(({ item, head }) => this.reader.tupleOf(thread, item, head)),
        );
        for (const tuple of tuples) {
          if (tuple === undefined) continue;
          yield tuple;
          if (--remaining <= 0) return;
        }
      }
    }
  }

  async put(
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    newVersions: ChannelVersions,
  ): Promise<RunnableConfig> {
    const { threadId, ns } = threadOf(config, 'put');
    const pk = threadKeys.thread(this.tenant, threadId);
    const parentId: string | undefined = config.configurable?.checkpoint_id || undefined;
    const nowSec = Math.floor(this.now() / 1000);
    const parent = parentId === undefined ? undefined : await this.locationsOf(pk, ns, parentId);
    // A parent that cannot be found (deleted meanwhile) leaves nothing to carry over: store every value,
    // so that this checkpoint is still whole.
    const storeAll = parentId !== undefined && parent === undefined;

    const { channel_values: values, ...record } = checkpoint;
    const has = (channel: string) => Object.hasOwn(values, channel);
    const loc: Record<string, ValueLocation> = {};
    const store: { channel: string; version: number | string }[] = [];
    for (const [channel, version] of Object.entries(newVersions)) {
      if (has(channel)) store.push({ channel, version });
    }
    // What this checkpoint keeps must outlive it: with retention, it lives until nowSec + ttlSeconds.
    const mustLiveUntil = this.ttlSeconds === undefined ? Number.POSITIVE_INFINITY : nowSec + this.ttlSeconds;
    for (const [channel, version] of Object.entries(checkpoint.channel_versions)) {
      if (Object.hasOwn(newVersions, channel)) continue;
      const carried = parent?.loc[channel];
      if (carried !== undefined && carried.v === version) {
        // A value that would expire before this checkpoint is written again (at most once per half TTL).
        if ((carried.e ?? Number.POSITIVE_INFINITY) >= mustLiveUntil || !has(channel)) {
          loc[channel] = carried;
          continue;
        }
      } else if (!storeAll) {
        continue;
      }
      if (has(channel)) store.push({ channel, version });
    }

    const valueExpiry = this.expiry(nowSec, 1.5);
    const valueItems = await Promise.all(
      store.map(async ({ channel, version }) => {
        loc[channel] = { v: version, at: checkpoint.id, ...(valueExpiry ? { e: valueExpiry } : {}) };
        const [type, bytes] = await this.serde.dumpsTyped(values[channel]);
        return payloadItem(pk, threadKeys.value(ns, checkpoint.id, channel), [{ type, bytes }], {
          ...(valueExpiry ? { [ttlAttribute]: valueExpiry } : {}),
        });
      }),
    );
    const [recordBytes, metadataBytes] = await Promise.all([
      this.serde.dumpsTyped(record),
      this.serde.dumpsTyped(metadata),
    ]);

    // The thread index entry (for list() without a thread_id): written with a thread's first checkpoint,
    // and again whenever it would expire before this checkpoint.
    const indexStillValid =
      parent?.indexed !== undefined && (parent.indexed || Number.POSITIVE_INFINITY) >= mustLiveUntil;
    const indexed = indexStillValid ? (parent?.indexed as number) : (this.expiry(nowSec, 1.5) ?? 0);
    const checkpointItem = payloadItem(
      pk,
      threadKeys.checkpoint(ns, checkpoint.id),
      [
        { type: recordBytes[0], bytes: recordBytes[1] },
        { type: metadataBytes[0], bytes: metadataBytes[1] },
      ],
      {
        ...(parentId === undefined ? {} : { parent: parentId }),
        loc,
        indexed,
        ...this.ttl(nowSec),
      },
    );
    const index: IndexEntry[] = [
      {
        item: checkpointItem.item,
        dependents: [
          ...checkpointItem.chunks,
          ...valueItems.flatMap(({ item, chunks }) => [item, ...chunks]),
        ],
      },
    ];
    if (!indexStillValid) {
      index.push({
        item: {
          pk: threadKeys.threadIndex(this.tenant),
          sk: threadKeys.threadIndexEntry(threadId),
          ...(indexed > 0 ? { [ttlAttribute]: indexed } : {}),
        },
        dependents: [],
      });
    }
    await this.writer.write(pk, index);
    this.remember(pk, ns, checkpoint.id, { loc, indexed });
    return { configurable: { thread_id: threadId, checkpoint_ns: ns, checkpoint_id: checkpoint.id } };
  }

  async putWrites(
    config: RunnableConfig,
    writes: PendingWrite[],
    taskId: string,
    taskPath?: string,
  ): Promise<void> {
    const { threadId, ns } = threadOf(config, 'putWrites');
    const checkpointId: string | undefined = config.configurable?.checkpoint_id || undefined;
    if (checkpointId === undefined) {
      throw new InvalidRequestError('putWrites needs config.configurable.checkpoint_id.');
    }
    if (writes.length === 0) return;
    const pk = threadKeys.thread(this.tenant, threadId);
    const nowSec = Math.floor(this.now() / 1000);
    const serialized = await Promise.all(
      writes.map(async ([channel, value], position) => {
        const [type, bytes] = await this.serde.dumpsTyped(value);
        return { type, bytes, channel, index: WRITES_IDX_MAP[channel] ?? position };
      }),
    );
    const common = { task: taskId, path: taskPath ?? '', ...this.ttl(nowSec) };
    const regular = serialized.filter((write) => write.index >= 0);
    // Special channels (error, interrupt, resume, scheduled) replace an earlier write of the same kind.
    const special = [
      ...new Map(serialized.filter((write) => write.index < 0).map((w) => [w.index, w])).values(),
    ];
    const index: IndexEntry[] = [];
    if (regular.length > 0) {
      const { item, chunks } = payloadItem(
        pk,
        threadKeys.writes(ns, checkpointId, taskId, 'R'),
        regular,
        common,
      );
      index.push({ item, ifAbsent: true, dependents: chunks });
    }
    for (const write of special) {
      const { item, chunks } = payloadItem(
        pk,
        threadKeys.writes(ns, checkpointId, taskId, write.index),
        [write],
        common,
      );
      index.push({ item, dependents: chunks });
    }
    await this.writer.write(pk, index);
  }

  /** Deletes every checkpoint, value and write of the thread (./thread-deletion.ts); running it again finishes it. */
  async deleteThread(threadId: string): Promise<void> {
    const pk = await deleteThread(this.table, this.tenant, String(threadId));
    for (const key of this.locations.keys()) if (key.startsWith(`${pk}\n`)) this.locations.delete(key);
  }

  /** A checkpoint's value locations and index state: remembered from this saver's own work, or read. */
  private async locationsOf(
    pk: string,
    ns: string,
    checkpointId: string,
  ): Promise<Pick<CheckpointItem, 'loc' | 'indexed'> | undefined> {
    const known = this.locations.get(locationKey(pk, ns, checkpointId));
    if (known !== undefined) return known;
    const item = (await this.table.get({ pk, sk: threadKeys.checkpoint(ns, checkpointId) })) as
      | CheckpointItem
      | undefined;
    if (item === undefined || !this.reader.isLive(item)) return undefined;
    this.remember(pk, ns, checkpointId, item);
    return item;
  }

  private remember(
    pk: string,
    ns: string,
    checkpointId: string,
    item: Pick<CheckpointItem, 'loc' | 'indexed'>,
  ) {
    const key = locationKey(pk, ns, checkpointId);
    this.locations.delete(key);
    this.locations.set(key, {
      loc: item.loc ?? {},
      ...(item.indexed === undefined ? {} : { indexed: item.indexed }),
    });
    if (this.locations.size > LOCATION_CACHE_SIZE) {
      this.locations.delete(this.locations.keys().next().value as string);
    }
  }

  /** This tenant's thread ids, from its thread index. */
  private async *indexedThreads(): AsyncGenerator<string> {
    for await (const page of this.table.query(threadKeys.threadIndex(this.tenant), 'whole partition')) {
      for (const entry of page)
        if (this.reader.isLive(entry)) yield threadKeys.threadIdOfIndexEntry(entry.sk);
    }
  }

  private expiry(nowSec: number, factor = 1): number | undefined {
    return this.ttlSeconds === undefined ? undefined : nowSec + Math.ceil(this.ttlSeconds * factor);
  }

  private ttl(nowSec: number): Record<string, number> {
    const expiresAt = this.expiry(nowSec);
    return expiresAt === undefined ? {} : { [ttlAttribute]: expiresAt };
  }
}

function threadOf(config: RunnableConfig, operation: string): { threadId: string; ns: string } {
  const configurable = config.configurable;
  if (configurable === undefined || configurable === null) {
    throw new InvalidRequestError(`${operation} needs config.configurable (with a thread_id).`);
  }
  const threadId = configurable.thread_id;
  if ((typeof threadId !== 'string' && typeof threadId !== 'number') || threadId === '') {
    throw new InvalidRequestError(`${operation} needs config.configurable.thread_id (a string).`);
  }
  const ns = configurable.checkpoint_ns ?? '';
  if (typeof ns !== 'string') throw new InvalidRequestError('checkpoint_ns must be a string.');
  return { threadId: String(threadId), ns };
}

async function* oneThread(threadId: string): AsyncGenerator<string> {
  yield threadId;
}

const locationKey = (pk: string, ns: string, checkpointId: string) => `${pk}\n${ns}\n${checkpointId}`;
