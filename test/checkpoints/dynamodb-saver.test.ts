import { randomUUID } from 'node:crypto';
import { DeleteCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { RunnableConfig } from '@langchain/core/runnables';
import { type CheckpointTuple, INTERRUPT, RESUME, TASKS } from '@langchain/langgraph-checkpoint';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkpointTableActions } from '../../lambda/checkpoints/checkpoint-table.js';
import { DynamoDBSaver, type DynamoDBSaverOptions } from '../../lambda/checkpoints/dynamodb-saver.js';
import { CHUNK_BYTES } from '../../lambda/checkpoints/stored-payload.js';
import { threadKeys } from '../../lambda/checkpoints/thread-keys.js';
import { ConversationStore } from '../../lambda/memory/conversation-store.js';
import { InvalidRequestError, UnavailableError } from '../../lambda/memory/errors.js';
import { createTestTable } from '../support/dynamodb.js';
import { cancelled } from '../support/dynamodb-errors.js';
import {
  checkpointWith,
  clientWithFaults,
  connectionReset,
  kindsOf,
  metadata,
  putAfter,
  randomText,
  threadConfig,
  threadItems,
} from './checkpoint-table-access.js';

type Table = Awaited<ReturnType<typeof createTestTable>>;

const MB = 1024 * 1024;
/** Chunk items a value takes (its JSON, as LangGraph's serializer writes it). */
const chunksOf = (value: unknown) => Math.ceil(JSON.stringify(value).length / CHUNK_BYTES);

async function all(saver: DynamoDBSaver, config: RunnableConfig, options = {}): Promise<CheckpointTuple[]> {
  const tuples: CheckpointTuple[] = [];
  for await (const tuple of saver.list(config, options)) tuples.push(tuple);
  return tuples;
}

describe('DynamoDBSaver on DynamoDB Local', () => {
  let table: Table;
  const saverFor = (tenant: string, options: Partial<DynamoDBSaverOptions> = {}) =>
    new DynamoDBSaver({ client: table.client, tableName: table.tableName, tenant, ...options });
  const items = (tenant: string, threadId: string) =>
    threadItems(table.client, table.tableName, tenant, threadId);

  beforeAll(async () => {
    table = await createTestTable('checkpoints');
  });

  describe('large checkpoints', () => {
    it('round-trips a 1 MB checkpoint, stored in chunks in the same transaction as its index', async () => {
      // Prepare
      const tenant = `t-${randomUUID()}`;
      const saver = saverFor(tenant);
      const big = randomText(MB);
      const checkpoint = checkpointWith({ messages: big, step: 1 });

      // Act
      const config = await saver.put(
        threadConfig('big'),
        checkpoint,
        metadata(1),
        checkpoint.channel_versions,
      );
      const tuple = await saverFor(tenant).getTuple(threadConfig('big'));

      // Assess: whole, and stored as one value item holding 3 chunks of at most 384 KiB, no staging marker.
      expect(tuple?.config).toEqual(config);
      expect(tuple?.checkpoint).toEqual(checkpoint);
      expect(tuple?.checkpoint.channel_values.messages).toHaveLength(big.length);
      expect(kindsOf(await items(tenant, 'big'))).toEqual({ CP: 1, CV: 2, CH: 3 });
    });

    it('round-trips a 4.5 MB checkpoint over several requests and leaves no marker behind', async () => {
      // Prepare: more than one transaction can hold (4 MB).
      const tenant = `t-${randomUUID()}`;
      const saver = saverFor(tenant);
      const [a, b] = [randomText(2 * MB), randomText(2.5 * MB)];
      const checkpoint = checkpointWith({ a, b, small: 'x' });

      // Act
      await saver.put(threadConfig('huge'), checkpoint, metadata(1), checkpoint.channel_versions);
      const tuple = await saverFor(tenant).getTuple(threadConfig('huge'));

      // Assess
      expect(tuple?.checkpoint).toEqual(checkpoint);
      const kinds = kindsOf(await items(tenant, 'huge'));
      expect(kinds.ST).toBeUndefined();
      expect(kinds.CH).toBe(chunksOf(a) + chunksOf(b));
    });

    it('round-trips a 1 MB pending write and a fan-out of 250 writes from one task', async () => {
      // Prepare
      const tenant = `t-${randomUUID()}`;
      const saver = saverFor(tenant);
      const config = await putAfter(saver, threadConfig('writes'), checkpointWith({}));
      const big = randomText(MB);
      const sends = Array.from(
        { length: 250 },
        (_, n) => [TASKS, { node: 'worker', arg: n }] as [string, unknown],
      );

      // Act
      await saver.putWrites(config, [['report', big]], 'task-big');
      await saver.putWrites(config, sends, 'task-fan-out');
      const tuple = await saverFor(tenant).getTuple(config);

      // Assess: in (task, idx) order, whole.
      expect(tuple?.pendingWrites?.map(([task]) => task)).toEqual([
        'task-big',
        ...sends.map(() => 'task-fan-out'),
      ]);
      expect(tuple?.pendingWrites?.[0]?.[2]).toBe(big);
      expect(tuple?.pendingWrites?.slice(1).map(([, , value]) => value)).toEqual(
        sends.map(([, value]) => value),
      );
    });
  });

  describe('put', () => {
    it('stores only the channels that changed and finds the others through the parent', async () => {
      // Prepare
      const tenant = `t-${randomUUID()}`;
      const saver = saverFor(tenant);
      const first = checkpointWith({ messages: ['hi'], counter: 1, big: randomText(10_000) });
      const c1 = await putAfter(saver, threadConfig('carry'), first);

      // Act: a step that changes only the counter.
      const second = { ...checkpointWith({}), channel_values: { ...first.channel_values, counter: 2 } };
      second.channel_versions = { messages: 1, counter: 2, big: 1 };
      await putAfter(saver, c1, second, { counter: 2 }, 1);
      const latest = await saverFor(tenant).getTuple(threadConfig('carry'));

      // Assess: whole, with one new value item (the counter) for the second checkpoint.
      expect(latest?.checkpoint).toEqual(second);
      expect(latest?.parentConfig).toEqual(c1);
      expect(kindsOf(await items(tenant, 'carry'))).toEqual({ CP: 2, CV: 4 });
    });

    it('keeps forks apart even when both branches reuse the same channel versions', async () => {
      // Prepare: LangGraph JS numbers versions 1, 2, 3, ...: a fork from an older checkpoint writes the same
      // versions again, with other values.
      const tenant = `t-${randomUUID()}`;
      const saver = saverFor(tenant);
      const root = await putAfter(saver, threadConfig('fork'), checkpointWith({ messages: ['a'] }));
      const next = (messages: string[]) => ({ ...checkpointWith({ messages }, 2) });
      const original = await putAfter(saver, root, next(['a', 'original']), { messages: 2 }, 1);

      // Act
      const fork = await putAfter(saver, root, next(['a', 'fork']), { messages: 2 }, 1);

      // Assess: each branch reads its own value.
      expect((await saver.getTuple(original))?.checkpoint.channel_values).toEqual({
        messages: ['a', 'original'],
      });
      expect((await saver.getTuple(fork))?.checkpoint.channel_values).toEqual({ messages: ['a', 'fork'] });
    });

    it('lets two writers put on one thread at once without corrupting it', async () => {
      // Prepare
      const tenant = `t-${randomUUID()}`;
      const [one, two] = [saverFor(tenant), saverFor(tenant)];
      const root = await putAfter(one, threadConfig('race'), checkpointWith({ messages: ['start'], n: 0 }));

      // Act: 2 writers x 10 steps from the same root, interleaved.
      const run = async (saver: DynamoDBSaver, name: string) => {
        let config = root;
        for (let n = 1; n <= 10; n++) {
          const checkpoint = checkpointWith({ messages: ['start', `${name}-${n}`], n }, n + 1);
          config = await putAfter(saver, config, checkpoint, checkpoint.channel_versions, n);
        }
        return config;
      };
      const [lastOne, lastTwo] = await Promise.all([run(one, 'one'), run(two, 'two')]);

      // Assess: every checkpoint whole, each branch's last one where its writer left it.
      const tuples = await all(saverFor(tenant), threadConfig('race'));
      expect(tuples).toHaveLength(21);
      for (const tuple of tuples.slice(0, -1)) {
        const { n, messages } = tuple.checkpoint.channel_values as { n: number; messages: string[] };
        expect(messages[1]).toMatch(new RegExp(`-${n}$`));
      }
      expect((await one.getTuple(lastOne))?.checkpoint.channel_values.messages).toEqual(['start', 'one-10']);
      expect((await one.getTuple(lastTwo))?.checkpoint.channel_values.messages).toEqual(['start', 'two-10']);
    });

    it('rejects a config without a thread_id, storing nothing', async () => {
      // Prepare
      const tenant = `t-${randomUUID()}`;

      // Act
      const put = saverFor(tenant).put({ configurable: {} }, checkpointWith({ a: 1 }), metadata(0), { a: 1 });

      // Assess
      await expect(put).rejects.toBeInstanceOf(InvalidRequestError);
      expect(await all(saverFor(tenant), {})).toEqual([]);
    });
  });

  describe('putWrites', () => {
    it("keeps a task's first writes on a retry or a duplicate, and the newest special write", async () => {
      // Prepare
      const tenant = `t-${randomUUID()}`;
      const saver = saverFor(tenant);
      const config = await putAfter(saver, threadConfig('writes'), checkpointWith({}));
      await saver.putWrites(
        config,
        [
          ['answer', 'first'],
          ['log', 1],
        ],
        'task',
      );
      await saver.putWrites(config, [[INTERRUPT, 'question?']], 'task');

      // Act
      await saver.putWrites(
        config,
        [
          ['answer', 'second'],
          ['log', 2],
          ['extra', 3],
        ],
        'task',
      );
      await saver.putWrites(
        config,
        [
          [INTERRUPT, 'another question?'],
          [RESUME, 'yes'],
        ],
        'task',
      );
      const tuple = await saver.getTuple(config);

      // Assess: (task, idx) order: RESUME -4, INTERRUPT -3, then the regular writes.
      expect(tuple?.pendingWrites).toEqual([
        ['task', RESUME, 'yes'],
        ['task', INTERRUPT, 'another question?'],
        ['task', 'answer', 'first'],
        ['task', 'log', 1],
      ]);
    });

    it("keeps exactly one of two racing writers' sets of writes, never a mix", async () => {
      // Prepare
      const tenant = `t-${randomUUID()}`;
      const config = await putAfter(saverFor(tenant), threadConfig('racing-writes'), checkpointWith({}));
      const writes = (name: string, count: number) =>
        Array.from({ length: count }, (_, n) => [`ch${n}`, `${name}-${n}`] as [string, unknown]);

      // Act
      await Promise.all([
        saverFor(tenant).putWrites(config, writes('one', 3), 'task'),
        saverFor(tenant).putWrites(config, writes('two', 5), 'task'),
      ]);
      const pending = (await saverFor(tenant).getTuple(config))?.pendingWrites ?? [];

      // Assess
      const winner = String(pending[0]?.[2]).split('-')[0] as string;
      expect(pending.map(([, , value]) => value)).toEqual(
        writes(winner, winner === 'one' ? 3 : 5).map(([, value]) => value),
      );
    });
  });

  describe('list', () => {
    it("lists this tenant's threads only, newest first within a thread, and pages back with before", async () => {
      // Prepare
      const tenant = `t-${randomUUID()}`;
      const saver = saverFor(tenant);
      const configs: RunnableConfig[] = [];
      for (const thread of ['a', 'b']) {
        let config = threadConfig(thread);
        for (let n = 0; n < 3; n++) {
          config = await putAfter(saver, config, checkpointWith({ n }, n + 1), { n: n + 1 }, n);
          configs.push(config);
        }
      }
      await putAfter(saverFor(`other-${randomUUID()}`), threadConfig('a'), checkpointWith({ n: 9 }));

      // Act
      const everything = await all(saverFor(tenant), {});
      const beforeLast = await all(saverFor(tenant), threadConfig('a'), { before: configs[2], limit: 1 });
      const inputs = await all(saverFor(tenant), {}, { filter: { step: 0 } });

      // Assess
      const ids = (tuples: CheckpointTuple[]) =>
        tuples.map((tuple) => tuple.config.configurable?.checkpoint_id);
      const id = (n: number) => configs[n]?.configurable?.checkpoint_id;
      expect(ids(everything)).toEqual([id(2), id(1), id(0), id(5), id(4), id(3)]);
      expect(ids(beforeLast)).toEqual([id(1)]);
      expect(ids(inputs)).toEqual([id(0), id(3)]);
    });
  });

  describe('reads never return a partial checkpoint', () => {
    it('treats a checkpoint whose value item is missing as absent, and reads the newest whole one', async () => {
      // Prepare
      const tenant = `t-${randomUUID()}`;
      const saver = saverFor(tenant);
      const c1 = await putAfter(saver, threadConfig('damaged'), checkpointWith({ messages: ['one'] }));
      const damaged = checkpointWith({ messages: ['one', 'two'] }, 2);
      const c2 = await putAfter(saver, c1, damaged, { messages: 2 }, 1);
      await table.client.send(
        new DeleteCommand({
          TableName: table.tableName,
          Key: {
            pk: threadKeys.thread(tenant, 'damaged'),
            sk: threadKeys.value('', damaged.id, 'messages'),
          },
        }),
      );

      // Act
      const latest = await saverFor(tenant).getTuple(threadConfig('damaged'));
      const exact = await saverFor(tenant).getTuple(c2);

      // Assess
      expect(latest?.config).toEqual(c1);
      expect(exact).toBeUndefined();
      expect((await all(saverFor(tenant), threadConfig('damaged'))).map((tuple) => tuple.config)).toEqual([
        c1,
      ]);
    });
  });

  describe('retention', () => {
    it('expires checkpoints after ttlSeconds and rewrites old values before they could expire under a newer one', async () => {
      // Prepare
      const tenant = `t-${randomUUID()}`;
      let now = Date.UTC(2026, 0, 1);
      const saver = saverFor(tenant, { ttlSeconds: 1000, now: () => now });
      const first = checkpointWith({ prompt: 'long-lived', counter: 0 });
      const c1 = await putAfter(saver, threadConfig('ttl'), first);

      // Act: one step 600 s later (the prompt's value then expires in 900 s, less than ttlSeconds).
      now += 600_000;
      const second = {
        ...checkpointWith({ prompt: 'long-lived', counter: 1 }),
        channel_versions: { prompt: 1, counter: 2 },
      };
      const c2 = await putAfter(saver, c1, second, { counter: 2 }, 1);
      const valueItems = (await items(tenant, 'ttl')).filter((item) => String(item.sk).startsWith('CV#'));

      // Assess: the prompt was written again under the second checkpoint, expiring 1,500 s after it.
      const nowSec = now / 1000;
      expect(valueItems.map((item) => [String(item.sk).split('#')[2], item.expiresAt])).toEqual(
        expect.arrayContaining([[second.id, nowSec + 1500]]),
      );
      expect(valueItems.filter((item) => String(item.sk).endsWith('#prompt'))).toHaveLength(2);
      // 999 s after the last step the thread is whole; at 1,000 s it is gone.
      now += 999_000;
      expect((await saver.getTuple(threadConfig('ttl')))?.checkpoint).toEqual(second);
      now += 1000;
      expect(await saver.getTuple(threadConfig('ttl'))).toBeUndefined();
      expect(await saver.getTuple(c2)).toBeUndefined();
      expect(await all(saver, {})).toEqual([]);
    });
  });

  describe('retention turned off', () => {
    it('rewrites values that would still expire, so a thread kept forever stays whole', async () => {
      // Prepare: a checkpoint written with retention, then one without.
      const tenant = `t-${randomUUID()}`;
      let now = Date.UTC(2026, 0, 1);
      const clock = () => now;
      const first = checkpointWith({ prompt: 'kept', counter: 0 });
      const c1 = await putAfter(saverFor(tenant, { ttlSeconds: 60, now: clock }), threadConfig('off'), first);
      const second = {
        ...checkpointWith({ prompt: 'kept', counter: 1 }),
        channel_versions: { prompt: 1, counter: 2 },
      };

      // Act
      await putAfter(saverFor(tenant, { now: clock }), c1, second, { counter: 2 }, 1);
      now += 3_600_000;

      // Assess: long after the first checkpoint's values expired, the second is whole.
      expect((await saverFor(tenant, { now: clock }).getTuple(threadConfig('off')))?.checkpoint).toEqual(
        second,
      );
    });
  });

  describe('deleteThread', () => {
    it('removes every item of the thread and its index entry, and nothing of a conversation with the same id', async () => {
      // Prepare
      const tenant = `t-${randomUUID()}`;
      const saver = saverFor(tenant);
      const config = await putAfter(
        saver,
        threadConfig('shared-id'),
        checkpointWith({ big: randomText(MB) }),
      );
      await saver.putWrites(config, [['x', 1]], 'task');
      await putAfter(saver, threadConfig('shared-id', 'child:1'), checkpointWith({ y: 2 }));
      await putAfter(saver, threadConfig('other'), checkpointWith({ z: 3 }));
      const store = new ConversationStore({ client: table.client, tableName: table.tableName });
      await store.append(tenant, 'shared-id', [{ role: 'user', content: 'hello' }]);

      // Act
      await saverFor(tenant).deleteThread('shared-id');

      // Assess
      expect(await items(tenant, 'shared-id')).toEqual([]);
      expect(await saver.getTuple(threadConfig('shared-id'))).toBeUndefined();
      expect((await all(saver, {})).map((tuple) => tuple.config.configurable?.thread_id)).toEqual(['other']);
      const index = await table.client.send(
        new GetCommand({
          TableName: table.tableName,
          Key: { pk: threadKeys.threadIndex(tenant), sk: threadKeys.threadIndexEntry('shared-id') },
        }),
      );
      expect(index.Item).toBeUndefined();
      expect((await store.load(tenant, 'shared-id')).messages.map((m) => m.content)).toEqual(['hello']);
    });

    it('cut short, leaves only whole checkpoints (the newest), and finishes when run again', async () => {
      // Prepare: 60 checkpoints; the delete dies after its first batch of deletes.
      const tenant = `t-${randomUUID()}`;
      let config = threadConfig('cut');
      for (let n = 0; n < 60; n++) {
        const checkpoint = {
          ...checkpointWith({ n, fixed: 'kept' }, n + 1),
          channel_versions: { n: n + 1, fixed: 1 },
        };
        config = await putAfter(
          saverFor(tenant),
          config,
          checkpoint,
          n === 0 ? { n: 1, fixed: 1 } : { n: n + 1 },
          n,
        );
      }
      let batches = 0;
      const dying = new DynamoDBSaver({
        client: clientWithFaults(table.endpoint, async (command, _input, send) => {
          if (command === 'BatchWriteItemCommand' && ++batches > 1) throw new Error('process died');
          return send();
        }),
        tableName: table.tableName,
        tenant,
      });

      // Act
      await expect(dying.deleteThread('cut')).rejects.toThrow();
      const survivors = await all(saverFor(tenant), threadConfig('cut'));
      const latest = await saverFor(tenant).getTuple(threadConfig('cut'));
      await saverFor(tenant).deleteThread('cut');

      // Assess
      expect(survivors.length).toBe(35);
      expect(latest?.config).toEqual(config);
      for (const tuple of survivors) expect(tuple.checkpoint.channel_values.fixed).toBe('kept');
      expect(await items(tenant, 'cut')).toEqual([]);
    });
  });

  it('needs no IAM action beyond checkpointTableActions (what the construct grants is tested against it)', async () => {
    // Prepare: record the action behind every request of every kind of operation.
    const tenant = `t-${randomUUID()}`;
    const actions = new Set<string>();
    const recorded = saverFor(tenant, {
      stagedWriteTimeoutMs: 0,
      client: clientWithFaults(table.endpoint, async (command, input, send) => {
        if (command === 'TransactWriteItemsCommand') {
          for (const action of input.TransactItems as Record<string, unknown>[]) {
            for (const kind of Object.keys(action)) actions.add(`dynamodb:${kind}Item`);
          }
        } else {
          actions.add(`dynamodb:${command.replace(/Command$/, '')}`);
        }
        return send();
      }),
    });

    // Act
    const c1 = await putAfter(recorded, threadConfig('grants'), checkpointWith({ a: randomText(MB) }));
    await recorded.putWrites(c1, [['x', randomText(4 * MB)]], 'task');
    await putAfter(recorded, c1, checkpointWith({ b: randomText(4 * MB) }, 2), { b: 2 }, 1);
    await recorded.getTuple(threadConfig('grants'));
    await recorded.getTuple(c1);
    await all(recorded, {});
    await recorded.deleteThread('grants');

    // Assess
    expect([...actions].sort()).toEqual([...checkpointTableActions].sort());
  });

  describe('faults', () => {
    it("applies a put once when DynamoDB's answer is lost and the SDK retries the transaction", async () => {
      // Prepare
      const tenant = `t-${randomUUID()}`;
      let lost = 0;
      const saver = saverFor(tenant, {
        client: clientWithFaults(table.endpoint, async (command, _input, send) => {
          const output = await send();
          if (command === 'TransactWriteItemsCommand' && lost++ % 2 === 0) throw connectionReset();
          return output;
        }),
      });
      const checkpoint = checkpointWith({ messages: ['hi'] });

      // Act
      const config = await saver.put(
        threadConfig('lost'),
        checkpoint,
        metadata(0),
        checkpoint.channel_versions,
      );
      await saver.putWrites(config, [['a', 1]], 'task');

      // Assess: both transactions were sent twice, applied once.
      expect(lost).toBe(4);
      expect(kindsOf(await items(tenant, 'lost'))).toEqual({ CP: 1, CV: 1, WR: 1 });
      expect((await saverFor(tenant).getTuple(config))?.pendingWrites).toEqual([['task', 'a', 1]]);
    });

    it('sends a transaction again after throttling or a conflict with another transaction', async () => {
      // Prepare
      const tenant = `t-${randomUUID()}`;
      const faults = [
        cancelled({ Code: 'TransactionConflict' }, { Code: 'None' }),
        Object.assign(new Error('Rate exceeded'), {
          name: 'ThrottlingException',
          $metadata: { httpStatusCode: 400 },
        }),
      ];
      let attempts = 0;
      const saver = saverFor(tenant, {
        client: clientWithFaults(table.endpoint, async (command, _input, send) => {
          if (command === 'TransactWriteItemsCommand' && attempts++ < faults.length)
            throw faults[attempts - 1];
          return send();
        }),
      });
      const checkpoint = checkpointWith({ a: 1 });

      // Act
      await saver.put(threadConfig('throttled'), checkpoint, metadata(0), checkpoint.channel_versions);

      // Assess
      expect(attempts).toBe(3);
      expect((await saverFor(tenant).getTuple(threadConfig('throttled')))?.checkpoint).toEqual(checkpoint);
    });

    it('gives up with UnavailableError when every attempt is throttled, having stored nothing', async () => {
      // Prepare
      const tenant = `t-${randomUUID()}`;
      const saver = saverFor(tenant, {
        client: clientWithFaults(
          table.endpoint,
          async () => {
            throw Object.assign(new Error('Rate exceeded'), {
              name: 'ThrottlingException',
              $metadata: { httpStatusCode: 400 },
            });
          },
          { maxAttempts: 2 },
        ),
      });

      // Act
      const put = saver.put(threadConfig('always'), checkpointWith({ a: 1 }), metadata(0), { a: 1 });

      // Assess
      await expect(put).rejects.toBeInstanceOf(UnavailableError);
      expect(await items(tenant, 'always')).toEqual([]);
    });
  });

  describe('writes too large for one transaction', () => {
    it('leave nothing visible when the writer dies, and are swept by a later write', async () => {
      // Prepare: a writer that dies once its chunks are staged, before the commit.
      const tenant = `t-${randomUUID()}`;
      const saver = saverFor(tenant);
      const c1 = await putAfter(saver, threadConfig('staged'), checkpointWith({ messages: ['whole'] }));
      const dying = saverFor(tenant, {
        client: clientWithFaults(table.endpoint, async (command, _input, send) => {
          if (command === 'TransactWriteItemsCommand') throw new Error('process died before its commit');
          return send();
        }),
      });
      const huge = { ...checkpointWith({ messages: ['whole', randomText(4 * MB)] }, 2) };
      await expect(putAfter(dying, c1, huge, { messages: 2 }, 1)).rejects.toMatchObject({
        cause: { message: 'process died before its commit' },
      });
      const leftover = kindsOf(await items(tenant, 'staged'));

      // Act: a later large write, after the dead writer's timeout.
      const sweeper = saverFor(tenant, { stagedWriteTimeoutMs: 0 });
      const next = checkpointWith({ messages: ['whole', randomText(4 * MB)] }, 3);
      await putAfter(sweeper, c1, next, { messages: 3 }, 1);

      // Assess: the dead write was never visible; its staged items are gone.
      expect(leftover).toMatchObject({ CP: 1, ST: 1, CH: chunksOf(huge.channel_values.messages) });
      expect((await saver.getTuple(threadConfig('staged')))?.checkpoint).toEqual(next);
      expect(
        await saver.getTuple({ configurable: { ...c1.configurable, checkpoint_id: huge.id } }),
      ).toBeUndefined();
      expect(kindsOf(await items(tenant, 'staged'))).toEqual({
        CP: 2,
        CV: 2,
        CH: chunksOf(next.channel_values.messages),
      });
    });

    it('cannot commit after a sweep took its marker', async () => {
      // Prepare: a writer stalls between staging and commit; meanwhile another writer sweeps it as dead.
      const tenant = `t-${randomUUID()}`;
      let release: () => void = () => {};
      let staged: () => void = () => {};
      const stagedSignal = new Promise<void>((resolve) => {
        staged = resolve;
      });
      const stalled = saverFor(tenant, {
        client: clientWithFaults(table.endpoint, async (command, _input, send) => {
          if (command === 'TransactWriteItemsCommand') {
            staged();
            await new Promise<void>((resolve) => {
              release = resolve;
            });
          }
          return send();
        }),
      });
      const slow = putAfter(stalled, threadConfig('zombie'), checkpointWith({ a: randomText(4 * MB) }));
      await stagedSignal;
      const b = randomText(4 * MB);
      await putAfter(
        saverFor(tenant, { stagedWriteTimeoutMs: 0 }),
        threadConfig('zombie'),
        checkpointWith({ b }),
      );

      // Act
      release();

      // Assess
      await expect(slow).rejects.toBeInstanceOf(UnavailableError);
      const tuples = await all(saverFor(tenant), threadConfig('zombie'));
      expect(tuples.map((tuple) => Object.keys(tuple.checkpoint.channel_values))).toEqual([['b']]);
      expect(kindsOf(await items(tenant, 'zombie'))).toEqual({ CP: 1, CV: 1, CH: chunksOf(b) });
    });
  });
});
