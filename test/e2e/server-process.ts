import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../local/dynamodb-local.js';
import { projectRoot } from '../../local/local-server-config.js';

/** The model variables of lambda/agent/agent-config.ts, cleared so that the caller's shell cannot leak in. */
export const noModelEnvironment = {
  MODEL_PROVIDER: undefined,
  MODEL_ID: undefined,
  OPENAI_BASE_URL: undefined,
  OPENAI_API_KEY: undefined,
  OPENAI_API_KEY_SECRET_ARN: undefined,
  MODEL_TIMEOUT_MS: undefined,
  CONTEXT_MAX_MESSAGES: undefined,
  CONTEXT_MAX_TOKENS: undefined,
  SUMMARY_MAX_TOKENS: undefined,
};

export interface ServerOptions {
  /** @default a free port */
  readonly port?: number;
  /** The embedded DynamoDB Local's data directory. @default a fresh temporary directory */
  readonly dataDir?: string;
  /** Use this DynamoDB instead of starting one. */
  readonly dynamoDbEndpoint?: string;
  /** @default the server's default table */
  readonly tableName?: string;
  /** Extra environment variables; `undefined` removes one. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The body parsed as JSON; undefined when it is empty or not JSON. Loosely typed: tests assert on it. */
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field by the tests.
  readonly json: any;
}

export interface RequestOptions {
  /** A string or Buffer is sent as is; anything else as JSON. */
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A `local/server.ts` process in a process group of its own, as `npm start` runs in a terminal. */
export interface ServerProcess {
  readonly url: string;
  /** The server's pid, also its process group id. */
  readonly pid: number;
  /** The embedded DynamoDB Local's pid, from the start-up banner; undefined before it or with dynamoDbEndpoint. */
  readonly dynamoDbLocalPid: number | undefined;
  readonly dataDir: string;
  /** Resolves when the process has exited (and been reaped). */
  readonly exited: Promise<ExitStatus>;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  request(method: string, path: string, options?: RequestOptions): Promise<HttpAnswer>;
  /** Sends a signal to the whole process group, like Ctrl-C or `kill -TERM -<pgid>`. */
  signalGroup(signal: NodeJS.Signals): void;
}

const serverScript = join(projectRoot, 'local', 'server.ts');
const spawned = new Set<ServerProcess>();
const temporaryDirectories = new Set<string>();

export function temporaryDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'agent-memory-e2e-'));
  temporaryDirectories.add(dir);
  return dir;
}

/** `/proc/<pid>/stat` fields (Linux): state and process group. Undefined when the process is gone or not Linux. */
function procStat(pid: number): { state: string; pgid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) state ppid pgrp ...; comm may contain spaces and parentheses.
    const [state, , pgid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return state === undefined ? undefined : { state, pgid: Number(pgid) };
  } catch {
    return undefined;
  }
}

/**
 * True while the process runs. A zombie counts as gone: an orphan waits for the machine's init to reap it,
 * which some container inits do late.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
  return procStat(pid)?.state !== 'Z';
}

/** Pids of the group's running processes (Linux: from /proc; elsewhere the group id while kill -0 reaches it). */
export function processGroupMembers(pgid: number): number[] {
  if (process.platform !== 'linux') return processAlive(-pgid) ? [pgid] : [];
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => {
      const stat = procStat(pid);
      return stat !== undefined && stat.pgid === pgid && stat.state !== 'Z';
    });
}

export async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return true;
}

/** Spawns `node --import tsx local/server.ts` in a new process group, without waiting for it. */
export async function spawnServer(options: ServerOptions = {}): Promise<ServerProcess> {
  const port = options.port ?? (await freePort());
  const dataDir = options.dataDir ?? temporaryDataDir();
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of [
    'DYNAMODB_ENDPOINT',
    'TABLE_NAME',
    'TTL_SECONDS',
    'POWERTOOLS_LOG_LEVEL',
    'S3_ENDPOINT',
    'ATTACHMENTS_BUCKET',
    'ATTACHMENT_GRACE_SECONDS',
    'ATTACHMENT_THRESHOLD_BYTES',
    'SWEEP_INTERVAL_SECONDS',
  ])
    delete env[name];
  Object.assign(env, {
    PORT: String(port),
    DATA_DIR: dataDir,
    ...(options.dynamoDbEndpoint ? { DYNAMODB_ENDPOINT: options.dynamoDbEndpoint } : {}),
    ...(options.tableName ? { TABLE_NAME: options.tableName } : {}),
  });
  for (const [name, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  const child = spawn(process.execPath, ['--import', 'tsx', serverScript], {
    cwd: projectRoot,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('The server process did not start.');
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<ExitStatus>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = `http://127.0.0.1:${port}`;
  const server: ServerProcess = {
    url,
    pid,
    get dynamoDbLocalPid() {
      const match = /DynamoDB Local \(pid (\d+)\)/.exec(output);
      return match?.[1] === undefined ? undefined : Number(match[1]);
    },
    dataDir,
    exited,
    output: () => output,
    request: (method, path, requestOptions = {}) => request(url, method, path, requestOptions),
    signalGroup: (signal) => {
      try {
        process.kill(-pid, signal);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
      }
    },
  };
  spawned.add(server);
  return server;
}

/** Spawns a server on a free port and waits until /health answers 200. */
export async function startServer(options: ServerOptions = {}): Promise<ServerProcess> {
  const server = await spawnServer(options);
  let exited = false;
  void server.exited.then(() => {
    exited = true;
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) throw new Error(`The server exited before it was ready:\n${server.output()}`);
    try {
      if ((await fetch(`${server.url}/health`)).status === 200) return server;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`The server was not healthy within 30 s:\n${server.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function request(
  url: string,
  method: string,
  path: string,
  options: RequestOptions,
): Promise<HttpAnswer> {
  const { body, headers = {} } = options;
  const raw = typeof body === 'string' || Buffer.isBuffer(body);
  const answer = await fetch(`${url}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: raw ? (body as string | Buffer) : JSON.stringify(body) }),
  });
  const text = await answer.text();
  let json: unknown;
  try {
    json = text.length > 0 ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: answer.status, headers: answer.headers, text, json };
}

/** Kills every server group still alive (SIGKILL) and removes the temporary data directories. */
export async function stopAllServers(): Promise<void> {
  await Promise.all(
    [...spawned].map(async (server) => {
      server.signalGroup('SIGKILL');
      await server.exited;
    }),
  );
  spawned.clear();
  for (const dir of temporaryDirectories) rmSync(dir, { recursive: true, force: true });
  temporaryDirectories.clear();
}
