import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { UIMessage } from 'ai';
import { AgentMemoryChatStore } from '../client/ai-sdk-chat-store.js';
import { StoreConversationMemory } from '../client/store-conversation-memory.js';
import { storedFormOf, type UIMessageJson } from '../lambda/chat/ui-message.js';
import { ConversationStore } from '../lambda/memory/conversation-store.js';
import { conversationTableDefinition } from '../lambda/memory/table.js';
import { localClientConfig } from '../local/dynamodb-local.js';
import { itemSizes } from './capacity-model.js';
import { benchTenant, resetOurConversation } from './cost-vs-history.js';
import { DynamoDbMeter, type TurnCost, turnCost } from './dynamodb-meter.js';
import { messageContent, roleOf } from './messages.js';
import type { Progress } from './progress.js';
import { type LatencySummary, median, summarizeLatency } from './stats.js';

/*
 * Part 5: a chat turn of the Vercel AI SDK (useChat + streamText), stored two ways on the same DynamoDB Local:
 * - `agent-memory/ai-sdk`: openChat(id, { limit: WINDOW }) then ChatHistory.save of the user message and the reply
 *   (one Query, one TransactWriteItems with its idempotency record);
 * - the AI SDK guide's pattern, ported to DynamoDB: one item per chat holding the whole UIMessage[] array, read
 *   (strongly consistent, to see the last save) and written whole on every turn (GetItem + PutItem).
 */

export type ChatSystem = 'agent-memory/ai-sdk' | 'ai-sdk-guide';

export interface ChatCostOptions {
  readonly endpoint: string;
  /** History lengths, in UI messages. */
  readonly sizes: readonly number[];
  /** Messages our turn loads. */
  readonly window: number;
  readonly warmupTurns: number;
  readonly measuredTurns: number;
  readonly processWarmupTurns: number;
  readonly progress: Progress;
}

export interface ChatSample {
  readonly system: ChatSystem;
  readonly historyLength: number;
  readonly calls: { readonly min: number; readonly max: number };
  readonly commands: string[];
  /** Capacity per DynamoDB's documented rules (RCU from the items read, WCU from the items written). */
  readonly modeled: { readonly readUnits: number; readonly writeUnits: number; readonly totalUnits: number };
  readonly modeledRange: { readonly min: number; readonly max: number };
  /** ConsumedCapacity as DynamoDB Local reported it. */
  readonly reportedUnits: number;
  readonly itemBytesRead: number;
  readonly latency: LatencySummary;
}

export interface ChatCostResults {
  readonly window: number;
  readonly warmupTurns: number;
  readonly measuredTurns: number;
  readonly processWarmupTurns: number;
  readonly samples: ChatSample[];
  /** Where the guide's item stops accepting writes. */
  readonly guideLimit: {
    /** The most messages the item holds (one more does not fit). */
    readonly maxMessages: number;
    readonly maxItemBytes: number;
    /** The longest history a turn (two more messages) still fits on; measured for both systems. */
    readonly largestTurnHistory: number;
    /** What a turn on the full item gets: its read works, its write is refused. */
    readonly writeError: string;
  };
}

const OUR_TABLE = 'bench-chats';
const GUIDE_TABLE = 'bench-ai-sdk-guide';
const SEED_BATCH = 50;

/** UI message `n` (1-based) of a chat: user and assistant alternate, CONTENT_BYTES of text each. */
function uiMessage(n: number, id = `m-${String(n).padStart(7, '0')}`): UIMessage {
  return roleOf(n) === 'user'
    ? { id, role: 'user', parts: [{ type: 'text', text: messageContent(n) }] }
    : {
        id,
        role: 'assistant',
        parts: [{ type: 'step-start' }, { type: 'text', text: messageContent(n), state: 'done' }],
      };
}

const uiMessages = (count: number) => Array.from({ length: count }, (_, i) => uiMessage(i + 1));

/** A turn's two new messages; ids unique per turn (our saves are keyed by content: a repeated turn would replay). */
const turnMessages = (size: number, turn: number) =>
  [
    uiMessage(size + 1, `t-${String(turn).padStart(7, '0')}-u`),
    uiMessage(size + 2, `t-${String(turn).padStart(7, '0')}-a`),
  ] as const;

export async function chatCost(options: ChatCostOptions): Promise<ChatCostResults> {
  const { endpoint, progress } = options;
  const raw = new DynamoDBClient(localClientConfig(endpoint));
  const documentOptions = { marshallOptions: { removeUndefinedValues: true } };
  const plain = DynamoDBDocumentClient.from(raw, documentOptions);
  const metered = DynamoDBDocumentClient.from(
    new DynamoDBClient(localClientConfig(endpoint)),
    documentOptions,
  );
  const meter = new DynamoDbMeter(metered, { documentClient: true, requestCapacity: true });
  await raw.send(new CreateTableCommand(conversationTableDefinition(OUR_TABLE)));
  await raw.send(
    new CreateTableCommand({
      TableName: GUIDE_TABLE,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    }),
  );
  const seeder = new ConversationStore({ client: plain, tableName: OUR_TABLE });
  const chats = new AgentMemoryChatStore({
    memory: new StoreConversationMemory({
      store: new ConversationStore({ client: metered, tableName: OUR_TABLE }),
      tenant: benchTenant,
    }),
  });
  let turnNumber = 0;

  const ours = {
    seed: async (chatId: string, size: number) => {
      const messages = uiMessages(size).map((message) => storedFormOf(message as unknown as UIMessageJson));
      for (let first = 0; first < size; first += SEED_BATCH) {
        await seeder.append(benchTenant, chatId, messages.slice(first, first + SEED_BATCH), {
          expectedVersion: first,
        });
      }
    },
    turn: async (chatId: string, size: number) => {
      const chat = await chats.openChat(chatId, { limit: options.window });
      if (chat.version !== size) throw new Error(`expected version ${size}, read ${chat.version}`);
      const [user, reply] = turnMessages(size, ++turnNumber);
      await chat.save({
        messages: [...chat.messages, user, reply],
        responseMessage: reply,
        isContinuation: false,
      });
    },
    reset: (chatId: string, size: number) => resetOurConversation(plain, chatId, size, OUR_TABLE),
  };
  const guide = {
    seed: (chatId: string, size: number) =>
      plain.send(
        new PutCommand({ TableName: GUIDE_TABLE, Item: { id: chatId, messages: uiMessages(size) } }),
      ),
    turn: async (chatId: string, size: number) => {
      const { Item } = await metered.send(
        new GetCommand({ TableName: GUIDE_TABLE, Key: { id: chatId }, ConsistentRead: true }),
      );
      const messages = (Item?.messages ?? []) as UIMessage[];
      if (messages.length !== size) throw new Error(`expected ${size} messages, read ${messages.length}`);
      const [user, reply] = turnMessages(size, ++turnNumber);
      await metered.send(
        new PutCommand({
          TableName: GUIDE_TABLE,
          Item: { id: chatId, messages: [...messages, user, reply] },
        }),
      );
    },
    reset: async (chatId: string, size: number) => {
      await guide.seed(chatId, size);
    },
  };
  const systems = { 'agent-memory/ai-sdk': ours, 'ai-sdk-guide': guide } as const;

  try {
    progress(`chats: warming up both systems (${options.processWarmupTurns} turns each, not measured)`);
    for (const system of Object.values(systems)) {
      await system.seed('warmup', 10);
      await measure(system, meter, 'warmup', 10, {
        warmupTurns: options.processWarmupTurns,
        measuredTurns: 1,
      });
    }

    progress("chats: finding where the guide's item stops accepting writes");
    const limit = await guideLimit(plain, raw);
    const largest = limit.maxMessages - 2;
    const sizes = [...new Set([...options.sizes.filter((size) => size < largest), largest])].sort(
      (a, b) => a - b,
    );
    const samples: ChatSample[] = [];
    for (const size of sizes) {
      const chatId = `chat-${size}`;
      for (const [name, system] of Object.entries(systems) as [ChatSystem, (typeof systems)[ChatSystem]][]) {
        progress(`chats: ${size.toLocaleString('en-US')} messages, ${name}: seeding and measuring`);
        await system.seed(chatId, size);
        samples.push({
          system: name,
          historyLength: size,
          ...(await measure(system, meter, chatId, size, options)),
        });
      }
    }
    // A turn on the full item: the read still works, the write is refused, and the chat is stuck.
    await guide.seed('full', limit.maxMessages);
    const writeError = await guide.turn('full', limit.maxMessages).then(
      () => 'none: the write was accepted',
      (error: unknown) => (error instanceof Error ? `${error.name}: ${error.message}` : String(error)),
    );
    return {
      window: options.window,
      warmupTurns: options.warmupTurns,
      measuredTurns: options.measuredTurns,
      processWarmupTurns: options.processWarmupTurns,
      samples,
      guideLimit: { ...limit, largestTurnHistory: largest, writeError },
    };
  } finally {
    metered.destroy();
    raw.destroy();
  }
}

/** The most UI messages the guide's item holds: a binary search with whole-item Puts (outside any measurement). */
async function guideLimit(
  client: DynamoDBDocumentClient,
  raw: DynamoDBClient,
): Promise<{ maxMessages: number; maxItemBytes: number }> {
  const fits = (count: number) =>
    client
      .send(new PutCommand({ TableName: GUIDE_TABLE, Item: { id: 'limit', messages: uiMessages(count) } }))
      .then(
        () => true,
        () => false,
      );
  let low = 1;
  let high = 2;
  while (await fits(high)) {
    low = high;
    high *= 2;
  }
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (await fits(middle)) low = middle;
    else high = middle;
  }
  await fits(low);
  const [bytes] = await itemSizes(raw, GUIDE_TABLE, [{ id: { S: 'limit' } }]);
  return { maxMessages: low, maxItemBytes: bytes ?? 0 };
}

interface ChatSystemSteps {
  turn(chatId: string, size: number): Promise<void>;
  reset(chatId: string, size: number): Promise<void>;
}

/** Turns on a chat of `size` messages, each put back to `size` afterwards (outside the measurement). */
async function measure(
  system: ChatSystemSteps,
  meter: DynamoDbMeter,
  chatId: string,
  size: number,
  counts: Pick<ChatCostOptions, 'warmupTurns' | 'measuredTurns'>,
): Promise<Omit<ChatSample, 'system' | 'historyLength'>> {
  const turns: { cost: TurnCost; ms: number }[] = [];
  for (let i = 0; i < counts.warmupTurns + counts.measuredTurns; i++) {
    meter.take();
    const started = performance.now();
    await system.turn(chatId, size);
    const ms = performance.now() - started;
    const cost = turnCost(meter.take());
    await system.reset(chatId, size);
    if (i >= counts.warmupTurns) turns.push({ cost, ms });
  }
  const totals = turns.map(({ cost }) => cost.modeledReadUnits + cost.modeledWriteUnits);
  const calls = turns.map(({ cost }) => cost.calls);
  return {
    calls: { min: Math.min(...calls), max: Math.max(...calls) },
    commands: turns[0]?.cost.commands ?? [],
    modeled: {
      readUnits: median(turns.map(({ cost }) => cost.modeledReadUnits)),
      writeUnits: median(turns.map(({ cost }) => cost.modeledWriteUnits)),
      totalUnits: median(totals),
    },
    modeledRange: { min: Math.min(...totals), max: Math.max(...totals) },
    reportedUnits: median(turns.map(({ cost }) => cost.readUnits + cost.writeUnits)),
    itemBytesRead: median(turns.map(({ cost }) => cost.itemBytesRead)),
    latency: summarizeLatency(turns.map(({ ms }) => ms)),
  };
}
