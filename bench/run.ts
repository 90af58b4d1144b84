/**
 * `npm run bench`: cost and latency per agent turn against LangChain's DynamoDB history, the same turn through
 * the local HTTP API, Lambda bundle cold start, a LangGraph step on the DynamoDB checkpointer, and an AI SDK chat
 * turn against the AI SDK guide's one-item chat. Starts its own DynamoDB Local (in memory); tables on stdout,
 * progress on stderr, results.json and capacity-per-turn.svg in bench/results/ (quick mode: a temporary
 * directory). Exits non-zero when our turn, the checkpointer's step or the chat turn is not flat (capacity and
 * call count; never a timing).
 */
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { startDynamoDbLocal } from '../local/dynamodb-local.js';
import {
  checkAcceptance,
  checkChatAcceptance,
  checkCheckpointAcceptance,
  checkListingAcceptance,
  checkSummaryAcceptance,
} from './acceptance.js';
import { chatCost } from './chat-cost.js';
import { type CheckpointResults, checkpointCost } from './checkpoint-cost.js';
import { coldStart, existingCloudAssembly } from './cold-start.js';
import { costVsHistory } from './cost-vs-history.js';
import { checkItemSizeLimit } from './item-size-limit.js';
import { listingCost } from './listing-cost.js';
import { machineInfo } from './machine.js';
import { CONTENT_BYTES } from './messages.js';
import { readOptions, USAGE } from './options.js';
import { stderrProgress } from './progress.js';
import * as report from './report.js';
import { summaryCost } from './summary-cost.js';
import { throughApi } from './through-api.js';

// Lambda runs Node 22+; on an older local Node the AWS SDK warns once per process (it checks when a client is
// built, so setting this before any client is enough). The local server inherits it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const projectRoot = fileURLToPath(new URL('..', import.meta.url));

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const options = readOptions(argv, process.env, projectRoot);
  if (options === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const progress = stderrProgress();
  const machine = machineInfo(projectRoot);
  progress(`${options.quick ? 'quick' : 'full'} run on ${report.machineLine(machine)}`);

  progress('starting DynamoDB Local (in memory)');
  const dynamo = await startDynamoDbLocal({ inMemory: true });
  const stopOnSignal = (signal: NodeJS.Signals) => {
    progress(`${signal}: stopping DynamoDB Local`);
    void dynamo.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  try {
    progress(`DynamoDB Local at ${dynamo.endpoint}`);
    const limit = await checkItemSizeLimit(dynamo.endpoint);

    const cost = await costVsHistory({
      endpoint: dynamo.endpoint,
      sizes: options.sizes,
      window: options.window,
      warmupTurns: options.warmupTurns,
      measuredTurns: options.measuredTurns,
      processWarmupTurns: options.processWarmupTurns,
      progress,
    });

    const api = options.api
      ? await throughApi({
          endpoint: dynamo.endpoint,
          projectRoot,
          cost,
          warmupTurns: options.warmupTurns,
          measuredTurns: options.measuredTurns,
          serverWarmupTurns: Math.max(20, Math.round(options.processWarmupTurns / 5)),
          progress,
        })
      : ({ status: 'skipped', reason: '--no-api' } as const);

    const cloudAssembly =
      options.cloudAssembly ?? (options.quick ? existingCloudAssembly(projectRoot) : undefined);
    const cold = !options.coldStart
      ? ({ status: 'skipped', reason: '--no-cold-start' } as const)
      : options.quick && cloudAssembly === undefined
        ? ({
            status: 'skipped',
            reason: 'quick mode and no cdk.out in the project (run `npx cdk synth`)',
          } as const)
        : await coldStart({
            projectRoot,
            runs: options.coldStartRuns,
            source: cloudAssembly ? { synth: false, cloudAssembly } : { synth: true },
            ...(options.quick ? { maxBundles: 1 } : {}),
            progress,
          });

    const checkpoints: CheckpointResults =
      options.checkpoints.length === 0
        ? { status: 'skipped', reason: '--no-checkpoints' }
        : {
            status: 'measured',
            ...(await checkpointCost({
              endpoint: dynamo.endpoint,
              sizes: options.checkpoints,
              warmupSteps: options.warmupTurns,
              measuredSteps: options.measuredTurns,
              processWarmupSteps: options.processWarmupTurns,
              progress,
            })),
          };

    const chats: report.ChatResults =
      options.chats.length === 0
        ? { status: 'skipped', reason: '--no-chats' }
        : {
            status: 'measured',
            ...(await chatCost({
              endpoint: dynamo.endpoint,
              sizes: options.chats,
              window: options.window,
              warmupTurns: options.warmupTurns,
              measuredTurns: options.measuredTurns,
              processWarmupTurns: options.processWarmupTurns,
              progress,
            })),
          };

    const summaries: report.SummaryResults =
      options.summaries.length === 0
        ? { status: 'skipped', reason: '--no-summaries' }
        : {
            status: 'measured',
            ...(await summaryCost({
              endpoint: dynamo.endpoint,
              sizes: options.summaries,
              warmupTurns: options.warmupTurns,
              measuredTurns: options.measuredTurns,
              turns: options.compactionTurns,
              progress,
            })),
          };

    const listings: report.ListingResults =
      options.listings.length === 0
        ? { status: 'skipped', reason: '--no-listings' }
        : {
            status: 'measured',
            ...(await listingCost({
              endpoint: dynamo.endpoint,
              sizes: options.listings,
              measuredPages: options.measuredTurns,
              progress,
            })),
          };

    const turnAcceptance = checkAcceptance(cost);
    const checkpointChecks = checkpoints.status === 'measured' ? checkCheckpointAcceptance(checkpoints) : [];
    const chatChecks = chats.status === 'measured' ? checkChatAcceptance(chats) : [];
    const summaryChecks = summaries.status === 'measured' ? checkSummaryAcceptance(summaries) : [];
    const listingChecks = listings.status === 'measured' ? checkListingAcceptance(listings) : [];
    const partChecks = [...checkpointChecks, ...chatChecks, ...summaryChecks, ...listingChecks];
    const acceptance = {
      passed: turnAcceptance.passed && partChecks.every((check) => check.passed),
      checks: [...turnAcceptance.checks, ...partChecks],
    };
    const notes = report.honestyNotes({ cost, limit, api, cold, checkpoints, chats, listings, machine });
    const results: report.BenchResults = {
      schemaVersion: 1,
      command: ['npm run bench', ...(argv.length > 0 ? ['--', ...argv] : [])].join(' '),
      mode: options.quick ? 'quick' : 'full',
      machine,
      loadAverageAtEnd: loadavg().map((load) => Math.round(load * 100) / 100),
      settings: {
        sizes: options.sizes,
        window: options.window,
        warmupTurns: options.warmupTurns,
        measuredTurns: options.measuredTurns,
        processWarmupTurns: options.processWarmupTurns,
        contentBytes: CONTENT_BYTES,
        coldStartRuns: options.coldStartRuns,
        checkpoints: options.checkpoints,
        chats: options.chats,
        summaries: options.summaries,
        compactionTurns: options.compactionTurns,
        listings: options.listings,
      },
      itemSizeLimit: limit,
      costVsHistory: cost,
      throughApi: api,
      coldStart: cold,
      checkpoints,
      chats,
      summaries,
      listings,
      acceptance,
      notes,
    };
    const written = report.writeResults(options.outDir, results);

    const out = (text = '') => process.stdout.write(`${text}\n`);
    out();
    out(
      `Machine: ${report.machineLine(machine)}; load average at the end ${results.loadAverageAtEnd.join(' ')}`,
    );
    out();
    out(
      `1. Cost per agent turn vs history length (our window: newest ${cost.window} messages; ${cost.measuredTurns} measured turns after ${cost.warmupTurns} warm-ups)`,
    );
    out();
    out(report.costTable(cost));
    out();
    out('2. The same turn through the local HTTP API (GET messages + POST messages with expectedVersion)');
    out();
    out(report.apiTable(api));
    out();
    out('3. Cold start: Lambda bundles from `cdk synth`, imported in a fresh Node process');
    out();
    out(report.coldStartTable(cold));
    out();
    out(
      '4. LangGraph checkpoints (DynamoDBSaver): a step, getTuple of the newest checkpoint + put of the next, vs thread length',
    );
    out();
    out(report.checkpointTable(checkpoints));
    out();
    out(
      "5. AI SDK chats: a turn's save through agent-memory/ai-sdk vs the AI SDK guide's whole UIMessage[] array in one item",
    );
    out();
    out(report.chatTable(chats));
    out();
    out(
      '6. Long conversations: a turn given the summary (kept up by the compactor between turns), and what keeping it costs',
    );
    out();
    out(report.summaryTable(summaries));
    out();
    out(
      "7. Conversation listing: a page of 50 of one tenant's conversations (all, or one user's prefix), and what a turn's write pays for the listing's indexes",
    );
    out();
    out(report.listingTables(listings));
    out();
    out(`Acceptance: ${acceptance.passed ? 'PASS' : 'FAIL'}`);
    for (const check of acceptance.checks)
      out(`  ${check.passed ? 'ok  ' : 'FAIL'} ${check.name}: ${check.detail}`);
    out();
    out('Notes:');
    for (const note of notes) out(`  - ${note}`);
    out();
    out(`Results: ${written.json}`);
    out(`Chart:   ${written.svg}`);
    if (written.chatSvg !== undefined) out(`Chart:   ${written.chatSvg}`);
    return acceptance.passed ? 0 : 1;
  } finally {
    await dynamo.stop();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
