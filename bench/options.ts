import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

export interface BenchOptions {
  readonly quick: boolean;
  readonly sizes: number[];
  /** Messages our turn loads (the `limit` of the default window). */
  readonly window: number;
  readonly warmupTurns: number;
  readonly measuredTurns: number;
  /** Unmeasured turns per system before the first sample: DynamoDB Local's JVM needs hundreds to get hot. */
  readonly processWarmupTurns: number;
  readonly api: boolean;
  readonly coldStart: boolean;
  /** Thread lengths (checkpoints) of part 4; empty: skipped. */
  readonly checkpoints: number[];
  /** Chat lengths (UI messages) of part 5, besides the guide's limit; empty: part 5 skipped. */
  readonly chats: number[];
  /** Conversation lengths of part 6 (a turn with a summary); empty: part 6 skipped. */
  readonly summaries: number[];
  /** Turns of part 6's compaction cost. */
  readonly compactionTurns: number;
  /** Conversations in one tenant for part 7 (the listing); empty: skipped. */
  readonly listings: number[];
  /** Fresh processes per bundle (and variant) in part 3. */
  readonly coldStartRuns: number;
  /** Use this cloud assembly instead of running `cdk synth`. */
  readonly cloudAssembly: string | undefined;
  /** Where results.json and the SVG go. */
  readonly outDir: string;
}

export const USAGE = `Usage: npm run bench -- [options]   (or: npx tsx bench/run.ts [options])

  --quick               small sizes (10, 20, 200), few turns, at most one CDK bundle from an existing cdk.out;
                        also BENCH_QUICK=1. Results go to a temporary directory unless --out is given.
  --sizes 10,100,...    history lengths (default 10,100,1000,2000,5000,10000)
  --window N            messages our turn loads (default 10)
  --warmup N            warm-up turns per sample, not measured (default 3; quick 1)
  --turns N             measured turns per sample (default 30; quick 5); also BENCH_TURNS
  --process-warmup N    unmeasured turns per system before the first sample (default 500; quick 20)
  --runs N              fresh Node processes per bundle for cold start (default 15; quick 3)
  --cdk-out DIR         measure the bundles of this cloud assembly instead of running cdk synth
  --checkpoints 10,...  thread lengths of part 4, in checkpoints (default 10,100,1000,10000; quick 10,200)
  --no-api              skip part 2 (through the local server's HTTP API)
  --no-cold-start       skip part 3 (bundle size and import time)
  --no-checkpoints      skip part 4 (LangGraph checkpoints)
  --chats 10,...        chat lengths of part 5, in UI messages (default 10,100,1000; quick 10,100), and always
                        the longest chat the AI SDK guide's one-item pattern still takes a turn on
  --no-chats            skip part 5 (AI SDK chats)
  --summaries 100,...   conversation lengths of part 6, a turn given the summary (default 100,10000; quick 100,2000)
  --compaction-turns N  turns of part 6's compaction cost (default 1000; quick 200)
  --no-summaries        skip part 6 (summaries)
  --listings 100,...    conversations in one tenant for part 7, the listing (default 100,100000; quick 100,2000)
  --no-listings         skip part 7 (conversation listing)
  --out DIR             results directory (default bench/results)
  --help
`;

function positiveInteger(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 1)
    throw new Error(`${name} must be a positive integer, got "${value}"`);
  return parsed;
}

export function readOptions(
  argv: string[],
  environment: NodeJS.ProcessEnv,
  projectRoot: string,
): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      sizes: { type: 'string' },
      window: { type: 'string' },
      warmup: { type: 'string' },
      turns: { type: 'string' },
      'process-warmup': { type: 'string' },
      runs: { type: 'string' },
      'cdk-out': { type: 'string' },
      checkpoints: { type: 'string' },
      chats: { type: 'string' },
      summaries: { type: 'string' },
      'compaction-turns': { type: 'string' },
      'no-summaries': { type: 'boolean', default: false },
      listings: { type: 'string' },
      'no-api': { type: 'boolean', default: false },
      'no-cold-start': { type: 'boolean', default: false },
      'no-checkpoints': { type: 'boolean', default: false },
      'no-chats': { type: 'boolean', default: false },
      'no-listings': { type: 'boolean', default: false },
      out: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help';
  const quick =
    values.quick === true || environment.BENCH_QUICK === '1' || environment.BENCH_QUICK === 'true';
  const list = (name: string, text: string) =>
    text.split(',').map((size) => positiveInteger(name, size.trim().replaceAll('_', ''), 0));
  const sizes = values.sizes
    ? list('--sizes', values.sizes)
    : quick
      ? [10, 20, 200]
      : [10, 100, 1000, 2000, 5000, 10_000];
  const checkpoints = values['no-checkpoints']
    ? []
    : values.checkpoints
      ? list('--checkpoints', values.checkpoints)
      : quick
        ? [10, 200]
        : [10, 100, 1000, 10_000];
  const chats = values['no-chats']
    ? []
    : values.chats
      ? list('--chats', values.chats)
      : quick
        ? [10, 100]
        : [10, 100, 1000];
  const summaries = values['no-summaries']
    ? []
    : values.summaries
      ? list('--summaries', values.summaries)
      : quick
        ? [100, 2000]
        : [100, 10_000];
  const listings = values['no-listings']
    ? []
    : values.listings
      ? list('--listings', values.listings)
      : quick
        ? [100, 2000]
        : [100, 100_000];
  return {
    quick,
    summaries: [...new Set(summaries)].sort((a, b) => a - b),
    compactionTurns: positiveInteger('--compaction-turns', values['compaction-turns'], quick ? 200 : 1000),
    sizes: [...new Set(sizes)].sort((a, b) => a - b),
    window: positiveInteger('--window', values.window, 10),
    warmupTurns: values.warmup === '0' ? 0 : positiveInteger('--warmup', values.warmup, quick ? 1 : 3),
    measuredTurns: positiveInteger('--turns', values.turns ?? environment.BENCH_TURNS, quick ? 5 : 30),
    processWarmupTurns:
      values['process-warmup'] === '0'
        ? 0
        : positiveInteger('--process-warmup', values['process-warmup'], quick ? 20 : 500),
    api: !values['no-api'],
    coldStart: !values['no-cold-start'],
    checkpoints: [...new Set(checkpoints)].sort((a, b) => a - b),
    chats: [...new Set(chats)].sort((a, b) => a - b),
    listings: [...new Set(listings)].sort((a, b) => a - b),
    coldStartRuns: positiveInteger('--runs', values.runs, quick ? 3 : 15),
    cloudAssembly: values['cdk-out'],
    outDir:
      values.out ??
      (quick ? join(tmpdir(), 'agent-memory-bench-quick') : join(projectRoot, 'bench', 'results')),
  };
}
