import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { RunnableConfig } from '@langchain/core/runnables';
import { type Checkpoint, uuid6 } from '@langchain/langgraph-checkpoint';
import { DynamoDBSaver } from '../lambda/checkpoints/dynamodb-saver.js';
import { conversationTableDefinition } from '../lambda/memory/table.js';
import { localClientConfig } from '../local/dynamodb-local.js';
import { DynamoDbMeter, type TurnCost, turnCost } from './dynamodb-meter.js';
import { messageContent, roleOf } from './messages.js';
import type { Progress } from './progress.js';
import { type LatencySummary, median, summarizeLatency } from './stats.js';

export interface CheckpointCostOptions {
  readonly endpoint: string;
  /** Thread lengths, in checkpoints. */
  readonly sizes: readonly number[];
  readonly warmupSteps: number;
  readonly measuredSteps: number;
  /** Unmeasured steps on a thread of their own before the first sample (DynamoDB Local's JVM). */
  readonly processWarmupSteps: number;
  readonly progress: Progress;
}

/** One operation (getTuple or put) at one thread length: medians over the measured steps. */
export interface OperationSample {
  readonly calls: { readonly min: number; readonly max: number };
  readonly commands: string[];
  /** Capacity per DynamoDB's documented rules, from the sizes of the items read or written. */
  readonly modeledUnits: number;
  readonly modeledUnitsRange: { readonly min: number; readonly max: number };
  /** ConsumedCapacity as DynamoDB Local reported it. */
  readonly reportedUnits: number;
  readonly itemBytes: number;
  readonly latency: LatencySummary;
}

export interface CheckpointSample {
  /** Checkpoints in the thread before the first measured step (each step adds one). */
  readonly checkpoints: number;
  readonly getTuple: OperationSample;
  readonly put: OperationSample;
  /** How long seeding the thread took, through the saver. */
  readonly seedMs: number;
}

export type CheckpointResults =
  | { readonly status: 'skipped'; readonly reason: string }
  | ({ readonly status: 'measured' } & CheckpointCostResults);

export interface CheckpointCostResults {
  readonly warmupSteps: number;
  readonly measuredSteps: number;
  readonly processWarmupSteps: number;
  /** The state every checkpoint holds. */
  readonly state: { readonly carriedMessages: number; readonly messageBytes: number };
  readonly samples: CheckpointSample[];
}

const TABLE = 'bench-checkpoints';
const TENANT = 'bench';
/** The agent's state: this many messages that every step carries over, plus what each step writes anew. */
const CARRIED_MESSAGES = 10;

const message = (n: number) => ({ role: roleOf(n), content: messageContent(n) });

/**
 * Checkpoint `step` of a thread: `messages` (written once, at step 0, then carried over), `step` and
 * `last` (a new message), written at every step, as a LangGraph agent's loop would.
 */
function stepCheckpoint(step: number): { checkpoint: Checkpoint; newVersions: Record<string, number> } {
  const channel_versions = { messages: 1, step: step + 1, last: step + 1 };
  const checkpoint: Checkpoint = {
    v: 4,
    id: uuid6(-3),
    ts: new Date().toISOString(),
    channel_values: {
      messages: Array.from({ length: CARRIED_MESSAGES }, (_, n) => message(n + 1)),
      step,
      last: message(CARRIED_MESSAGES + step + 1),
    },
    channel_versions,
    versions_seen: { agent: { step, last: step } },
  };
  return { checkpoint, newVersions: step === 0 ? channel_versions : { step: step + 1, last: step + 1 } };
}

const metadata = (step: number) => ({ source: 'loop' as const, step, parents: {} });

/**
 * Part 4: a LangGraph step on DynamoDBSaver at growing thread lengths: getTuple of the newest checkpoint
 * (what LangGraph reads before it runs), then put of the next one, on the same DynamoDB Local.
 */
export async function checkpointCost(options: CheckpointCostOptions): Promise<CheckpointCostResults> {
  const { endpoint, progress } = options;
  const raw = new DynamoDBClient(localClientConfig(endpoint));
  await raw.send(new CreateTableCommand(conversationTableDefinition(TABLE)));
  const documentOptions = { marshallOptions: { removeUndefinedValues: true } };
  const plain = DynamoDBDocumentClient.from(raw, documentOptions);
  const metered = DynamoDBDocumentClient.from(
    new DynamoDBClient(localClientConfig(endpoint)),
    documentOptions,
  );
  const meter = new DynamoDbMeter(metered, { documentClient: true, requestCapacity: true });
  const seeder = new DynamoDBSaver({ client: plain, tableName: TABLE, tenant: TENANT });
  const saver = new DynamoDBSaver({ client: metered, tableName: TABLE, tenant: TENANT });
  try {
    progress(`checkpoints: warming up (${options.processWarmupSteps} steps, not measured)`);
    await seed(seeder, 'warmup', 1, () => {});
    await measureSteps(saver, meter, 'warmup', { warmupSteps: options.processWarmupSteps, measuredSteps: 1 });

    const samples: CheckpointSample[] = [];
    for (const size of [...options.sizes].sort((a, b) => a - b)) {
      const thread = `thread-${size}`;
      const label = size.toLocaleString('en-US');
      progress(`checkpoints: ${label}: seeding`);
      const started = performance.now();
      await seed(seeder, thread, size, (done) =>
        progress(`checkpoints: ${label}: seeded ${done.toLocaleString('en-US')}`),
      );
      const seedMs = Math.round(performance.now() - started);
      progress(`checkpoints: ${label}: measuring`);
      samples.push({ checkpoints: size, seedMs, ...(await measureSteps(saver, meter, thread, options)) });
    }
    return {
      warmupSteps: options.warmupSteps,
      measuredSteps: options.measuredSteps,
      processWarmupSteps: options.processWarmupSteps,
      state: { carriedMessages: CARRIED_MESSAGES, messageBytes: messageContent(1).length },
      samples,
    };
  } finally {
    metered.destroy();
    raw.destroy();
  }
}

/** A thread of `count` checkpoints, each put after the previous one as LangGraph does. */
async function seed(saver: DynamoDBSaver, thread: string, count: number, report: (done: number) => void) {
  let config: RunnableConfig = { configurable: { thread_id: thread, checkpoint_ns: '' } };
  for (let step = 0; step < count; step++) {
    const { checkpoint, newVersions } = stepCheckpoint(step);
    config = await saver.put(config, checkpoint, metadata(step), newVersions);
    if ((step + 1) % 2000 === 0 && step + 1 < count) report(step + 1);
  }
}

async function measureSteps(
  saver: DynamoDBSaver,
  meter: DynamoDbMeter,
  thread: string,
  counts: Pick<CheckpointCostOptions, 'warmupSteps' | 'measuredSteps'>,
): Promise<Pick<CheckpointSample, 'getTuple' | 'put'>> {
  const reads: { cost: TurnCost; ms: number }[] = [];
  const writes: { cost: TurnCost; ms: number }[] = [];
  for (let i = 0; i < counts.warmupSteps + counts.measuredSteps; i++) {
    meter.take();
    let started = performance.now();
    const latest = await saver.getTuple({ configurable: { thread_id: thread, checkpoint_ns: '' } });
    const read = { cost: turnCost(meter.take()), ms: performance.now() - started };
    if (latest === undefined) throw new Error(`thread ${thread} has no checkpoint`);
    const step = (latest.metadata?.step ?? 0) + 1;
    const { checkpoint, newVersions } = stepCheckpoint(step);
    started = performance.now();
    await saver.put(latest.config, checkpoint, metadata(step), newVersions);
    const write = { cost: turnCost(meter.take()), ms: performance.now() - started };
    if (i < counts.warmupSteps) continue;
    reads.push(read);
    writes.push(write);
  }
  return {
    getTuple: operationSample(
      reads,
      (cost) => cost.modeledReadUnits,
      (cost) => cost.itemBytesRead,
    ),
    put: operationSample(
      writes,
      (cost) => cost.modeledWriteUnits,
      () => 0,
    ),
  };
}

function operationSample(
  steps: readonly { cost: TurnCost; ms: number }[],
  modeled: (cost: TurnCost) => number,
  bytes: (cost: TurnCost) => number,
): OperationSample {
  const calls = steps.map(({ cost }) => cost.calls);
  // After the first call the reads run in parallel: their order of completion says nothing.
  const [first, ...parallel] = steps[0]?.cost.commands ?? [];
  const units = steps.map(({ cost }) => modeled(cost));
  return {
    calls: { min: Math.min(...calls), max: Math.max(...calls) },
    commands: first === undefined ? [] : [first, ...parallel.sort()],
    modeledUnits: median(units),
    modeledUnitsRange: { min: Math.min(...units), max: Math.max(...units) },
    reportedUnits: median(steps.map(({ cost }) => cost.readUnits + cost.writeUnits)),
    itemBytes: median(steps.map(({ cost }) => bytes(cost))),
    latency: summarizeLatency(steps.map(({ ms }) => ms)),
  };
}
