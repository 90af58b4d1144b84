import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Acceptance } from './acceptance.js';
import { capacityChartSvg, chatCapacityChartSvg } from './capacity-chart.js';
import type { ChatCostResults, ChatSample } from './chat-cost.js';
import type { CheckpointResults } from './checkpoint-cost.js';
import type { BundleResult, ColdStartResults } from './cold-start.js';
import type { CostResults, TurnSample } from './cost-vs-history.js';
import type { ItemSizeLimitCheck } from './item-size-limit.js';
import type { ListingCostResults } from './listing-cost.js';
import type { MachineInfo } from './machine.js';
import { CONTENT_BYTES } from './messages.js';
import { dollarsPer1000Turns, type SummaryCostResults } from './summary-cost.js';
import type { ApiResults } from './through-api.js';

export interface BenchResults {
  readonly schemaVersion: 1;
  readonly command: string;
  readonly mode: 'full' | 'quick';
  readonly machine: MachineInfo;
  readonly loadAverageAtEnd: number[];
  readonly settings: {
    readonly sizes: number[];
    readonly window: number;
    readonly warmupTurns: number;
    readonly measuredTurns: number;
    readonly processWarmupTurns: number;
    readonly contentBytes: number;
    readonly coldStartRuns: number;
    readonly checkpoints: number[];
    readonly chats: number[];
    readonly summaries: number[];
    readonly compactionTurns: number;
    readonly listings: number[];
  };
  readonly itemSizeLimit: ItemSizeLimitCheck;
  readonly costVsHistory: CostResults;
  readonly throughApi: ApiResults;
  readonly coldStart: ColdStartResults;
  readonly checkpoints: CheckpointResults;
  readonly chats: ChatResults;
  readonly summaries: SummaryResults;
  readonly listings: ListingResults;
  readonly acceptance: Acceptance;
  readonly notes: string[];
}

export type ChatResults =
  | { readonly status: 'skipped'; readonly reason: string }
  | ({ readonly status: 'measured' } & ChatCostResults);

export type SummaryResults =
  | { readonly status: 'skipped'; readonly reason: string }
  | ({ readonly status: 'measured' } & SummaryCostResults);

export type ListingResults =
  | { readonly status: 'skipped'; readonly reason: string }
  | ({ readonly status: 'measured' } & ListingCostResults);

export const RESULTS_FILE = 'results.json';
export const CHART_FILE = 'capacity-per-turn.svg';
export const CHAT_CHART_FILE = 'chat-capacity-per-turn.svg';

const SYSTEM_LABEL = { 'agent-memory': 'agent-memory', langchain: 'LangChain' } as const;

const int = (n: number) => n.toLocaleString('en-US');
const units = (n: number) => (Number.isInteger(n) ? int(n) : n.toFixed(1));
const ms = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));
const ratio = (n: number) => `${n >= 10 ? n.toFixed(0) : n.toFixed(2)}×`;
const kib = (bytes: number) => `${(bytes / 1024).toFixed(bytes < 10 * 1024 ? 1 : 0)} KiB`;

/** A Markdown table, padded so that it also reads well on a terminal. */
export function markdownTable(headers: string[], rows: string[][], rightAligned: boolean[]): string {
  const widths = headers.map((header, i) =>
    Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const cell = (text: string, i: number) =>
    rightAligned[i] ? text.padStart(widths[i] ?? 0) : text.padEnd(widths[i] ?? 0);
  const line = (cells: string[]) => `| ${cells.map(cell).join(' | ')} |`;
  const rule = `|${widths.map((width, i) => (rightAligned[i] ? `${'-'.repeat(width + 1)}:` : `${'-'.repeat(width + 2)}`)).join('|')}|`;
  return [line(headers), rule, ...rows.map(line)].join('\n');
}

export function costTable(cost: CostResults): string {
  const lengths = [
    ...new Set([...cost.samples.map((s) => s.historyLength), ...cost.failures.map((f) => f.historyLength)]),
  ].sort((a, b) => a - b);
  const rows: string[][] = [];
  for (const length of lengths) {
    const ours = cost.samples.find((s) => s.system === 'agent-memory' && s.historyLength === length);
    for (const system of ['agent-memory', 'langchain'] as const) {
      const sample = cost.samples.find((s) => s.system === system && s.historyLength === length);
      const failure = cost.failures.find((f) => f.system === system && f.historyLength === length);
      if (sample) rows.push(sampleRow(sample, ours));
      else if (failure) {
        rows.push([int(length), SYSTEM_LABEL[system], '-', '-', '-', 'fails', '', '-', '-', '-', '-', '']);
      }
    }
  }
  const table = markdownTable(
    [
      'History',
      'System',
      'Calls',
      'RCU',
      'WCU',
      'CU total',
      'vs ours',
      'DDB Local says (R+W)',
      'Bytes read',
      'Median ms',
      'p95 ms',
      'Median vs ours',
    ],
    rows,
    [true, false, true, true, true, true, true, true, true, true, true, true],
  );
  const failure = cost.failures[0];
  const footnote = failure
    ? `\nfails: LangChain keeps a conversation in one item; it stopped at ${int(failure.storedMessages)} messages (${int(
        failure.storedItemBytes,
      )} bytes) and the write of message ${int(failure.storedMessages + 1)} was refused: "${failure.error}".${
        cost.langchainLimit
          ? ` ${int(cost.langchainLimit.largestTurnHistory)} is the longest history on which a LangChain turn (+2 messages) still succeeds.`
          : ''
      }`
    : '';
  return `${table}${footnote}`;
}

function sampleRow(sample: TurnSample, ours: TurnSample | undefined): string[] {
  const calls =
    sample.callsPerTurn.min === sample.callsPerTurn.max
      ? String(sample.callsPerTurn.min)
      : `${sample.callsPerTurn.min}-${sample.callsPerTurn.max}`;
  const mine = sample.system === 'agent-memory';
  return [
    int(sample.historyLength),
    SYSTEM_LABEL[sample.system],
    calls,
    units(sample.modeled.readUnits),
    units(sample.modeled.writeUnits),
    units(sample.modeled.totalUnits),
    mine || !ours ? '' : ratio(sample.modeled.totalUnits / ours.modeled.totalUnits),
    `${units(sample.reported.readUnits)} + ${units(sample.reported.writeUnits)}`,
    int(sample.itemBytesRead),
    ms(sample.latency.medianMs),
    ms(sample.latency.p95Ms),
    mine || !ours ? '' : ratio(sample.latency.medianMs / ours.latency.medianMs),
  ];
}

export function apiTable(api: ApiResults): string {
  if (api.status === 'skipped') return `(skipped: ${api.reason})`;
  return markdownTable(
    [
      'History',
      'Store median ms',
      'API median ms',
      'API / store',
      'Store p95 ms',
      'API p95 ms',
      'API / store (p95)',
    ],
    api.samples.map((sample) => [
      int(sample.historyLength),
      ms(sample.direct.medianMs),
      ms(sample.latency.medianMs),
      ratio(sample.medianRatio),
      ms(sample.direct.p95Ms),
      ms(sample.latency.p95Ms),
      ratio(sample.p95Ratio),
    ]),
    [true, true, true, true, true, true, true],
  );
}

export function coldStartTable(cold: ColdStartResults): string {
  if (cold.status === 'skipped') {
    const baseline = cold.baseline
      ? ` Baseline only: ${kib(cold.baseline.bundleBytes)}, import median ${ms(cold.baseline.asDeployed.importMedianMs)} ms.`
      : '';
    return `(skipped: ${cold.reason})${baseline}`;
  }
  // The no-source-maps columns only when some function sets NODE_OPTIONS (--enable-source-maps) as deployed.
  const withSourceMaps = cold.bundles.some((bundle) => bundle.withoutSourceMaps !== undefined);
  const vsBaseline = (value: number | undefined) => (value === undefined ? '' : ratio(value));
  const table = markdownTable(
    [
      'Bundle',
      'index.mjs',
      'gzip -9',
      'Source map',
      'Import ms (as deployed)',
      'vs baseline',
      'Import CPU ms',
      'vs baseline',
      ...(withSourceMaps ? ['Import ms (no source maps)', 'vs baseline'] : []),
      'Process ms',
    ],
    cold.bundles.map((bundle) => [
      bundle.kind === 'baseline' ? 'baseline: DynamoDB document client only' : bundle.name,
      kib(bundle.bundleBytes),
      kib(bundle.bundleGzipBytes),
      kib(bundle.sourceMapBytes),
      ms(bundle.asDeployed.importMedianMs),
      vsBaseline(bundle.asDeployed.importVsBaseline),
      ms(bundle.asDeployed.importCpuMedianMs),
      vsBaseline(bundle.asDeployed.importCpuVsBaseline),
      ...(withSourceMaps
        ? [
            ms((bundle.withoutSourceMaps ?? bundle.asDeployed).importMedianMs),
            vsBaseline((bundle.withoutSourceMaps ?? bundle.asDeployed).importVsBaseline),
          ]
        : []),
      ms(bundle.asDeployed.processMedianMs),
    ]),
    [false, true, true, true, true, true, true, true, ...(withSourceMaps ? [true, true] : []), true],
  );
  const functions = cold.bundles.filter((bundle) => bundle.kind === 'function');
  const worst = (key: 'importVsBaseline' | 'importCpuVsBaseline') =>
    functions.reduce<BundleResult | undefined>(
      (found, bundle) =>
        (bundle.asDeployed[key] ?? 0) > (found?.asDeployed[key] ?? Number.NEGATIVE_INFINITY) ? bundle : found,
      undefined,
    );
  const [worstWall, worstCpu] = [worst('importVsBaseline'), worst('importCpuVsBaseline')];
  const worstLine =
    worstWall && worstCpu
      ? `\nWorst import vs the baseline, as deployed: ${worstWall.name} ${ratio(worstWall.asDeployed.importVsBaseline ?? 0)} (wall), ${worstCpu.name} ${ratio(worstCpu.asDeployed.importCpuVsBaseline ?? 0)} (CPU); medians of ${worstWall.asDeployed.importMs.length} fresh processes each.`
      : '';
  const skipped =
    cold.notMeasured.length > 0 ? `\nNot measured (quick mode): ${cold.notMeasured.join(', ')}` : '';
  const bundledAt = cold.bundles.find((bundle) => bundle.kind === 'function')?.bundledAt;
  const source = `\nBundles: ${cold.cloudAssembly}${bundledAt ? `, written ${bundledAt}` : ''}${
    cold.synthesizedMs === undefined ? '' : ` (synth took ${(cold.synthesizedMs / 1000).toFixed(0)} s)`
  }`;
  return `${table}${worstLine}${skipped}${source}`;
}

export function checkpointTable(checkpoints: CheckpointResults): string {
  if (checkpoints.status === 'skipped') return `(skipped: ${checkpoints.reason})`;
  const calls = (sample: { calls: { min: number; max: number } }) =>
    sample.calls.min === sample.calls.max
      ? String(sample.calls.min)
      : `${sample.calls.min}-${sample.calls.max}`;
  return markdownTable(
    [
      'Checkpoints',
      'getTuple calls',
      'RCU',
      'DDB Local says',
      'Bytes read',
      'put calls',
      'WCU',
      'DDB Local says',
      'getTuple median ms',
      'put median ms',
      'Seeding s',
    ],
    checkpoints.samples.map((sample) => [
      int(sample.checkpoints),
      calls(sample.getTuple),
      units(sample.getTuple.modeledUnits),
      units(sample.getTuple.reportedUnits),
      int(Math.round(sample.getTuple.itemBytes)),
      calls(sample.put),
      units(sample.put.modeledUnits),
      units(sample.put.reportedUnits),
      ms(sample.getTuple.latency.medianMs),
      ms(sample.put.latency.medianMs),
      (sample.seedMs / 1000).toFixed(1),
    ]),
    [true, true, true, true, true, true, true, true, true, true, true],
  );
}

export function chatTable(chats: ChatResults): string {
  if (chats.status === 'skipped') return `(skipped: ${chats.reason})`;
  const lengths = [...new Set(chats.samples.map((sample) => sample.historyLength))];
  const of = (system: ChatSample['system'], length: number) =>
    chats.samples.find((sample) => sample.system === system && sample.historyLength === length);
  const calls = (sample: ChatSample) =>
    sample.calls.min === sample.calls.max
      ? String(sample.calls.min)
      : `${sample.calls.min}-${sample.calls.max}`;
  const capacity = (sample: ChatSample) =>
    `${units(sample.modeled.totalUnits)} (${units(sample.modeled.readUnits)} + ${units(sample.modeled.writeUnits)})`;
  const rows = lengths.map((length) => {
    const ours = of('agent-memory/ai-sdk', length);
    const guide = of('ai-sdk-guide', length);
    if (ours === undefined || guide === undefined) throw new Error(`part 5: no pair of samples at ${length}`);
    return [
      int(length),
      calls(ours),
      capacity(ours),
      ms(ours.latency.medianMs),
      calls(guide),
      capacity(guide),
      ms(guide.latency.medianMs),
      kib(guide.itemBytesRead),
      ratio(guide.modeled.totalUnits / ours.modeled.totalUnits),
    ];
  });
  const limit = chats.guideLimit;
  rows.push([int(limit.maxMessages), '-', '-', '-', '2', 'write refused', '-', kib(limit.maxItemBytes), '-']);
  return `${markdownTable(
    [
      'UI messages',
      'agent-memory/ai-sdk: calls',
      'RCU + WCU',
      'median ms',
      'AI SDK guide (one item): calls',
      'RCU + WCU',
      'median ms',
      'item read',
      'guide / ours',
    ],
    rows,
    [true, true, true, true, true, true, true, true, true],
  )}\nThe guide's item holds at most ${int(limit.maxMessages)} of these messages (${kib(limit.maxItemBytes)}); a turn on it: ${limit.writeError}`;
}

/** Part 7: a page's calls and read units per tenant size, then a turn's write units, table and indexes. */
export function listingTables(listings: ListingResults): string {
  if (listings.status === 'skipped') return `(skipped: ${listings.reason})`;
  const pages = markdownTable(
    ['conversations', 'listing', 'page', 'listed', 'calls', 'RCU (table + indexes)', 'median ms'],
    listings.samples.map((sample) => [
      int(sample.conversations),
      sample.kind === 'tenant' ? 'tenant' : 'prefix user-0:',
      String(sample.page),
      String(sample.listed),
      `${sample.calls.min === sample.calls.max ? sample.calls.min : `${sample.calls.min}-${sample.calls.max}`} (${Object.entries(
        sample.commands,
      )
        .map(([command, count]) => `${count} ${command}`)
        .join(' + ')})`,
      `${units(sample.reported.total)} (${units(sample.reported.table)} + ${units(sample.reported.indexes)})`,
      ms(sample.latency.medianMs),
    ]),
    [true, false, true, true, false, true, true],
  );
  const turns = markdownTable(
    ['write of a turn (user message + reply)', 'WCU reported (table + indexes)'],
    listings.turns.map((turn) => [
      turn.case,
      `${units(turn.reported.total)} (${units(turn.reported.table)} + ${units(turn.reported.indexes)})`,
    ]),
    [false, true],
  );
  return `${pages}\n\n${turns}`;
}

/** What the numbers do and do not say; printed under the tables and stored in the JSON. */
export function honestyNotes(input: {
  cost: CostResults;
  limit: ItemSizeLimitCheck;
  api: ApiResults;
  cold: ColdStartResults;
  checkpoints: CheckpointResults;
  chats: ChatResults;
  listings: ListingResults;
  machine: MachineInfo;
}): string[] {
  const { cost, limit, cold, checkpoints, chats, machine } = input;
  const ours = cost.samples.filter((s) => s.system === 'agent-memory');
  const langchain = cost.samples.filter((s) => s.system === 'langchain');
  const transactionGap = ours.find((s) => s.reported.writeUnits !== s.modeled.writeUnits);
  const readsAgree = cost.samples.every((s) => s.reported.readUnits === s.modeled.readUnits);
  const langchainWritesAgree = langchain.every((s) => s.reported.writeUnits === s.modeled.writeUnits);
  const notes = [
    `Same DynamoDB Local (${machine.dynamoDbLocal}, in memory) for both systems in one run; every message has ${CONTENT_BYTES} bytes of ASCII content in both; before the first sample each system runs ${cost.processWarmupTurns} unmeasured turns (DynamoDB Local's JVM needs hundreds to reach a steady speed), then per sample ${cost.warmupTurns} warm-up turns are excluded and ${cost.measuredTurns} are measured; between turns each conversation is put back to its exact length outside the measurement.`,
    `Our turn: load(limit ${cost.window}) - one strongly consistent Query of the head and the newest ${cost.window} messages - then append(user, assistant, expectedVersion = the version read) - one TransactWriteItems of the head and two message items. LangChain's turn: getMessages() - an eventually consistent GetItem of the whole conversation (half the read units of a strongly consistent read) - then addMessages([human, ai]) - one UpdateItem with list_append. LangChain returns the whole history; ours returns the window.`,
    `Capacity columns (RCU, WCU, CU total, the chart) apply DynamoDB's documented rules to the item sizes measured in the run: reads per 4 KB (half when eventually consistent), writes per 1 KB of the larger of the item before and after, transactional writes twice. "DDB Local says" is the ConsumedCapacity DynamoDB Local returned (requested with ReturnConsumedCapacity=TOTAL; LangChain does not ask for it, so the benchmark's middleware adds it to LangChain's requests). DynamoDB Local reports only a total per request, so the read/write split is by operation. ${
      readsAgree
        ? 'Its read units equal the modeled ones in every sample'
        : 'Its read units differ from the modeled ones in some samples'
    }${langchain.length > 0 ? (langchainWritesAgree ? ", as do LangChain's write units" : "; LangChain's write units differ in some samples") : ''}.${
      transactionGap
        ? ` It under-reports TransactWriteItems: it seems to count items of equal size once, so our 3-item transaction (${transactionGap.modeled.writeUnits} WCU by the rules) is reported as ${transactionGap.reported.writeUnits}.`
        : ''
    }`,
    `The 400 KB item limit is enforced by DynamoDB Local as by DynamoDB: an item of ${int(limit.limitBytes)} bytes was ${
      limit.atLimitAccepted ? 'accepted' : 'REFUSED'
    } and one of ${int(limit.limitBytes + 1)} bytes ${limit.overLimitRejected ? `refused (${limit.overLimitError})` : 'ACCEPTED'}.${
      cost.langchainLimit
        ? ` LangChain's conversation item stopped growing at ${int(cost.langchainLimit.maxMessages)} messages (${int(cost.langchainLimit.maxItemBytes)} bytes); its next write failed.`
        : ''
    }`,
    'DynamoDB Local does not model: throttling and partition throughput limits (no ProvisionedThroughputExceeded, no adaptive capacity, no 1,000 WCU per partition ceiling), real network latency (everything here is loopback, no TLS), multi-AZ replication, and real capacity accounting quirks (see above). Its latencies are those of a Java/SQLite emulator on this machine: compare ratios, not absolute milliseconds.',
    `Part 2 goes through the local server (Node http -> API Gateway v2 event -> the Lambda handler modules -> the store); after every write the local server also sends one strongly consistent GetItem that makes DynamoDB Local durable before it answers (local/write-fence.ts), which the deployed Lambda does not do.`,
  ];
  if (checkpoints.status === 'measured') {
    const sample = checkpoints.samples[0];
    notes.push(
      `Part 4 runs DynamoDBSaver (agent-memory/langgraph) on a thread seeded through the saver itself, each checkpoint put after the previous one as LangGraph does. Each checkpoint's state: ${checkpoints.state.carriedMessages} messages of ${checkpoints.state.messageBytes} bytes written once and carried over by every later step, a step counter and a new message written by each step. A step: getTuple of the newest checkpoint (${sample?.getTuple.commands.join(' + ')}; the carried messages are read by key, wherever in the thread they were written) and put of the next (${sample?.put.commands.join(' + ')} of the checkpoint item and the two values it changed). Each measured step adds a checkpoint: a sample at N checkpoints ends at N + ${checkpoints.warmupSteps + checkpoints.measuredSteps}. Modeled RCU counts a Query that finds no pending writes as 1 unit; DynamoDB Local reports 0 for it, and under-reports transactions as above.`,
    );
  }
  if (chats.status === 'measured') {
    const ours = chats.samples.find((sample) => sample.system === 'agent-memory/ai-sdk');
    notes.push(
      `Part 5 stores the same AI SDK chat turn (a user UIMessage and an assistant UIMessage of ${CONTENT_BYTES} bytes of text each) two ways. Ours: AgentMemoryChatStore.openChat(id, { limit: ${chats.window} }) then ChatHistory.save, as toUIMessageStream's onEnd calls it (${ours?.commands.join(' + ')}: the head and the newest ${chats.window} messages; the head, the two messages and the save's idempotency record, which makes a retried save change nothing). The AI SDK guide's pattern (loadChat/saveChat of the whole UIMessage[] array) ported to DynamoDB as one item per chat: GetItem (strongly consistent, so a save sees the previous one) and PutItem of the whole array. Write units of a PutItem are modeled on the new item (larger than the old one); DynamoDB Local's reports are shown in results.json.`,
    );
  }
  if (input.listings.status === 'measured') {
    notes.push(
      `Part 7 seeds each tenant's conversations as heads in the store's shape with BatchWriteItem (the newest 60 by the store's own appends), their last writes spread over 30 days, so the pages read are the store's newest writes in every size. A page: 16 eventually consistent Queries on a keys-only listing index (one per shard; a Query is charged at least 0.5 RCU) and one strongly consistent BatchGetItem of the page's heads (1 RCU per head under 4 KB). Capacity is what DynamoDB Local reported with ReturnConsumedCapacity=INDEXES, table and indexes apart; for a transaction it reports the index writes doubled, as it does the table's. The seeding time is in results.json (seedMs).`,
    );
  }
  if (cold.status === 'measured') {
    notes.push(
      `Part 3 imports each bundle in a fresh Node ${cold.nodeVersion} process on this ${machine.os} machine; Lambda runs ${
        cold.bundles[0]?.runtime ?? 'a Node runtime'
      } on its own hardware and adds its own init (download, unzip, runtime start). Import time only: no handler invocation, no network. Compare with the baseline bundle built by the same esbuild options. Import CPU ms is the user + system CPU time the import took in that process: on a shared machine wall times swing with other work (waiting for a core counts in wall time only), so compare CPU ratios first.`,
    );
  }
  return notes;
}

export function writeResults(
  outDir: string,
  results: BenchResults,
): { json: string; svg: string; chatSvg: string | undefined } {
  mkdirSync(outDir, { recursive: true });
  const json = join(outDir, RESULTS_FILE);
  const svg = join(outDir, CHART_FILE);
  const context = {
    dynamoDbLocal: results.machine.dynamoDbLocal,
    contentBytes: results.settings.contentBytes,
  };
  writeFileSync(json, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(svg, capacityChartSvg(results.costVsHistory, context));
  if (results.chats.status !== 'measured') return { json, svg, chatSvg: undefined };
  const chatSvg = join(outDir, CHAT_CHART_FILE);
  writeFileSync(chatSvg, chatCapacityChartSvg(results.chats, context));
  return { json, svg, chatSvg };
}

export function machineLine(machine: MachineInfo): string {
  return `${machine.os}, ${machine.cpuModel} x${machine.cpuCount}, ${machine.memoryGiB} GiB (load average ${machine.loadAverage.join(' ')}), Node ${machine.node}, ${machine.java}, DynamoDB Local ${machine.dynamoDbLocal}, @langchain/community ${machine.packages['@langchain/community']}, ${machine.date}`;
}

/** Part 6: a turn given the summary at each length, and what keeping the summary costs per 1,000 turns. */
export function summaryTable(summaries: SummaryResults): string {
  if (summaries.status === 'skipped') return `Skipped: ${summaries.reason}.`;
  const turns = markdownTable(
    [
      'messages',
      'calls',
      'capacity units (modeled)',
      'reported',
      'summary through',
      'after it',
      'left out',
      'median ms',
      'p95 ms',
    ],
    summaries.samples.map((sample) => [
      int(sample.historyLength),
      sample.commands.join(' + '),
      units(sample.modeledUnits),
      units(sample.reportedUnits),
      `#${int(sample.summaryThroughSeq)}`,
      String(sample.contextMessages),
      String(sample.omitted),
      ms(sample.latency.medianMs),
      ms(sample.latency.p95Ms),
    ]),
    [true, false, true, true, true, true, true, true, true],
  );
  const c = summaries.compaction;
  const p = c.per1000Turns;
  const dollars = dollarsPer1000Turns(c);
  const money = (n: number) => `$${n.toFixed(n < 0.01 ? 5 : 4)}`;
  return [
    turns,
    '',
    `Keeping the summary, ${int(c.turns)} turns (${int(c.messages)} messages), the compactor woken as the stack wakes it: ` +
      `${int(c.wakes)} wakes, ${int(c.summariesStored)} summaries stored, ${int(c.modelCalls)} model calls ` +
      `(${int(c.inputTokens)} input and ${int(c.outputTokens)} output tokens, estimated), ${int(c.dynamoCalls)} DynamoDB calls ` +
      `(${units(c.readUnits)} RCU + ${units(c.writeUnits)} WCU); a compaction took ${ms(c.compactionMs.medianMs)} ms (median, offline model). ` +
      `Last turn: summary through #${int(c.finalContext.summaryThroughSeq)}, ${c.finalContext.messages} messages after it, ${c.finalContext.omitted} left out.`,
    `Per 1,000 turns: ${p.wakes} compactor invocations, ${p.modelCalls} model calls, ${int(p.inputTokens)} input + ${int(p.outputTokens)} output tokens, ` +
      `${p.readUnits} RCU + ${p.writeUnits} WCU; at list prices (Nova Lite, on-demand DynamoDB, Lambda arm64 at 512 MB and ` +
      `${dollars.secondsPerModelCall} s a model call) ${money(dollars.total)}: model ${money(dollars.model)}, DynamoDB ${money(dollars.dynamo)}, Lambda ${money(dollars.lambda)}.`,
  ].join('\n');
}
