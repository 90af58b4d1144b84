/**
 * `npm start`: the HTTP contract on http://127.0.0.1:$PORT, served by the same Lambda handler modules the
 * stack deploys, on a DynamoDB Local whose data lives under `.data/` (or on DYNAMODB_ENDPOINT).
 *
 * Process lifetime: DynamoDB Local is our child, in our process group. SIGINT/SIGTERM/SIGHUP (Ctrl-C, or
 * `kill -TERM -<pgid>`) stop accepting, finish in-flight requests, stop the child and exit within a few
 * seconds. SIGKILL of the group kills both at once; every acknowledged write is on disk already (see
 * WriteFence). SIGKILL of this process alone: on Linux the kernel sends the child SIGTERM (setpriv
 * --pdeathsig); elsewhere the child is orphaned and must be killed by hand.
 */
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { readCorsConfig } from '../lambda/http/pipeline/cors.js';
import { ConfigurationError } from '../lambda/validation/environment.js';
import { apiGateway } from './api-gateway.js';
import { BackgroundCompactor } from './background-compactor.js';
import { ensureConversationTable } from './conversation-table.js';
import { DataFolderInUseError, DataFolderLock } from './data-folder-lock.js';
import {
  type DynamoDbLocal,
  JavaMissingError,
  localClientConfig,
  startDynamoDbLocal,
} from './dynamodb-local.js';
import { loadHandlerModules } from './handler-modules.js';
import { withInspectorPage } from './inspector-page.js';
import { type LocalServerConfig, readLocalServerConfig } from './local-server-config.js';
import { type S3Local, startS3Local } from './s3-local.js';
import { WriteFence } from './write-fence.js';

/** The grace period for in-flight requests; after it, open connections are cut. */
const drainMs = 2000;
/** Whatever happens, the process is gone this long after the first stop signal. */
const hardStopMs = 6000;
/** A signal later than this after the first one is a second Ctrl-C (earlier: npm forwarding the first). */
const secondSignalAfterMs = 1000;

const log = (line: string) => console.log(`${new Date().toISOString()} ${line}`);
const logError = (line: string, error?: unknown) =>
  console.error(`${new Date().toISOString()} ${line}`, ...(error === undefined ? [] : [error]));

/**
 * Points the handler modules (which build their AWS clients when they load) at our DynamoDB through the
 * SDK's service endpoint variable. The tenant arrives as the JWT `sub` claim.
 *
 * Credentials: DynamoDB Local needs none, so unless the model lives on AWS (MODEL_PROVIDER=bedrock, or an
 * OpenAI key read from Secrets Manager) every client gets fixed dummy keys and region, and no profile is
 * read: an expired SSO session cannot break local mode, and servers sharing one DynamoDB Local file data
 * under the same account. With a model on AWS your own credentials and AWS_REGION apply (DynamoDB Local
 * ignores them).
 */
function configureHandlerEnvironment(
  config: LocalServerConfig,
  endpoint: string,
  s3Endpoint: string | undefined,
): 'dummy' | 'yours' {
  const env = process.env;
  env.AWS_ENDPOINT_URL_DYNAMODB = endpoint;
  if (s3Endpoint === undefined) {
    delete env.ATTACHMENTS_BUCKET;
    delete env.AWS_ENDPOINT_URL_S3;
  } else {
    env.ATTACHMENTS_BUCKET = config.attachmentsBucket;
    env.AWS_ENDPOINT_URL_S3 = s3Endpoint;
  }
  delete env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS;
  env.TABLE_NAME = config.tableName;
  env.TENANT_CLAIM = 'sub';
  // The server logs one line per request itself; the handlers' JSON lines are there with POWERTOOLS_LOG_LEVEL=INFO.
  env.POWERTOOLS_LOG_LEVEL ||= 'WARN';
  if (env.MODEL_PROVIDER === 'bedrock' || env.OPENAI_API_KEY_SECRET_ARN) return 'yours';
  const { region, credentials } = localClientConfig(endpoint);
  env.AWS_REGION = region;
  env.AWS_ACCESS_KEY_ID = credentials.accessKeyId;
  env.AWS_SECRET_ACCESS_KEY = credentials.secretAccessKey;
  delete env.AWS_SESSION_TOKEN;
  delete env.AWS_PROFILE;
  return 'dummy';
}

/**
 * What the stack's scheduled sweep does, run by the server at start and then every SWEEP_INTERVAL_SECONDS: deletes
 * the S3 objects of writes that never committed (after their grace) and of removed messages (../lambda/memory/
 * attachments/markers.ts). Through the handlers' own store, so with their configuration.
 */
async function attachmentSweep(
  log: (line: string) => void,
  logError: (line: string, error?: unknown) => void,
) {
  const { store } = await import('../lambda/http/runtime/store.js');
  return async () => {
    try {
      const { markers, objects } = await store.sweepAttachments();
      if (markers > 0) log(`Attachment sweep: ${objects} objects of ${markers} markers deleted.`);
    } catch (error) {
      logError('The attachment sweep failed; the next one tries again.', error);
    }
  };
}

function listen(server: Server, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** Stops accepting at once, lets in-flight requests finish for `drainMs`, then cuts what is left. */
function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), drainMs).unref();
  });
}

function banner(
  url: string,
  config: LocalServerConfig,
  endpoint: string,
  dynamo: DynamoDbLocal | undefined,
  s3: { readonly endpoint: string | undefined; readonly embedded: boolean },
  credentials: 'dummy' | 'yours',
) {
  const storage = dynamo
    ? `DynamoDB Local (pid ${dynamo.process.pid}) at ${endpoint}, data in ${config.dataDir}`
    : `DynamoDB at ${endpoint}`;
  const attachments =
    s3.endpoint === undefined
      ? "  attachments: none (messages up to 256 KiB); share the first server's S3 with S3_ENDPOINT"
      : `  attachments: bucket ${config.attachmentsBucket} on ${s3.embedded ? `s3rver at ${s3.endpoint}, data in ${config.dataDir}/s3` : `S3 at ${s3.endpoint}`}`;
  return [
    `agent-memory local server listening on ${url}`,
    `  table ${config.tableName} on ${storage}`,
    attachments,
    credentials === 'dummy'
      ? '  AWS credentials: dummy ones (DynamoDB Local checks none)'
      : '  AWS credentials: yours, for the model on AWS (DynamoDB Local ignores them)',
    '  tenant: the X-Tenant-Id header, "local" without it. Ctrl-C stops the server; the data stays.',
    config.summaries
      ? "  summaries: made in the background by the turns' model (SUMMARIES=off to turn them off)"
      : '  summaries: off (SUMMARIES=off)',
    '',
    'Try it:',
    `  curl -s -X POST ${url}/v1/conversations/demo/messages -H 'content-type: application/json' \\`,
    `    -d '{"messages":[{"role":"user","content":"Remember: my favourite colour is teal."}]}'`,
    `  curl -s ${url}/v1/conversations/demo/messages`,
    `  open ${url}/inspector?conversation=demo   (the memory inspector)`,
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const startedAt = performance.now();
  const startup = new AbortController();
  let dynamo: DynamoDbLocal | undefined;
  let s3: S3Local | undefined;
  let sweeps: NodeJS.Timeout | undefined;
  let lock: DataFolderLock | undefined;
  let client: DynamoDBClient | undefined;
  let server: Server | undefined;
  let compactor: BackgroundCompactor | undefined;
  let stopping: Promise<void> | undefined;

  const stop = (exitCode: number): Promise<void> => {
    stopping ??= (async () => {
      setTimeout(() => {
        logError(`Still stopping after ${hardStopMs} ms; exiting anyway.`);
        dynamo?.process.kill('SIGKILL');
        process.exit(exitCode === 0 ? 1 : exitCode);
      }, hardStopMs).unref();
      // Still starting: kill DynamoDB Local at once. Serving: first let in-flight requests finish on it.
      if (!server) startup.abort();
      clearInterval(sweeps);
      if (server) await closeServer(server);
      await compactor?.stop();
      await Promise.all([dynamo?.stop(), s3?.stop()]);
      lock?.release();
      client?.destroy();
      if (server || dynamo) log('Stopped.');
      process.exit(exitCode);
    })();
    return stopping;
  };
  let firstSignalAt: number | undefined;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (firstSignalAt === undefined) {
        firstSignalAt = Date.now();
        log(`${signal}: stopping (in-flight requests get ${drainMs} ms).`);
        void stop(0);
      } else if (Date.now() - firstSignalAt > secondSignalAfterMs) {
        // A deliberate second Ctrl-C: no more waiting.
        dynamo?.process.kill('SIGKILL');
        process.exit(1);
      }
      // Else the same signal again: `npm start` forwards to us what the terminal sent us already.
    });
  }
  process.on('uncaughtException', (error) => {
    logError('Uncaught exception; stopping.', error);
    void stop(1);
  });
  process.on('unhandledRejection', (error) => {
    logError('Unhandled rejection; stopping.', error);
    void stop(1);
  });

  try {
    const config = readLocalServerConfig(process.env);
    let endpoint = config.dynamoDbEndpoint;
    if (endpoint === undefined) {
      mkdirSync(config.dataDir, { recursive: true });
      lock = DataFolderLock.acquire(config.dataDir);
      dynamo = await startDynamoDbLocal(
        { dbPath: config.dataDir },
        { signal: startup.signal, stopWhenParentDies: true },
      );
      endpoint = dynamo.endpoint;
      lock.update({ dynamoDbLocalPid: dynamo.process.pid, dynamoDbEndpoint: endpoint });
      if (config.s3Endpoint === undefined) {
        s3 = await startS3Local({ directory: join(config.dataDir, 's3'), bucket: config.attachmentsBucket });
        lock.update({ s3Endpoint: s3.endpoint });
      }
      dynamo.process.once('exit', (code, signal) => {
        if (stopping) return;
        // 130/143: the JVM's exit after SIGINT/SIGTERM, e.g. Ctrl-C reaching the whole process group.
        const stoppedBySignal = signal !== null || code === 130 || code === 143;
        logError(`DynamoDB Local exited (${signal ?? `code ${code}`}); stopping.`);
        void stop(stoppedBySignal ? 0 : 1);
      });
    }
    const s3Endpoint = config.s3Endpoint ?? s3?.endpoint;
    const credentials = configureHandlerEnvironment(config, endpoint, s3Endpoint);
    // Built like the handlers' client (endpoint, region and keys from the environment): same tables.
    client = new DynamoDBClient({});
    const table = await ensureConversationTable(client, config.tableName);
    const handlers = await loadHandlerModules();
    if (config.summaries) {
      // Loaded like a handler module: after the environment points at our DynamoDB.
      const { compact } = await import('../lambda/summaries/compactor.js');
      compactor = new BackgroundCompactor((tenant, id) => compact(tenant, id), log, logError);
    }
    if (stopping) return;
    const api = apiGateway({
      handlers,
      writeFence: new WriteFence(client, config.tableName),
      ...(compactor === undefined ? {} : { onSummaryDue: compactor.wake.bind(compactor) }),
      log,
      logError,
      cors: readCorsConfig(process.env),
    });
    server = createServer(withInspectorPage(api, log, logError, s3Endpoint));
    const address = await listen(server, config.port);
    const url = `http://127.0.0.1:${address.port}`;
    lock?.update({ url });
    console.log(
      banner(
        url,
        config,
        endpoint,
        dynamo,
        { endpoint: s3Endpoint, embedded: s3 !== undefined },
        credentials,
      ),
    );
    log(`Ready in ${Math.round(performance.now() - startedAt)} ms (table ${config.tableName} ${table}).`);
    if (s3Endpoint !== undefined) {
      const sweep = await attachmentSweep(log, logError);
      await sweep();
      sweeps = setInterval(() => void sweep(), config.sweepIntervalSeconds * 1000);
      sweeps.unref();
    }
  } catch (error) {
    if (stopping) return;
    if (
      error instanceof JavaMissingError ||
      error instanceof ConfigurationError ||
      error instanceof DataFolderInUseError
    ) {
      console.error(error.message);
    } else if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      console.error(
        [
          `Port ${(error as { port?: number }).port} is in use (another npm start?). Stop that process, or run this one on another port:`,
          '  on data of its own: PORT=3001 DATA_DIR=.data-2 npm start',
          '  on the same data as a running server: PORT=3001 DYNAMODB_ENDPOINT=<its DynamoDB Local, from its banner> npm start',
        ].join('\n'),
      );
    } else {
      logError('The local server could not start.', error);
    }
    await stop(1);
  }
}

await main();
