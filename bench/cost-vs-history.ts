import { CreateTableCommand, DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDBChatMessageHistory } from '@langchain/community/stores/message/dynamodb';
import { AIMessage, type BaseMessage, HumanMessage } from '@langchain/core/messages';
import { ConversationStore } from '../lambda/memory/conversation-store.js';
import { conversationTableDefinition, keys } from '../lambda/memory/table.js';
import { localClientConfig } from '../local/dynamodb-local.js';
import { type ItemKey, itemSizes, modeledWriteUnits } from './capacity-model.js';
import { DynamoDbMeter, type MeteredCall, type TurnCost, turnCost } from './dynamodb-meter.js';
import { messageContent, roleOf, storeMessages } from './messages.js';
import type { Progress } from './progress.js';
import { type LatencySummary, median, summarizeLatency } from './stats.js';

export type SystemName = 'agent-memory' | 'langchain';

export interface Units {
  readonly readUnits: number;
  readonly writeUnits: number;
  readonly totalUnits: number;
}

export interface CostOptions {
  readonly endpoint: string;
  readonly sizes: readonly number[];
  /** Messages the agent-memory turn loads (its `limit`). */
  readonly window: number;
  readonly warmupTurns: number;
  readonly measuredTurns: number;
  /** Unmeasured turns per system on a conversation of its own before the first sample. */
  readonly processWarmupTurns: number;
  readonly progress: Progress;
}

/** One system at one history length: per-turn figures are medians over the measured turns. */
export interface TurnSample {
  readonly system: SystemName;
  readonly historyLength: number;
  readonly callsPerTurn: { readonly min: number; readonly max: number };
  /** The DynamoDB operations of one turn, in order. */
  readonly commands: string[];
  /** Capacity per DynamoDB's documented rules, from the sizes of the items read and written. */
  readonly modeled: Units;
  /** ConsumedCapacity as DynamoDB Local reported it (split by operation: reads vs writes). */
  readonly reported: Units;
  /** Modeled total units: the smallest and largest over the measured turns. */
  readonly totalUnitsRange: { readonly min: number; readonly max: number };
  /** Billed size of the items the turn's reads returned. */
  readonly itemBytesRead: number;
  /** HTTP response bytes of the turn's DynamoDB calls. */
  readonly wireBytesRead: number;
  readonly latency: LatencySummary;
  readonly durationsMs: number[];
  /** Median time of each DynamoDB call of the turn, by position (`commands`): where the turn's time goes. */
  readonly medianCallMs: number[];
}

/** A history length one system could not reach, and why. */
export interface SeedFailure {
  readonly system: SystemName;
  readonly historyLength: number;
  /** Messages the conversation held when the write that failed was sent. */
  readonly storedMessages: number;
  /** Billed size of that item (LangChain keeps the whole conversation in one item). */
  readonly storedItemBytes: number;
  readonly error: string;
}

/** What happens to a LangChain turn on a conversation at its maximum size. */
export interface TurnAtLimit {
  readonly historyLength: number;
  readonly readSucceeded: boolean;
  readonly writeError: string | undefined;
  readonly cost: TurnCost;
}

export interface CostResults {
  readonly window: number;
  readonly processWarmupTurns: number;
  readonly warmupTurns: number;
  readonly measuredTurns: number;
  readonly samples: TurnSample[];
  readonly failures: SeedFailure[];
  /** The largest LangChain history a turn still fits on, when the sizes crossed its limit. */
  readonly langchainLimit?: {
    readonly maxMessages: number;
    readonly maxItemBytes: number;
    readonly largestTurnHistory: number;
    readonly turnAtLimit: TurnAtLimit;
  };
}

const TENANT = 'bench';
const OUR_TABLE = 'bench-agent-memory';
const LANGCHAIN_TABLE = 'bench-langchain';
const SEED_BATCH = 50;
/** A 10-message conversation in both tables that only warm-up turns use. */
export const WARMUP_CONVERSATION = 'process-warmup';

type TurnCounts = Pick<CostOptions, 'warmupTurns' | 'measuredTurns'>;

export const conversationIdFor = (historyLength: number) => `history-${historyLength}`;
export const benchTenant = TENANT;
export const benchTableName = OUR_TABLE;

/**
 * Part 1: one agent turn at growing history lengths, on our store and on LangChain's
 * DynamoDBChatMessageHistory, both on the same DynamoDB Local. Between measured turns each conversation is put
 * back to its exact length (outside the measurement), so every turn of a sample sees the same history.
 */
export async function costVsHistory(options: CostOptions): Promise<CostResults> {
  const { endpoint, progress } = options;
  const raw = new DynamoDBClient(localClientConfig(endpoint));
  const plain = DynamoDBDocumentClient.from(raw);
  await raw.send(new CreateTableCommand(conversationTableDefinition(OUR_TABLE)));
  // LangChain's expected key schema: a string partition key named `id` (its default), no sort key.
  await raw.send(
    new CreateTableCommand({
      TableName: LANGCHAIN_TABLE,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    }),
  );

  const ours = new OurSystem(endpoint, raw, plain, options);
  const langchain = new LangChainSystem(endpoint, raw, options);
  const samples: TurnSample[] = [];
  const failures: SeedFailure[] = [];
  let langchainLimit: CostResults['langchainLimit'];
  try {
    // Both systems first run unmeasured turns on a conversation of their own, so that the first samples do not
    // pay for warming up: Node's JIT, the connection pool and above all DynamoDB Local's JVM, whose transaction
    // path takes a few hundred turns to reach its steady speed.
    const processWarmup: TurnCounts = { warmupTurns: options.processWarmupTurns, measuredTurns: 1 };
    progress(`cost: warming up both systems (${processWarmup.warmupTurns} turns each, not measured)`);
    await ours.seed(WARMUP_CONVERSATION, 10);
    await ours.measure(WARMUP_CONVERSATION, 10, processWarmup);
    await langchain.seed(WARMUP_CONVERSATION, 10);
    await langchain.measure(WARMUP_CONVERSATION, 10, processWarmup);

    for (const size of [...options.sizes].sort((a, b) => a - b)) {
      const id = conversationIdFor(size);
      progress(`cost: ${size.toLocaleString('en-US')} messages, agent-memory: seeding`);
      await ours.seed(id, size);
      progress(`cost: ${size.toLocaleString('en-US')} messages, agent-memory: measuring`);
      samples.push(await ours.measure(id, size));

      progress(`cost: ${size.toLocaleString('en-US')} messages, langchain: seeding`);
      const seeded = await langchain.seed(id, size);
      if (seeded.ok) {
        progress(`cost: ${size.toLocaleString('en-US')} messages, langchain: measuring`);
        try {
          samples.push(await langchain.measure(id, size));
        } catch (error) {
          // The history fits, but not with the turn's two messages on top.
          failures.push({
            system: 'langchain',
            historyLength: size,
            storedMessages: size,
            storedItemBytes: (await itemSizes(raw, LANGCHAIN_TABLE, [{ id: { S: id } }]))[0] ?? 0,
            error: errorText(error),
          });
        }
        continue;
      }
      failures.push(seeded.failure);
      progress(
        `cost: langchain cannot hold ${size.toLocaleString('en-US')} messages: the write at message ${
          seeded.failure.storedMessages + 1
        } failed (${seeded.failure.error})`,
      );
      if (langchainLimit !== undefined) continue;
      // The first length LangChain cannot reach: show a turn on the full item, then measure the largest
      // history a turn still fits on (a turn adds two messages), on both systems.
      const max = seeded.failure.storedMessages;
      const turnAtLimit = await langchain.turnOnFullItem(id, max);
      const largest = max - 2;
      await langchain.truncate(id, largest);
      progress(
        `cost: ${largest.toLocaleString('en-US')} messages (LangChain's largest turn), langchain: measuring`,
      );
      const atLimit = await langchain.measure(id, largest);
      progress(`cost: ${largest.toLocaleString('en-US')} messages, agent-memory: seeding and measuring`);
      if (!options.sizes.includes(largest)) {
        await ours.seed(conversationIdFor(largest), largest);
        samples.push(await ours.measure(conversationIdFor(largest), largest));
      }
      samples.push(atLimit);
      langchainLimit = {
        maxMessages: max,
        maxItemBytes: seeded.failure.storedItemBytes,
        largestTurnHistory: largest,
        turnAtLimit,
      };
    }
  } finally {
    ours.destroy();
    langchain.destroy();
    raw.destroy();
  }
  samples.sort((a, b) => a.historyLength - b.historyLength || a.system.localeCompare(b.system));
  return {
    window: options.window,
    processWarmupTurns: options.processWarmupTurns,
    warmupTurns: options.warmupTurns,
    measuredTurns: options.measuredTurns,
    samples,
    failures,
    ...(langchainLimit ? { langchainLimit } : {}),
  };
}

/** Our store: load the default window, then append user + assistant on the version read. */
class OurSystem {
  private readonly meter: DynamoDbMeter;
  private readonly metered: DynamoDBDocumentClient;
  private readonly store: ConversationStore;
  private readonly seeder: ConversationStore;

  constructor(
    endpoint: string,
    private readonly raw: DynamoDBClient,
    private readonly plain: DynamoDBDocumentClient,
    private readonly options: CostOptions,
  ) {
    this.metered = DynamoDBDocumentClient.from(new DynamoDBClient(localClientConfig(endpoint)), {
      marshallOptions: { removeUndefinedValues: true },
    });
    this.meter = new DynamoDbMeter(this.metered, { documentClient: true });
    this.store = new ConversationStore({ client: this.metered, tableName: OUR_TABLE });
    this.seeder = new ConversationStore({ client: plain, tableName: OUR_TABLE });
  }

  async seed(id: string, size: number): Promise<void> {
    for (let first = 1; first <= size; first += SEED_BATCH) {
      const last = Math.min(size, first + SEED_BATCH - 1);
      await this.seeder.append(TENANT, id, storeMessages(first, last), { expectedVersion: first - 1 });
    }
  }

  async measure(id: string, size: number, counts: TurnCounts = this.options): Promise<TurnSample> {
    const turnMessages = storeMessages(size + 1, size + 2);
    return measureTurns('agent-memory', size, counts, this.meter, {
      turn: async () => {
        const page = await this.store.load(TENANT, id, { limit: this.options.window });
        if (page.version !== size) throw new Error(`expected version ${size}, read ${page.version}`);
        await this.store.append(TENANT, id, turnMessages, { expectedVersion: page.version });
      },
      reset: () => resetOurConversation(this.plain, id, size),
      written: {
        transactional: true,
        sizes: () =>
          itemSizes(this.raw, OUR_TABLE, [
            ourKey(id, keys.head),
            ourKey(id, keys.message(size + 1)),
            ourKey(id, keys.message(size + 2)),
          ]),
      },
    });
  }

  destroy(): void {
    this.metered.destroy();
  }
}

/**
 * Puts one of our conversations back to `size` messages after a turn appended two: deletes them and restores
 * the head's version, conditioned on the head being where the turn left it.
 */
export async function resetOurConversation(
  client: DynamoDBDocumentClient,
  conversationId: string,
  size: number,
  tableName = OUR_TABLE,
): Promise<void> {
  const pk = keys.partition(TENANT, conversationId);
  await client.send(
    new TransactWriteCommand({
      TransactItems: [
        { Delete: { TableName: tableName, Key: { pk, sk: keys.message(size + 1) } } },
        { Delete: { TableName: tableName, Key: { pk, sk: keys.message(size + 2) } } },
        {
          Update: {
            TableName: tableName,
            Key: { pk, sk: keys.head },
            UpdateExpression: 'SET version = :size ADD messageCount :minusTwo',
            ConditionExpression: 'version = :afterTurn',
            ExpressionAttributeValues: { ':size': size, ':minusTwo': -2, ':afterTurn': size + 2 },
          },
        },
      ],
    }),
  );
}

const toLangChain = (n: number): BaseMessage =>
  roleOf(n) === 'user' ? new HumanMessage(messageContent(n)) : new AIMessage(messageContent(n));

/** LangChain JS: getMessages (the whole item) + addMessages([human, ai]) (list_append on the whole item). */
class LangChainSystem {
  private readonly histories = new Map<
    string,
    { history: DynamoDBChatMessageHistory; meter: DynamoDbMeter }
  >();

  constructor(
    private readonly endpoint: string,
    private readonly raw: DynamoDBClient,
    private readonly options: CostOptions,
  ) {}

  /** One history object per conversation, as an application would hold; its internal client is metered. */
  private historyFor(id: string) {
    let entry = this.histories.get(id);
    if (!entry) {
      const history = new DynamoDBChatMessageHistory({
        tableName: LANGCHAIN_TABLE,
        sessionId: id,
        config: localClientConfig(this.endpoint),
      });
      // The client is built inside the constructor and is private in the typings, but a plain field at run
      // time: the meter attaches to it. LangChain asks for no ConsumedCapacity, so the meter requests it.
      const client = (history as unknown as { client: DynamoDBClient }).client;
      entry = { history, meter: new DynamoDbMeter(client, { requestCapacity: true }) };
      this.histories.set(id, entry);
    }
    return entry;
  }

  /** Seeds with addMessages in chunks; where a chunk fails, one message at a time finds the exact limit. */
  async seed(id: string, size: number): Promise<{ ok: true } | { ok: false; failure: SeedFailure }> {
    const { history, meter } = this.historyFor(id);
    let stored = 0;
    try {
      while (stored < size) {
        const last = Math.min(size, stored + SEED_BATCH);
        try {
          await history.addMessages(range(stored + 1, last).map(toLangChain));
          stored = last;
        } catch {
          for (let n = stored + 1; n <= last; n++) {
            await history.addMessage(toLangChain(n));
            stored = n;
          }
        }
      }
      return { ok: true };
    } catch (error) {
      meter.take();
      await history.getMessages();
      const [read] = meter.take();
      return {
        ok: false,
        failure: {
          system: 'langchain',
          historyLength: size,
          storedMessages: stored,
          storedItemBytes: read?.itemBytes ?? 0,
          error: errorText(error),
        },
      };
    } finally {
      meter.take();
    }
  }

  async measure(id: string, historyLength: number, counts: TurnCounts = this.options): Promise<TurnSample> {
    const { history, meter } = this.historyFor(id);
    const turn = [toLangChain(historyLength + 1), toLangChain(historyLength + 2)];
    return measureTurns('langchain', historyLength, counts, meter, {
      turn: async () => {
        const messages = await history.getMessages();
        if (messages.length !== historyLength) {
          throw new Error(`expected ${historyLength} messages, read ${messages.length}`);
        }
        await history.addMessages(turn);
      },
      reset: () => this.truncate(id, historyLength),
      written: {
        transactional: false,
        sizes: () => itemSizes(this.raw, LANGCHAIN_TABLE, [{ id: { S: id } }]),
      },
    });
  }

  /** A turn on the conversation at its maximum: the read works, the write is refused. */
  async turnOnFullItem(id: string, stored: number): Promise<TurnAtLimit> {
    const { history, meter } = this.historyFor(id);
    meter.take();
    let readSucceeded = false;
    let writeError: string | undefined;
    try {
      await history.getMessages();
      readSucceeded = true;
      await history.addMessages([toLangChain(stored + 1), toLangChain(stored + 2)]);
    } catch (error) {
      writeError = errorText(error);
    }
    return { historyLength: stored, readSucceeded, writeError, cost: turnCost(meter.take()) };
  }

  /** Removes list elements from `length` on (outside the measurement, with a client of our own). */
  async truncate(id: string, length: number): Promise<void> {
    const { history, meter } = this.historyFor(id);
    const current = (await history.getMessages()).length;
    meter.take();
    if (current <= length) return;
    const names = range(length, current - 1).map((index) => `messages[${index}]`);
    await this.raw.send(
      new UpdateItemCommand({
        TableName: LANGCHAIN_TABLE,
        Key: { id: { S: id } },
        UpdateExpression: `REMOVE ${names.join(', ')}`,
      }),
    );
  }

  destroy(): void {
    for (const { history } of this.histories.values()) {
      (history as unknown as { client: DynamoDBClient }).client.destroy();
    }
  }
}

async function measureTurns(
  system: SystemName,
  historyLength: number,
  options: TurnCounts,
  meter: DynamoDbMeter,
  steps: {
    turn: () => Promise<void>;
    reset: () => Promise<void>;
    /** The items a turn writes: their sizes, read before and after it, give the modeled write units. */
    written: { transactional: boolean; sizes: () => Promise<number[]> };
  },
): Promise<TurnSample> {
  const durations: number[] = [];
  const costs: (TurnCost & { modeledWriteUnits: number })[] = [];
  for (let i = 0; i < options.warmupTurns + options.measuredTurns; i++) {
    const before = await steps.written.sizes();
    meter.take();
    const started = performance.now();
    await steps.turn();
    const elapsed = performance.now() - started;
    const calls: MeteredCall[] = meter.take();
    const after = await steps.written.sizes();
    await steps.reset();
    if (i < options.warmupTurns) continue;
    durations.push(elapsed);
    costs.push({
      ...turnCost(calls),
      modeledWriteUnits: modeledWriteUnits(before, after, steps.written.transactional),
    });
  }
  const pick = (f: (cost: (typeof costs)[number]) => number) => median(costs.map(f));
  const modeledTotals = costs.map((cost) => cost.modeledReadUnits + cost.modeledWriteUnits);
  const counts = costs.map((cost) => cost.calls);
  return {
    system,
    historyLength,
    callsPerTurn: { min: Math.min(...counts), max: Math.max(...counts) },
    commands: costs[0]?.commands ?? [],
    modeled: {
      readUnits: pick((cost) => cost.modeledReadUnits),
      writeUnits: pick((cost) => cost.modeledWriteUnits),
      totalUnits: median(modeledTotals),
    },
    reported: {
      readUnits: pick((cost) => cost.readUnits),
      writeUnits: pick((cost) => cost.writeUnits),
      totalUnits: pick((cost) => cost.readUnits + cost.writeUnits),
    },
    totalUnitsRange: { min: Math.min(...modeledTotals), max: Math.max(...modeledTotals) },
    itemBytesRead: pick((cost) => cost.itemBytesRead),
    wireBytesRead: pick((cost) => cost.wireBytesRead),
    latency: summarizeLatency(durations),
    durationsMs: durations.map((ms) => Math.round(ms * 1000) / 1000),
    medianCallMs: (costs[0]?.callMs ?? []).map(
      (_, index) => Math.round(median(costs.map((cost) => cost.callMs[index] ?? Number.NaN)) * 1000) / 1000,
    ),
  };
}

const ourKey = (conversationId: string, sk: string): ItemKey => ({
  pk: { S: keys.partition(TENANT, conversationId) },
  sk: { S: sk },
});

function range(first: number, last: number): number[] {
  return Array.from({ length: Math.max(0, last - first + 1) }, (_, i) => first + i);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
