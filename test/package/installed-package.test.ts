import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { localClientConfig } from '../../local/dynamodb-local.js';
import { projectRoot } from '../../local/local-server-config.js';
import { startServer, stopAllServers } from '../e2e/server-process.js';
import { createTestTable } from '../support/dynamodb.js';

/*
 * The package as a user gets it: `npm pack` (which builds dist/), then the tarball installed into fresh
 * projects in a temporary folder, with no lock file and no path back to this repository. There, the README's
 * examples run as written (README blocks marked `<!-- installed-package test: <file> -->`), with plain `node`
 * and the consumer's own `tsc`. The consumer's dependencies are pinned to the versions this repository
 * installed, so npm takes them from its cache.
 */

const readme = readFileSync(join(projectRoot, 'README.md'), 'utf8');

/** The README's marked examples, by the file name the marker gives them. */
function readmeExamples(): Map<string, string> {
  const examples = new Map<string, string>();
  for (const match of readme.matchAll(/<!-- installed-package test: (\S+) -->\s*```ts\n([\s\S]*?)```/g)) {
    if (match[1] !== undefined && match[2] !== undefined) examples.set(match[1], match[2]);
  }
  return examples;
}

/** The version this repository installed, so the consumer's install of it comes from npm's cache. */
function installedVersion(name: string): string {
  const manifest = JSON.parse(readFileSync(join(projectRoot, 'node_modules', name, 'package.json'), 'utf8'));
  return `${name}@${(manifest as { version: string }).version}`;
}

/** Runs a command to its end; throws with everything it printed unless it exits 0. Returns its stdout. */
function runOk(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
  const result: SpawnSyncReturns<string> = spawnSync(command, args, {
    cwd,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 240_000,
  });
  if (result.status !== 0) {
    const printed = `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ?? ''}`;
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd} (${result.status}):\n${printed}`);
  }
  return result.stdout;
}

/** Node itself, the version running the tests. */
const node = process.execPath;

/** A fresh npm project of type module with the given packages, and `tsc --init`'s defaults when asked. */
function newProject(folder: string, packages: readonly string[]): string {
  mkdirSync(folder, { recursive: true });
  runOk('npm', ['init', '-y'], folder);
  runOk('npm', ['pkg', 'set', 'type=module'], folder);
  runOk('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', ...packages], folder);
  runOk(join(folder, 'node_modules', '.bin', 'tsc'), ['--init'], folder);
  return folder;
}

function writeFiles(folder: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(folder, name)), { recursive: true });
    writeFileSync(join(folder, name), text);
  }
}

const bin = (project: string, name: string) => join(project, 'node_modules', '.bin', name);

describe('the installed package', () => {
  let work: string;
  let tarball: string;
  /** A project with every peer: the README's client, store and construct examples. */
  let app: string;
  /** A project with the package alone: the client without the AWS SDK or CDK. */
  let clientOnly: string;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'agent-memory-package-'));
    runOk('npm', ['pack', '--pack-destination', work], projectRoot);
    const packed = readdirSync(work).filter((name) => name.endsWith('.tgz'));
    expect(packed).toHaveLength(1);
    tarball = join(work, packed[0] as string);

    const typescript = installedVersion('typescript');
    clientOnly = newProject(join(work, 'client-only'), [tarball, typescript]);
    app = newProject(join(work, 'app'), [
      tarball,
      typescript,
      ...[
        '@types/node',
        'aws-cdk-lib',
        'constructs',
        'cdk-nag',
        'esbuild',
        '@aws-sdk/client-dynamodb',
        '@aws-sdk/lib-dynamodb',
        '@aws-sdk/util-dynamodb',
        '@smithy/signature-v4',
        '@aws-crypto/sha256-js',
        '@aws-sdk/credential-provider-node',
      ].map(installedVersion),
    ]);
  }, 600_000);

  afterAll(async () => {
    await stopAllServers();
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  describe('the tarball', () => {
    it('holds the build, the docs and the license, and no tests, benchmarks or sources', () => {
      const listing = runOk('tar', ['-tzf', tarball], work).trim().split('\n');
      const topLevel = new Set(listing.map((path) => path.replace(/^package\//, '').split('/')[0]));
      expect([...topLevel].sort()).toEqual(['LICENSE', 'README.md', 'dist', 'docs', 'package.json']);
      expect(listing.filter((path) => /\.ts$/.test(path) && !/\.d\.ts$/.test(path))).toEqual([]);
      expect(listing).toContain('package/dist/client/index.js');
      expect(listing).toContain('package/dist/client/index.d.ts');
      expect(listing).toContain('package/docs/http-contract.md');
    });

    it('passes publint', () => {
      const output = runOk(join(projectRoot, 'node_modules', '.bin', 'publint'), [tarball, '--strict'], work);
      expect(output).toContain('All good!');
    });

    it('passes Are the Types Wrong? as an ESM-only package', () => {
      // Act: the esm-only profile leaves out the resolutions of CommonJS builds (node10, node16 from CJS),
      // which this package has none of; CommonJS apps on Node 22.12+ load it with require (tested below).
      const report = JSON.parse(
        runOk(
          join(projectRoot, 'node_modules', '.bin', 'attw'),
          [tarball, '--profile', 'esm-only', '--format', 'json'],
          work,
        ),
      ) as {
        analysis: { entrypoints: object };
        problems: Record<string, Array<{ resolutionKind?: string }>>;
      };

      // Assess: every entry point analysed; problems, if any, only in the resolutions the profile leaves out.
      expect(Object.keys(report.analysis.entrypoints)).toHaveLength(8);
      const counted = Object.values(report.problems)
        .flat()
        .filter((problem) => !['node10', 'node16-cjs'].includes(problem.resolutionKind ?? ''));
      expect(counted).toEqual([]);
    });
  });

  describe('a client-only project', () => {
    it('installs the package and zod, nothing of the AWS CDK or SDK', () => {
      const installed = readdirSync(join(clientOnly, 'node_modules')).filter((name) => !name.startsWith('.'));
      expect(installed.sort()).toEqual(['agent-memory', 'typescript', 'zod']);
    });

    it('imports the client with plain node, and the store says which peer it needs', () => {
      writeFiles(clientOnly, {
        'smoke.mjs': `
          import { AgentMemoryClient, VersionConflictError, tenantHeaderAuth } from 'agent-memory/client';
          const client = new AgentMemoryClient({ baseUrl: 'http://127.0.0.1:1', auth: tenantHeaderAuth('t') });
          const store = await import('agent-memory/store').then(() => 'loaded', (error) => error.message);
          console.log(JSON.stringify({
            client: typeof client.append,
            conflict: new VersionConflictError(3).currentVersion,
            store,
          }));
        `,
      });
      const result = JSON.parse(runOk(node, ['smoke.mjs'], clientOnly));
      expect(result).toMatchObject({ client: 'function', conflict: 3 });
      expect(result.store).toContain("Cannot find package '@aws-sdk/");
    });

    it("type-checks with tsc --init's defaults, our declarations included (skipLibCheck off)", () => {
      writeFiles(clientOnly, {
        'check.ts': `
          import {
            AgentMemoryClient,
            type HistoryPage,
            type Message,
            tenantHeaderAuth,
            VersionConflictError,
          } from 'agent-memory/client';

          const memory = new AgentMemoryClient({ baseUrl: 'http://127.0.0.1:3000', auth: tenantHeaderAuth('acme') });
          const message: Message = { role: 'user', content: 'hi' };
          export async function lastPage(): Promise<HistoryPage> {
            await memory.append('conversation', [message], { expectedVersion: 0 });
            return memory.load('conversation', { limit: 5 });
          }
          export const isConflict = (error: unknown) => error instanceof VersionConflictError && error.currentVersion > 0;
        `,
      });
      expect(runOk(bin(clientOnly, 'tsc'), ['--noEmit', '--skipLibCheck', 'false'], clientOnly)).toBe('');
    });
  });

  describe('a project with the peers', () => {
    const examples = readmeExamples();
    let compiled: SpawnSyncReturns<string>;

    beforeAll(() => {
      // tsc --init's own advice for Node.js programs: `"lib": ["esnext"], "types": ["node"]`.
      const tsconfig = readFileSync(join(app, 'tsconfig.json'), 'utf8');
      expect(tsconfig).toContain('"types": [],');
      writeFileSync(
        join(app, 'tsconfig.json'),
        tsconfig.replace('"types": [],', '"lib": ["esnext"], "types": ["node"],'),
      );
      writeFiles(app, Object.fromEntries(examples));
      writeFiles(app, {
        // The app around the README's stack, with the cdk-nag packs this repository's own app uses.
        'bin/app.ts': `
          import { App, Validations } from 'aws-cdk-lib';
          import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
          import { AgentStack } from '../lib/agent-stack.js';

          const app = new App();
          const stack = new AgentStack(app, 'MyAgent', { env: { region: 'eu-west-1' } });
          Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
          // The app's own function is the app's business: exactly the findings of a default NodejsFunction.
          Validations.of(stack.node.findChild('Agent')).acknowledge(
            ...${JSON.stringify(ownFunctionFindings)}.map((id) => ({ id, reason: "The app's own function." })),
          );
          app.synth();
        `,
        // Calls the README's agent handler, as Lambda would.
        'run-agent.mjs': `
          import { handler } from './src/agent.js';
          const first = await handler({ userId: '42', text: 'My name is Ada.' });
          const second = await handler({ userId: '42', text: 'What is my name?' });
          console.log(JSON.stringify([first, second]));
        `,
      });
      // The consumer's own compiler, which every later test runs the output of.
      compiled = spawnSync(bin(app, 'tsc'), [], { cwd: app, encoding: 'utf8' });
    });

    it('the README has the client, store and construct examples', () => {
      expect([...examples.keys()].sort()).toEqual([
        'client.ts',
        'in-process-memory.ts',
        'lib/agent-stack.ts',
        'src/agent.ts',
      ]);
    });

    it('imports every entry point but the adapters with plain node, errors included', () => {
      writeFiles(app, {
        'smoke.mjs': `
          import * as client from 'agent-memory/client';
          import * as clientStore from 'agent-memory/client/store';
          import * as construct from 'agent-memory/construct';
          import * as store from 'agent-memory/store';
          console.log(JSON.stringify({
            client: Object.keys(client),
            clientStore: Object.keys(clientStore),
            construct: Object.keys(construct),
            store: Object.keys(store),
            storeErrors: new store.VersionConflictError(2) instanceof store.MemoryError,
            converted: clientStore.fromStoreError(new store.VersionConflictError(2)) instanceof client.VersionConflictError,
          }));
        `,
        // A CommonJS app (as \`cdk init\` makes them) requires the ESM package: Node 22.12+ loads it.
        'smoke.cjs': `
          const { AgentMemory } = require('agent-memory/construct');
          const { AgentMemoryClient } = require('agent-memory/client');
          console.log(JSON.stringify({ construct: typeof AgentMemory, client: typeof AgentMemoryClient }));
        `,
      });
      const esm = JSON.parse(runOk(node, ['smoke.mjs'], app));
      expect(esm.client).toEqual(
        expect.arrayContaining(['AgentMemoryClient', 'sigV4Auth', 'VersionConflictError']),
      );
      expect(esm.clientStore).toEqual(expect.arrayContaining(['StoreConversationMemory']));
      expect(esm.construct).toEqual(expect.arrayContaining(['AgentMemory']));
      expect(esm.store).toEqual(
        expect.arrayContaining(['ConversationStore', 'MemoryError', 'VersionConflictError', 'limits']),
      );
      expect(esm).toMatchObject({ storeErrors: true, converted: true });
      expect(JSON.parse(runOk(node, ['smoke.cjs'], app))).toEqual({
        construct: 'function',
        client: 'function',
      });
    });

    it("type-checks the examples with tsc --init's defaults (for Node.js) and compiles them", () => {
      expect(compiled.status, compiled.stdout).toBe(0);
      expect(compiled.stdout).toBe('');
      expect(existsSync(join(app, 'src', 'agent.js'))).toBe(true);
    });

    it('synthesizes the README stack offline, cdk-nag clean, deploying the prebuilt handlers', () => {
      // Act: what \`cdk synth\` does, without the CLI.
      const outdir = join(app, 'cdk.out');
      runOk(node, ['bin/app.js'], app, { CDK_OUTDIR: outdir });

      // Assess: the construct's eighteen functions (the HTTP API's eleven routes and its fallback, the streaming
      // API's streamed turn and useChat's two routes, its JWT authorizer, the attachment sweep and the compactor)
      // and the app's own.
      const template = JSON.parse(readFileSync(join(outdir, 'MyAgent.template.json'), 'utf8'));
      const functions = Object.values(template.Resources as Record<string, { Type: string }>).filter(
        (resource) => resource.Type === 'AWS::Lambda::Function',
      );
      expect(functions).toHaveLength(19);
      // The construct's functions deploy the bundles of the package, byte for byte; only the app's own
      // function was bundled here (by the app's esbuild, as CommonJS index.js).
      const shipped = new Set(
        bundleFiles(join(app, 'node_modules', 'agent-memory', 'dist', 'bundles')).map((file) =>
          readFileSync(file, 'utf8'),
        ),
      );
      const assets = readdirSync(outdir).filter((name) => name.startsWith('asset.'));
      const deployed = assets.map((name) => readdirSync(join(outdir, name)).sort().join(' '));
      expect(deployed.sort()).toEqual([...Array(18).fill('index.mjs index.mjs.map'), 'index.js'].sort());
      for (const name of assets.filter((asset) => existsSync(join(outdir, asset, 'index.mjs')))) {
        expect(shipped.has(readFileSync(join(outdir, name, 'index.mjs'), 'utf8'))).toBe(true);
      }
    });

    it('runs the agent handler on the store against DynamoDB Local', async () => {
      const { tableName } = await createTestTable('installed');
      const { region, credentials } = localClientConfig(inject('dynamoDbEndpoint'));
      const output = runOk(node, ['run-agent.mjs'], app, {
        TABLE_NAME: tableName,
        AWS_ENDPOINT_URL_DYNAMODB: inject('dynamoDbEndpoint'),
        AWS_REGION: region,
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      });
      expect(JSON.parse(output)).toEqual([
        { version: 2, reply: 'You said: My name is Ada. (after 0 messages)' },
        { version: 4, reply: 'You said: What is my name? (after 2 messages)' },
      ]);
      const inProcess = runOk(node, ['in-process-memory.js'], app, {
        TABLE_NAME: tableName,
        AWS_ENDPOINT_URL_DYNAMODB: inject('dynamoDbEndpoint'),
        AWS_REGION: region,
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      });
      expect(inProcess).toBe('');
    });

    it('runs the client example against the local server, signing with SigV4, streaming included', async () => {
      const server = await startServer({
        dynamoDbEndpoint: inject('dynamoDbEndpoint'),
        tableName: 'installed-client',
      });
      const output = runOk(node, ['client.js'], app, {
        AGENT_MEMORY_URL: server.url,
        AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
        AWS_SECRET_ACCESS_KEY: 'example',
      });
      // Assess: the turn's reply, the history page, the streamed turn's text...
      expect(output).toContain('[offline] history: 1 message, you said: What is my name?');
      expect(output).toContain("content: 'My name is Ada.'");
      expect(output).toContain('[offline] history: 5 messages, you said: Tell me a story.');
      // ...and what the server stored: append, turn, tool loop (the offline model calls no tool), streamed turn.
      const stored = await server.request('GET', '/v1/conversations/user-42:ticket-7/messages');
      expect(stored.json.messages.map((message: { content: string }) => message.content)).toEqual([
        'My name is Ada.',
        'What is my name?',
        '[offline] history: 1 message, you said: What is my name?',
        'What should I wear in Paris?',
        '[offline] history: 3 messages, you said: What should I wear in Paris?',
        'Tell me a story.',
        '[offline] history: 5 messages, you said: Tell me a story.',
      ]);
    });
  });
});

/** Every index.mjs under a folder. */
function bundleFiles(folder: string): string[] {
  return readdirSync(folder, { recursive: true, encoding: 'utf8' })
    .filter((path) => path.endsWith('index.mjs'))
    .map((path) => join(folder, path));
}

/** cdk-nag findings of a NodejsFunction with its defaults but the runtime (the README's agent function). */
const ownFunctionFindings = [
  'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
  'Serverless-LambdaDefaultMemorySize',
  'Serverless-LambdaDefaultTimeout',
  'Serverless-LambdaDLQ',
  'Serverless-LambdaTracing',
];
