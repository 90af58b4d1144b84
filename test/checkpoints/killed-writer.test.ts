import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBSaver } from '../../lambda/checkpoints/dynamodb-saver.js';
import { CHUNK_BYTES } from '../../lambda/checkpoints/stored-payload.js';
import { projectRoot } from '../../local/local-server-config.js';
import { createTestTable } from '../support/dynamodb.js';
import {
  checkpointWith,
  kindsOf,
  putAfter,
  randomText,
  threadConfig,
  threadItems,
} from './checkpoint-table-access.js';

const writerScript = join(projectRoot, 'test', 'checkpoints', 'fixtures', 'checkpoint-writer.ts');
const MB = 1024 * 1024;

interface Writer {
  readonly child: ChildProcess;
  readonly lines: string[];
  /** Resolves with the first line (printed from now on or before) that matches. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  readonly exited: Promise<number | null>;
}

const running = new Set<ChildProcess>();

/** `node --import tsx checkpoint-writer.ts`: one process, so SIGKILL stops the writer itself. */
function startWriter(env: Record<string, string>): Writer {
  const child = spawn(process.execPath, ['--import', 'tsx', writerScript], {
    cwd: projectRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  running.add(child);
  const lines: string[] = [];
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    lines.push(line);
    for (const waiter of waiters.filter((w) => w.pattern.test(line))) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(line);
    }
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  return {
    child,
    lines,
    exited,
    waitFor(pattern, timeoutMs = 30_000) {
      const seen = lines.find((line) => pattern.test(line));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no line matching ${pattern} in ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiters.push({
          pattern,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
        void exited.then(() => reject(new Error(`the writer exited before printing ${pattern}`)));
      });
    },
  };
}

async function kill(writer: Writer): Promise<void> {
  writer.child.kill('SIGKILL');
  await writer.exited;
}

describe('a writer killed mid-write (a real process, SIGKILL)', () => {
  let table: Awaited<ReturnType<typeof createTestTable>>;
  const environment = (tenant: string, threadId: string, extra: Record<string, string>) => ({
    DYNAMODB_ENDPOINT: table.endpoint,
    TABLE_NAME: table.tableName,
    TENANT: tenant,
    THREAD_ID: threadId,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...extra,
  });
  const saverFor = (tenant: string, options = {}) =>
    new DynamoDBSaver({ client: table.client, tableName: table.tableName, tenant, ...options });

  /** Every checkpoint item of the thread, read as checkpoints: each must be visible and whole. */
  async function expectOnlyWholeCheckpoints(tenant: string, threadId: string): Promise<number> {
    const stored = kindsOf(await threadItems(table.client, table.tableName, tenant, threadId)).CP ?? 0;
    let whole = 0;
    for await (const tuple of saverFor(tenant).list(threadConfig(threadId))) {
      const { payload, digest } = tuple.checkpoint.channel_values as { payload: string; digest: string };
      expect(createHash('sha256').update(payload).digest('hex')).toBe(digest);
      whole += 1;
    }
    expect(whole).toBe(stored);
    return whole;
  }

  beforeAll(async () => {
    table = await createTestTable('killed-writer');
  });

  afterEach(async () => {
    for (const child of running) child.kill('SIGKILL');
  });

  it('never leaves part of a 1 MB checkpoint (one transaction) visible, killed at random or while sending', async () => {
    // Prepare
    const tenant = `t-${randomUUID()}`;
    const outcomes: string[] = [];

    // Act: 2 kills at random moments of a stream of 1 MB puts, then 2 kills the moment a transaction is sent.
    for (let round = 0; round < 4; round++) {
      const before = await expectOnlyWholeCheckpoints(tenant, 'random');
      const sending = round >= 2;
      const writer = startWriter(
        environment(tenant, 'random', { SIZES: String(MB), ...(sending ? { PAUSE: 'sending' } : {}) }),
      );
      if (sending) {
        await writer.waitFor(/^SENDING$/);
      } else {
        await writer.waitFor(/^PUT/);
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 400));
      }
      await kill(writer);
      const after = await expectOnlyWholeCheckpoints(tenant, 'random');
      const acknowledged = writer.lines.filter((line) => line.startsWith('PUT')).length;
      outcomes.push(`${acknowledged} acknowledged, ${after - before - acknowledged} in flight committed`);
    }

    // Assess: every checkpoint ever stored is whole (checked above after each kill); the newest is readable.
    const latest = await saverFor(tenant).getTuple(threadConfig('random'));
    expect(latest?.checkpoint.channel_values.payload).toHaveLength(MB);
    console.info(`killed 1 MB writers: ${outcomes.join('; ')}`);
  });

  it('leaves nothing visible of a 4 MB checkpoint killed between staging and commit; a later write sweeps it', async () => {
    // Prepare: one small checkpoint, then a writer killed once it has staged part of a 4 MB one.
    const tenant = `t-${randomUUID()}`;
    const first = startWriter(environment(tenant, 'staged', { SIZES: '1024', COUNT: '1' }));
    expect(await first.exited).toBe(0);
    const writer = startWriter(environment(tenant, 'staged', { SIZES: String(4 * MB), PAUSE: 'staged' }));
    await writer.waitFor(/^STAGED$/);

    // Act
    await kill(writer);
    const afterKill = kindsOf(await threadItems(table.client, table.tableName, tenant, 'staged'));
    const visible = await expectOnlyWholeCheckpoints(tenant, 'staged');
    const latest = await saverFor(tenant).getTuple(threadConfig('staged'));
    const sweeper = saverFor(tenant, { stagedWriteTimeoutMs: 0 });
    const big = checkpointWith({ payload: randomText(4 * MB) }, 'sweeper');
    await putAfter(sweeper, latest?.config ?? threadConfig('staged'), big);

    // Assess: the killed write was invisible (only its staged marker and chunks were there), and is gone now.
    expect(afterKill).toMatchObject({ CP: 1, ST: 1 });
    expect(afterKill.CH).toBeGreaterThan(0);
    expect(visible).toBe(1);
    expect(String(latest?.checkpoint.channel_values.payload).length).toBeLessThan(2000);
    const afterSweep = kindsOf(await threadItems(table.client, table.tableName, tenant, 'staged'));
    expect(afterSweep.ST).toBeUndefined();
    expect(afterSweep.CH).toBe(Math.ceil(JSON.stringify(big.channel_values.payload).length / CHUNK_BYTES));
    expect((await saverFor(tenant).getTuple(threadConfig('staged')))?.checkpoint).toEqual(big);
  });
});
