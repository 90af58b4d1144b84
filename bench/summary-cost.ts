import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { estimateTextTokens } from '../lambda/agent/context-policy.js';
import { OfflineModel } from '../lambda/agent/offline-model.js';
import { runTurn } from '../lambda/agent/run-turn.js';
import { ConversationStore } from '../lambda/memory/conversation-store.js';
import { conversationTableDefinition, summaryCheckInterval } from '../lambda/memory/table.js';
import { compactConversation } from '../lambda/summaries/compaction.js';
import { OfflineSummarizer } from '../lambda/summaries/offline-summarizer.js';
import {
  type Summarizer,
  type SummaryRequest,
  summaryInstructions,
  transcriptLine,
} from '../lambda/summaries/summarizer.js';
import { localClientConfig } from '../local/dynamodb-local.js';
import { DynamoDbMeter, type MeteredCall, turnCost } from './dynamodb-meter.js';
import { messageContent, storeMessages } from './messages.js';
import type { Progress } from './progress.js';
import { type LatencySummary, median, summarizeLatency } from './stats.js';

/*
 * Part 6: long conversations with summaries (lambda/summaries/).
 * (a) An agent turn (runTurn with the offline model and the turns' default policy, 20 messages / 8,000 tokens: one
 *     Query of head, summary and window, one TransactWriteItems) on a conversation whose summary the compactor keeps
 *     up (it runs between measured turns, outside the measurement, as the stack runs it beside the turns): calls,
 *     capacity and latency at each length.
 * (b) What keeping the summary costs: `turns` turns on a fresh conversation, the compactor woken as the stack wakes
 *     it (a turn whose write crosses a multiple of 10 seqs marks the head summaryDue), everything it does metered:
 *     invocations, model calls and the tokens a model would be given and would write (estimated, ~4 characters a
 *     token, from the prompt lambda/summaries/summarizer.ts builds), DynamoDB calls and capacity.
 */

export interface SummaryCostOptions {
  readonly endpoint: string;
  /** Conversation lengths of part (a). */
  readonly sizes: readonly number[];
  readonly warmupTurns: number;
  readonly measuredTurns: number;
  /** Turns of part (b). */
  readonly turns: number;
  readonly progress: Progress;
}

export interface SummaryTurnSample {
  readonly historyLength: number;
  readonly commands: string[];
  readonly calls: { readonly min: number; readonly max: number };
  /** Modeled capacity (DynamoDB's rules, from the item sizes) of one turn: median, and range. */
  readonly modeledUnits: number;
  readonly modeledRange: { readonly min: number; readonly max: number };
  readonly reportedUnits: number;
  /** The summary the turns were given (what it covers), and the messages after it. */
  readonly summaryThroughSeq: number;
  readonly contextMessages: number;
  readonly omitted: number;
  readonly latency: LatencySummary;
}

export interface CompactionCost {
  readonly turns: number;
  readonly messages: number;
  /** Compactor invocations (one per write crossing a multiple of summaryCheckInterval seqs). */
  readonly wakes: number;
  readonly summariesStored: number;
  readonly modelCalls: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly dynamoCalls: number;
  readonly readUnits: number;
  readonly writeUnits: number;
  readonly compactionMs: LatencySummary;
  /** The turn's context at the end: the summary and the messages after it (none left out). */
  readonly finalContext: {
    readonly summaryThroughSeq: number;
    readonly messages: number;
    readonly omitted: number;
  };
  /** Per 1,000 turns, scaled from `turns`. */
  readonly per1000Turns: {
    readonly wakes: number;
    readonly modelCalls: number;
    readonly inputTokens: number;
    readonly outputTokens: number;
    readonly readUnits: number;
    readonly writeUnits: number;
  };
}

export interface SummaryCostResults {
  readonly samples: SummaryTurnSample[];
  readonly compaction: CompactionCost;
}

const TABLE = 'bench-summaries';
const TENANT = 'bench';
const POLICY = { maxMessages: 20, maxTokens: 8000 };

/** The offline summary, counting what a real model would be given (its prompt) and would write. */
class MeteredSummarizer implements Summarizer {
  readonly modelId = 'offline';
  calls = 0;
  inputTokens = 0;
  outputTokens = 0;
  private readonly offline = new OfflineSummarizer();

  async summarize(request: SummaryRequest) {
    const prompt = [
      summaryInstructions(request.maxTokens),
      request.previous ?? '',
      ...request.messages.map(transcriptLine),
    ].join('\n');
    const result = await this.offline.summarize(request);
    this.calls++;
    this.inputTokens += estimateTextTokens(prompt);
    this.outputTokens += estimateTextTokens(result.text);
    return result;
  }
}

const modeledUnits = (calls: readonly MeteredCall[]) => {
  const cost = turnCost(calls);
  return {
    read: cost.modeledReadUnits,
    write: cost.modeledWriteUnits,
    reported: cost.readUnits + cost.writeUnits,
  };
};

export async function summaryCost(options: SummaryCostOptions): Promise<SummaryCostResults> {
  const { endpoint, progress } = options;
  const raw = new DynamoDBClient(localClientConfig(endpoint));
  await raw.send(new CreateTableCommand(conversationTableDefinition(TABLE)));
  const documents = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
  const meter = new DynamoDbMeter(documents, { requestCapacity: true, documentClient: true });
  const store = new ConversationStore({ client: documents, tableName: TABLE });
  const summarizer = new MeteredSummarizer();
  const model = new OfflineModel();
  const compact = (conversationId: string) =>
    compactConversation({ store, summarizer, tenant: TENANT, conversationId, settings: { policy: POLICY } });

  // (a) A turn with the summary kept up, at each length.
  const samples: SummaryTurnSample[] = [];
  for (const size of options.sizes) {
    const conversationId = `summarized-${size}`;
    for (let first = 1; first <= size; first += 50) {
      await store.append(TENANT, conversationId, storeMessages(first, Math.min(size, first + 49)));
    }
    await compact(conversationId);
    const units: number[] = [];
    const reported: number[] = [];
    const calls: number[] = [];
    const durations: number[] = [];
    let commands: string[] = [];
    let last: Awaited<ReturnType<typeof runTurn>> | undefined;
    for (let turn = 0; turn < options.warmupTurns + options.measuredTurns; turn++) {
      meter.take();
      const started = performance.now();
      last = await runTurn({
        store,
        model,
        tenant: TENANT,
        conversationId,
        message: messageContent(size + 2 * turn + 1),
        policy: POLICY,
      });
      const elapsed = performance.now() - started;
      const metered = meter.take();
      await compact(conversationId); // the compactor, beside the turns: outside the measurement
      meter.take();
      if (turn < options.warmupTurns) continue;
      const cost = modeledUnits(metered);
      units.push(cost.read + cost.write);
      reported.push(cost.reported);
      calls.push(metered.length);
      commands = metered.map((call) => call.command);
      durations.push(elapsed);
    }
    const context = last?.context;
    samples.push({
      historyLength: size,
      commands,
      calls: { min: Math.min(...calls), max: Math.max(...calls) },
      modeledUnits: median(units),
      modeledRange: { min: Math.min(...units), max: Math.max(...units) },
      reportedUnits: median(reported),
      summaryThroughSeq: context?.summary?.throughSeq ?? 0,
      contextMessages: context?.messages ?? 0,
      omitted: context?.omitted ?? 0,
      latency: summarizeLatency(durations),
    });
    progress(
      `summaries: a turn at ${size.toLocaleString('en-US')} messages: ${median(units)} units, median ${median(durations).toFixed(1)} ms`,
    );
  }

  // (b) Keeping the summary: `turns` turns, the compactor woken as the stack's stream filter wakes it.
  const conversationId = 'compaction-per-turns';
  const before = { calls: summarizer.calls, input: summarizer.inputTokens, output: summarizer.outputTokens };
  let wakes = 0;
  let stored = 0;
  let dynamoCalls = 0;
  let readUnits = 0;
  let writeUnits = 0;
  const compactionDurations: number[] = [];
  let version = 0;
  let last: Awaited<ReturnType<typeof runTurn>> | undefined;
  for (let turn = 0; turn < options.turns; turn++) {
    last = await runTurn({
      store,
      model,
      tenant: TENANT,
      conversationId,
      message: messageContent(2 * turn + 1),
      policy: POLICY,
    });
    const crossed =
      Math.floor(last.version / summaryCheckInterval) > Math.floor(version / summaryCheckInterval);
    version = last.version;
    if (!crossed) continue;
    meter.take();
    wakes++;
    const started = performance.now();
    const result = await compact(conversationId);
    compactionDurations.push(performance.now() - started);
    if (result.status === 'compacted') stored += result.stored;
    const metered = meter.take();
    const cost = modeledUnits(metered);
    dynamoCalls += metered.length;
    readUnits += cost.read;
    writeUnits += cost.write;
    if ((turn + 1) % 250 === 0)
      progress(`summaries: ${turn + 1} of ${options.turns} turns with the compactor`);
  }
  meter.take();
  const modelCalls = summarizer.calls - before.calls;
  const inputTokens = summarizer.inputTokens - before.input;
  const outputTokens = summarizer.outputTokens - before.output;
  const scale = 1000 / options.turns;
  const per = (value: number) => Math.round(value * scale * 10) / 10;
  return {
    samples,
    compaction: {
      turns: options.turns,
      messages: version,
      wakes,
      summariesStored: stored,
      modelCalls,
      inputTokens,
      outputTokens,
      dynamoCalls,
      readUnits: Math.round(readUnits * 10) / 10,
      writeUnits: Math.round(writeUnits * 10) / 10,
      compactionMs: summarizeLatency(compactionDurations),
      finalContext: {
        summaryThroughSeq: last?.context.summary?.throughSeq ?? 0,
        messages: last?.context.messages ?? 0,
        omitted: last?.context.omitted ?? 0,
      },
      per1000Turns: {
        wakes: per(wakes),
        modelCalls: per(modelCalls),
        inputTokens: per(inputTokens),
        outputTokens: per(outputTokens),
        readUnits: per(readUnits),
        writeUnits: per(writeUnits),
      },
    },
  };
}

/**
 * Dollars per 1,000 turns for keeping the summary, at list prices (us-east-1, on-demand; update them here):
 * DynamoDB $0.125 per million read request units and $0.625 per million write request units; Amazon Nova Lite
 * (the stack's default model) $0.06 per million input tokens and $0.24 per million output tokens; Lambda on arm64
 * $0.20 per million requests and $0.0000133334 per GB-second, the compactor at 512 MB for `secondsPerModelCall`
 * a model call (its time is the model's). Streams read by Lambda and event filtering cost nothing.
 */
export function dollarsPer1000Turns(cost: CompactionCost, secondsPerModelCall = 2) {
  const p = cost.per1000Turns;
  const dynamo = (p.readUnits * 0.125 + p.writeUnits * 0.625) / 1e6;
  const model = (p.inputTokens * 0.06 + p.outputTokens * 0.24) / 1e6;
  const lambda = (p.wakes * 0.2) / 1e6 + p.modelCalls * secondsPerModelCall * 0.5 * 0.0000133334;
  return { dynamo, model, lambda, total: dynamo + model + lambda, secondsPerModelCall };
}
