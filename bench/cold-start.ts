import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import type { Progress } from './progress.js';
import { median, round } from './stats.js';

export interface ColdStartOptions {
  readonly projectRoot: string;
  /** Fresh Node processes per bundle and variant. */
  readonly runs: number;
  /** Where the bundles come from: a fresh `cdk synth`, or an existing cloud assembly directory. */
  readonly source: { readonly synth: true } | { readonly synth: false; readonly cloudAssembly: string };
  /** Measure at most this many CDK bundles. @default all */
  readonly maxBundles?: number;
  readonly progress: Progress;
}

export interface BundleResult {
  /** The construct id of the function (`AppendMessages`), or `baseline`. */
  readonly name: string;
  readonly kind: 'function' | 'baseline';
  readonly runtime: string;
  readonly bundleBytes: number;
  readonly bundleGzipBytes: number;
  readonly sourceMapBytes: number;
  /** When the bundle file was written: an old one means a stale cdk.out. */
  readonly bundledAt: string;
  /** With the function's environment as deployed (NODE_OPTIONS=--enable-source-maps when the template sets it). */
  readonly asDeployed: ImportTimes;
  /** The same without NODE_OPTIONS, what source-map support costs at start: only when the template sets it. */
  readonly withoutSourceMaps?: ImportTimes;
}

export interface ImportTimes {
  readonly nodeOptions: string;
  /** Median of `await import(bundle)` inside the fresh process, wall time. */
  readonly importMedianMs: number;
  /**
   * Median CPU time (user + system) of the same import: what the import itself costs, steadier than wall time
   * on a machine that other work keeps busy (waiting for a core counts in wall time only).
   */
  readonly importCpuMedianMs: number;
  /** Median wall time of the whole process, spawn to exit (Node's own start included). */
  readonly processMedianMs: number;
  readonly importMs: number[];
  readonly importCpuMs: number[];
  /** import median / baseline's import median, same variant. */
  readonly importVsBaseline?: number;
  /** The same for the CPU time. */
  readonly importCpuVsBaseline?: number;
}

export type ColdStartResults =
  | { readonly status: 'skipped'; readonly reason: string; readonly baseline?: BundleResult }
  | {
      readonly status: 'measured';
      readonly cloudAssembly: string;
      readonly synthesizedMs?: number;
      readonly nodeVersion: string;
      readonly bundles: BundleResult[];
      /** Functions found but not measured (quick mode measures one). */
      readonly notMeasured: string[];
    };

interface FunctionBundle {
  readonly name: string;
  readonly runtime: string;
  readonly file: string;
  readonly environment: Record<string, string>;
}

/** The banner lib/memory-function.ts gives every bundle; taken from a CDK bundle when there is one. */
const DEFAULT_BANNER =
  "import { createRequire as __agentMemoryCreateRequire } from 'node:module';" +
  'const require = __agentMemoryCreateRequire(import.meta.url);';

/**
 * The stack with every function it can have: JWT auth adds the streaming API's authorizer, `inspector` the
 * inspector's page function (the route functions and the streaming turn are there in any configuration).
 */
const everyFunction = [
  ...['auth=jwt', 'jwtIssuer=https://issuer.example.com', 'jwtAudience=bench', 'inspector=true'].flatMap(
    (context) => ['-c', context],
  ),
];

/** The baseline: a handler module holding only the DynamoDB document client, built once at module scope. */
const BASELINE_SOURCE = `
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
const client = DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } });
export const handler = async () => ({ statusCode: 200, body: typeof client.send });
`;

/**
 * Part 3: each Lambda bundle the CDK app produces, its size, and how long a fresh Node process takes to import
 * it, next to a bundle built with the same esbuild options that holds only the DynamoDB document client.
 */
export async function coldStart(options: ColdStartOptions): Promise<ColdStartResults> {
  const { progress } = options;
  const work = mkdtempSync(join(tmpdir(), 'agent-memory-bench-'));
  try {
    let cloudAssembly: string;
    let synthesizedMs: number | undefined;
    if (options.source.synth) {
      cloudAssembly = join(work, 'cdk.out');
      progress('cold start: cdk synth (bundles every function with esbuild)');
      const started = performance.now();
      const synth = await run(
        'npx',
        ['cdk', 'synth', '--no-notices', '-q', '-o', cloudAssembly, ...everyFunction],
        options.projectRoot,
        { ...process.env, CDK_DISABLE_VERSION_CHECK: '1', CDK_DISABLE_CLI_TELEMETRY: 'true' },
      );
      synthesizedMs = Math.round(performance.now() - started);
      if (synth.code !== 0) {
        const baseline = await measureBaselineOnly(options, work, undefined);
        return { status: 'skipped', reason: `cdk synth failed: ${tail(synth.output)}`, baseline };
      }
    } else {
      cloudAssembly = options.source.cloudAssembly;
    }

    const found = existsSync(cloudAssembly) ? functionBundles(cloudAssembly) : [];
    if (found.length === 0) {
      const baseline = await measureBaselineOnly(options, work, undefined);
      return { status: 'skipped', reason: `no Lambda bundles under ${cloudAssembly}`, baseline };
    }
    // With a cap (quick mode), the largest bundles: they are the ones a cold start is slowest for.
    const measured =
      options.maxBundles === undefined
        ? found
        : [...found]
            .sort((a, b) => statSync(b.file).size - statSync(a.file).size)
            .slice(0, options.maxBundles);
    const runtime = measured[0]?.runtime ?? 'nodejs22.x';
    progress(`cold start: building the baseline bundle (esbuild, target ${esbuildTarget(runtime)})`);
    const baselineFile = await buildBaseline(options.projectRoot, work, runtime, bannerOf(measured[0]?.file));
    const bundles: FunctionBundle[] = [
      ...measured,
      {
        name: 'baseline',
        runtime,
        file: baselineFile,
        environment: { ...(measured[0]?.environment ?? {}) },
      },
    ];
    const results = await measureImports(bundles, options);
    return {
      status: 'measured',
      cloudAssembly: options.source.synth ? '(a fresh cdk synth in a temporary directory)' : cloudAssembly,
      ...(synthesizedMs === undefined ? {} : { synthesizedMs }),
      nodeVersion: process.version,
      bundles: results,
      notMeasured: found.filter((bundle) => !measured.includes(bundle)).map((bundle) => bundle.name),
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function measureBaselineOnly(
  options: ColdStartOptions,
  work: string,
  banner: string | undefined,
): Promise<BundleResult | undefined> {
  try {
    const file = await buildBaseline(options.projectRoot, work, 'nodejs22.x', banner ?? DEFAULT_BANNER);
    const [result] = await measureImports(
      [{ name: 'baseline', runtime: 'nodejs22.x', file, environment: {} }],
      options,
    );
    return result;
  } catch {
    return undefined;
  }
}

/** Every AWS::Lambda::Function of every stack template in the cloud assembly, with its bundle and environment. */
export function functionBundles(cloudAssembly: string): FunctionBundle[] {
  const manifest = JSON.parse(readFileSync(join(cloudAssembly, 'manifest.json'), 'utf8')) as {
    artifacts?: Record<string, { type: string; properties?: { templateFile?: string } }>;
  };
  const templates = Object.values(manifest.artifacts ?? {})
    .filter((artifact) => artifact.type === 'aws:cloudformation:stack' && artifact.properties?.templateFile)
    .map((artifact) => join(cloudAssembly, artifact.properties?.templateFile as string));
  const bundles: FunctionBundle[] = [];
  for (const templateFile of templates) {
    const template = JSON.parse(readFileSync(templateFile, 'utf8')) as {
      Resources?: Record<
        string,
        {
          Type: string;
          Metadata?: Record<string, unknown>;
          Properties?: {
            Runtime?: string;
            Handler?: string;
            Environment?: { Variables?: Record<string, unknown> };
          };
        }
      >;
    };
    for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
      if (resource.Type !== 'AWS::Lambda::Function') continue;
      const assetPath = resource.Metadata?.['aws:asset:path'];
      if (typeof assetPath !== 'string') continue;
      const directory = join(cloudAssembly, assetPath);
      const moduleName = (resource.Properties?.Handler ?? 'index.handler').replace(/\.[^.]+$/, '');
      const file = ['.mjs', '.js', '.cjs']
        .map((extension) => join(directory, `${moduleName}${extension}`))
        .find((candidate) => existsSync(candidate));
      if (!file) continue;
      const cdkPath = String(resource.Metadata?.['aws:cdk:path'] ?? logicalId);
      // AgentMemory/AgentMemory/AppendMessages/Function/Resource -> AppendMessages
      const name = /([^/]+)\/Function\/Resource$/.exec(cdkPath)?.[1] ?? logicalId;
      const environment = Object.fromEntries(
        Object.entries(resource.Properties?.Environment?.Variables ?? {}).map(([key, value]) => [
          key,
          // Tokens ({ Ref: Table }) only resolve at deploy time; a plain name stands in.
          typeof value === 'string' ? value : `bench-${key.toLowerCase().replaceAll('_', '-')}`,
        ]),
      );
      bundles.push({ name, runtime: resource.Properties?.Runtime ?? 'nodejs22.x', file, environment });
    }
  }
  return bundles;
}

const esbuildTarget = (runtime: string) => `node${/^nodejs(\d+)/.exec(runtime)?.[1] ?? '22'}`;

function bannerOf(file: string | undefined): string {
  if (!file) return DEFAULT_BANNER;
  const first = readFileSync(file, 'utf8').split('\n', 1)[0] ?? '';
  return first.startsWith('import') && first.includes('createRequire') ? first : DEFAULT_BANNER;
}

/** The same esbuild options as lib/memory-function.ts gives NodejsFunction: ESM, minified, node target. */
async function buildBaseline(
  projectRoot: string,
  work: string,
  runtime: string,
  banner: string,
): Promise<string> {
  const outfile = join(work, 'baseline', 'index.mjs');
  await build({
    stdin: { contents: BASELINE_SOURCE, resolveDir: projectRoot, sourcefile: 'baseline.ts', loader: 'ts' },
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: esbuildTarget(runtime),
    mainFields: ['module', 'main'],
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    banner: { js: banner },
    logLevel: 'warning',
  });
  return outfile;
}

/** Round-robin over bundles, so drift in the machine's speed spreads evenly over them. */
async function measureImports(bundles: FunctionBundle[], options: ColdStartOptions): Promise<BundleResult[]> {
  type Variant = 'asDeployed' | 'withoutSourceMaps';
  // Without NODE_OPTIONS as deployed the two variants are the same process: it is measured once.
  const variantsOf = (bundle: FunctionBundle): Variant[] =>
    bundle.environment.NODE_OPTIONS ? ['asDeployed', 'withoutSourceMaps'] : ['asDeployed'];
  const times = new Map<string, { importMs: number[]; importCpuMs: number[]; processMs: number[] }>();
  for (let runIndex = 0; runIndex < options.runs; runIndex++) {
    options.progress(`cold start: run ${runIndex + 1}/${options.runs} over ${bundles.length} bundles`);
    for (const bundle of bundles) {
      for (const variant of variantsOf(bundle)) {
        const environment = { ...bundle.environment };
        if (variant === 'withoutSourceMaps') delete environment.NODE_OPTIONS;
        const sample = await importOnce(bundle, environment);
        const key = `${bundle.name}/${variant}`;
        const entry = times.get(key) ?? { importMs: [], importCpuMs: [], processMs: [] };
        entry.importMs.push(sample.importMs);
        entry.importCpuMs.push(sample.importCpuMs);
        entry.processMs.push(sample.processMs);
        times.set(key, entry);
      }
    }
  }
  const summarize = (bundle: FunctionBundle, variant: Variant): ImportTimes => {
    const entry = times.get(`${bundle.name}/${variant}`) ?? { importMs: [], importCpuMs: [], processMs: [] };
    return {
      nodeOptions: variant === 'asDeployed' ? (bundle.environment.NODE_OPTIONS ?? '') : '',
      importMedianMs: round(median(entry.importMs), 1),
      importCpuMedianMs: round(median(entry.importCpuMs), 1),
      processMedianMs: round(median(entry.processMs), 1),
      importMs: entry.importMs.map((ms) => round(ms, 1)),
      importCpuMs: entry.importCpuMs.map((ms) => round(ms, 1)),
    };
  };
  const results = bundles.map((bundle) => {
    const mapFile = `${bundle.file}.map`;
    const code = readFileSync(bundle.file);
    return {
      name: bundle.name,
      kind: bundle.name === 'baseline' ? ('baseline' as const) : ('function' as const),
      runtime: bundle.runtime,
      bundleBytes: code.byteLength,
      bundleGzipBytes: gzipSync(code, { level: 9 }).byteLength,
      sourceMapBytes: existsSync(mapFile) ? statSync(mapFile).size : 0,
      bundledAt: statSync(bundle.file).mtime.toISOString(),
      asDeployed: summarize(bundle, 'asDeployed'),
      ...(variantsOf(bundle).includes('withoutSourceMaps')
        ? { withoutSourceMaps: summarize(bundle, 'withoutSourceMaps') }
        : {}),
    };
  });
  // The baseline runs with the first function's environment: without NODE_OPTIONS there, its one measurement
  // is also the reference of a function that sets them.
  const baseline = results.find((result) => result.kind === 'baseline');
  return results.map((result) => ({
    ...result,
    asDeployed: withRatio(result.asDeployed, baseline?.asDeployed),
    ...(result.withoutSourceMaps
      ? {
          withoutSourceMaps: withRatio(
            result.withoutSourceMaps,
            baseline?.withoutSourceMaps ?? baseline?.asDeployed,
          ),
        }
      : {}),
  }));
}

function withRatio(times: ImportTimes, baseline: ImportTimes | undefined): ImportTimes {
  return baseline
    ? {
        ...times,
        importVsBaseline: round(times.importMedianMs / baseline.importMedianMs, 2),
        importCpuVsBaseline: round(times.importCpuMedianMs / baseline.importCpuMedianMs, 2),
      }
    : times;
}

/**
 * One fresh `node` process that imports the bundle, with a clean environment: the function's variables plus
 * what Lambda always sets, and nothing of ours (no tsx loader in NODE_OPTIONS). Like Lambda's Node runtime, it
 * defines the `awslambda` global first (a response-streaming handler calls `awslambda.streamifyResponse` when
 * it loads), outside the timed import.
 */
async function importOnce(
  bundle: FunctionBundle,
  environment: Record<string, string>,
): Promise<{ importMs: number; importCpuMs: number; processMs: number }> {
  const url = pathToFileURL(bundle.file).href;
  const script =
    'globalThis.awslambda={streamifyResponse:(h)=>h,HttpResponseStream:{from:(s)=>s}};' +
    `const t=performance.now(), c=process.cpuUsage(); await import(${JSON.stringify(url)});` +
    'const u=process.cpuUsage(c); console.log(performance.now()-t, (u.user+u.system)/1000)';
  const started = performance.now();
  const result = await run(process.execPath, ['--input-type=module', '-e', script], tmpdir(), {
    PATH: process.env.PATH ?? '',
    HOME: tmpdir(),
    LANG: 'C.UTF-8',
    AWS_REGION: 'us-east-1',
    AWS_LAMBDA_FUNCTION_NAME: bundle.name,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
    // Lambda runs Node 22+, where the SDK has nothing to warn about; this machine's Node may be older.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...environment,
  });
  const processMs = performance.now() - started;
  const [importMs, importCpuMs] = (result.stdout.trim().split('\n').at(-1) ?? '').split(' ').map(Number);
  if (result.code !== 0 || !Number.isFinite(importMs) || !Number.isFinite(importCpuMs)) {
    throw new Error(`importing ${bundle.name} (${bundle.file}) failed: ${tail(result.output)}`);
  }
  return { importMs: importMs as number, importCpuMs: importCpuMs as number, processMs };
}

function run(
  command: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, output }));
  });
}

function tail(text: string): string {
  return text.trim().split('\n').slice(-10).join(' | ');
}

/** The cloud assembly a previous `cdk synth` left in the project, when there is one. */
export function existingCloudAssembly(projectRoot: string): string | undefined {
  const directory = join(projectRoot, 'cdk.out');
  return existsSync(join(directory, 'manifest.json')) &&
    readdirSync(directory).some((name) => name.startsWith('asset.'))
    ? directory
    : undefined;
}
