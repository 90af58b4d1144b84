import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { freePort, localClientConfig } from '../local/dynamodb-local.js';
import {
  benchTableName,
  benchTenant,
  type CostResults,
  conversationIdFor,
  resetOurConversation,
  WARMUP_CONVERSATION,
} from './cost-vs-history.js';
import { storeMessages } from './messages.js';
import type { Progress } from './progress.js';
import { type LatencySummary, round, summarizeLatency } from './stats.js';

export interface ApiOptions {
  readonly endpoint: string;
  readonly projectRoot: string;
  /** Part 1's results: its agent-memory conversations are reused, and its latencies are the direct baseline. */
  readonly cost: CostResults;
  readonly warmupTurns: number;
  /** Unmeasured turns through the server before the first sample (its JIT). */
  readonly serverWarmupTurns: number;
  readonly measuredTurns: number;
  readonly progress: Progress;
  /** How long to wait for the server's /health. @default 60000 */
  readonly startTimeoutMs?: number;
}

export interface ApiSample {
  readonly historyLength: number;
  readonly latency: LatencySummary;
  readonly durationsMs: number[];
  /** The same turn through the store in-process (part 1). */
  readonly direct: LatencySummary;
  /** API / direct. */
  readonly medianRatio: number;
  readonly p95Ratio: number;
}

export type ApiResults =
  | { readonly status: 'skipped'; readonly reason: string }
  | {
      readonly status: 'measured';
      readonly server: string;
      readonly serverReadyMs: number;
      readonly samples: ApiSample[];
    };

const SERVER_ENTRY = 'local/server.ts';

/**
 * Part 2: the same turn over the local server's HTTP API (GET the window, POST user + assistant with
 * expectedVersion), on the conversations part 1 seeded, next to the in-process numbers.
 */
export async function throughApi(options: ApiOptions): Promise<ApiResults> {
  const { progress } = options;
  if (!existsSync(join(options.projectRoot, SERVER_ENTRY))) {
    return { status: 'skipped', reason: `${SERVER_ENTRY} does not exist yet` };
  }
  const port = await freePort();
  progress(`api: starting ${SERVER_ENTRY} on port ${port}`);
  const server = await startLocalServer(options, port);
  if (!server.ok) return { status: 'skipped', reason: server.reason };
  const plain = DynamoDBDocumentClient.from(new DynamoDBClient(localClientConfig(options.endpoint)));
  try {
    const baseUrl = `http://127.0.0.1:${port}`;
    // Like part 1: unmeasured turns first, so that the server's JIT warm-up is not charged to the first sample.
    const warmup = { warmupTurns: options.serverWarmupTurns, measuredTurns: 0 };
    progress(`api: warming up the server (${warmup.warmupTurns} turns, not measured)`);
    await measureApiTurns(baseUrl, WARMUP_CONVERSATION, 10, warmup, options.cost.window, plain);
    const samples: ApiSample[] = [];
    const direct = options.cost.samples.filter((sample) => sample.system === 'agent-memory');
    for (const baseline of direct) {
      const size = baseline.historyLength;
      progress(`api: ${size.toLocaleString('en-US')} messages`);
      const durations = await measureApiTurns(
        baseUrl,
        conversationIdFor(size),
        size,
        options,
        options.cost.window,
        plain,
      );
      const latency = summarizeLatency(durations);
      samples.push({
        historyLength: size,
        latency,
        durationsMs: durations.map((ms) => round(ms, 3)),
        direct: baseline.latency,
        medianRatio: round(latency.medianMs / baseline.latency.medianMs, 2),
        p95Ratio: round(latency.p95Ms / baseline.latency.p95Ms, 2),
      });
    }
    return {
      status: 'measured',
      server: `node tsx ${SERVER_ENTRY} (DYNAMODB_ENDPOINT = the benchmark's DynamoDB Local)`,
      serverReadyMs: Math.round(server.readyMs),
      samples,
    };
  } finally {
    plain.destroy();
    await server.stop();
  }
}

async function measureApiTurns(
  baseUrl: string,
  id: string,
  size: number,
  counts: { warmupTurns: number; measuredTurns: number },
  window: number,
  plain: DynamoDBDocumentClient,
): Promise<number[]> {
  const url = `${baseUrl}/v1/conversations/${encodeURIComponent(id)}/messages`;
  const headers = { 'x-tenant-id': benchTenant };
  const messages = storeMessages(size + 1, size + 2);
  const durations: number[] = [];
  for (let i = 0; i < counts.warmupTurns + counts.measuredTurns; i++) {
    const started = performance.now();
    const read = await fetch(`${url}?limit=${window}`, { headers });
    const page = (await read.json()) as { version?: number };
    if (read.status !== 200 || page.version !== size) {
      throw new Error(
        `GET ${url}: ${read.status} ${JSON.stringify(page).slice(0, 300)} (expected version ${size})`,
      );
    }
    const write = await fetch(url, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ messages, expectedVersion: page.version }),
    });
    const written = await write.text();
    if (write.status !== 201) throw new Error(`POST ${url}: ${write.status} ${written.slice(0, 300)}`);
    const elapsed = performance.now() - started;
    await resetOurConversation(plain, id, size, benchTableName);
    if (i >= counts.warmupTurns) durations.push(elapsed);
  }
  return durations;
}

type StartedServer = { ok: true; readyMs: number; stop: () => Promise<void> } | { ok: false; reason: string };

/**
 * Runs the local server as `npx tsx local/server.ts` would (tsx's CLI, without npm in between), in a process
 * group of its own so that one signal stops tsx and the server, and waits for /health.
 */
async function startLocalServer(options: ApiOptions, port: number): Promise<StartedServer> {
  const tsxCli = createRequire(join(options.projectRoot, 'package.json')).resolve('tsx/cli');
  const started = performance.now();
  const child = spawn(process.execPath, [tsxCli, SERVER_ENTRY], {
    cwd: options.projectRoot,
    env: {
      ...process.env,
      PORT: String(port),
      DYNAMODB_ENDPOINT: options.endpoint,
      TABLE_NAME: benchTableName,
    },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.on('error', (error) => keep(Buffer.from(`\n${error.message}`)));
  const killOnExit = () => signalGroup(child, 'SIGKILL');
  process.once('exit', killOnExit);
  const stop = async () => {
    process.off('exit', killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    signalGroup(child, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), 8000);
    await exited;
    clearTimeout(timer);
  };

  const deadline = started + (options.startTimeoutMs ?? 60_000);
  while (performance.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      return {
        ok: false,
        reason: `the local server exited (${child.exitCode ?? child.signalCode}): ${tail(output)}`,
      };
    }
    try {
      const health = await fetch(`http://127.0.0.1:${port}/health`);
      await health.arrayBuffer();
      if (health.status === 200) return { ok: true, readyMs: performance.now() - started, stop };
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await stop();
  return { ok: false, reason: `the local server did not answer /health within the timeout: ${tail(output)}` };
}

/** Signals the child's process group (it leads one: `detached`), so tsx's own child gets it too. */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

function tail(text: string): string {
  return text.trim().split('\n').slice(-8).join(' | ');
}
