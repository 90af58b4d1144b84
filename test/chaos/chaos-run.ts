import { randomUUID } from 'node:crypto';
import { type ServerProcess, startServer } from '../e2e/server-process.js';
import { DynamoDbProxy, dynamoDbErrors, type Fault, type FaultRule } from '../faults/dynamodb-proxy.js';
import {
  type Exchange,
  type FinalState,
  type History,
  type OperationRecord,
  tagOf,
  type WriteKind,
  type WriteRecord,
} from './history.js';
import { checkHistory, type Violation } from './history-checker.js';
import { Random } from './random.js';

/*
 * A randomized, seeded history test: many concurrent clients (keyed and unkeyed appends, conditional appends,
 * agent turns, edits, reads) against two `npm start` server processes sharing one DynamoDB through the fault
 * proxy; one server is SIGKILLed mid-run and started again. Everything sent and answered is recorded, then
 * checked (history-checker.ts). A seed fixes what each client does and which faults the proxy draws, not how
 * the requests interleave.
 */

export interface ChaosOptions {
  readonly seed: number;
  /** Operations over all clients. */
  readonly ops: number;
  /** The share of DynamoDB requests the proxy tampers with (0-1). */
  readonly faultRate: number;
  /** @default 8 */
  readonly clients?: number;
  /** @default 3 */
  readonly conversations?: number;
  /** The DynamoDB (Local) behind the proxy. */
  readonly dynamoDbEndpoint: string;
  /** Progress lines, about every tenth of the run. */
  readonly progress?: (line: string) => void;
}

export interface ChaosSummary {
  readonly seed: number;
  readonly ops: number;
  readonly faultRate: number;
  readonly clients: number;
  readonly conversations: number;
  /** Per kind of operation, how its last answer came: `201`, `409`, `no answer`... */
  readonly outcomes: Record<string, Record<string, number>>;
  readonly faults: Record<string, number>;
  readonly dynamoDbRequests: number;
  /** The operation count at which the server was killed. */
  readonly killedAt: number;
  readonly restartMs: number;
  readonly messagesStored: number;
  readonly durationMs: number;
}

export interface ChaosResult {
  readonly summary: ChaosSummary;
  readonly history: History;
  readonly violations: Violation[];
}

type OperationKind = 'read' | 'append' | 'keyed append' | 'conditional append' | 'turn' | 'edit';

const operationWeights: Record<OperationKind, number> = {
  read: 25,
  append: 15,
  'keyed append': 12,
  'conditional append': 10,
  turn: 10,
  edit: 13,
};

/** What the proxy does to a share of requests; a resent transaction meets a conflict half the time. */
export function randomFaults(random: Random, rate: number, counts: Map<string, number>): FaultRule {
  const count = (kind: string) => counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return (request) => {
    const transaction = request.operation === 'TransactWriteItems';
    if (request.resend && random.chance(0.5)) {
      count('TransactionConflict on a resend');
      return { reply: dynamoDbErrors.transactionConflict(request) };
    }
    if (!random.chance(rate)) return 'forward';
    const kind = random.weighted({
      'drop-answer': 3,
      'drop-request': 1,
      ThrottlingException: 1,
      InternalServerError: 1,
      'InternalServerError after forwarding': 1,
      delay: 2,
      TransactionConflict: transaction ? 1 : 0,
    });
    count(kind);
    const faults: Record<typeof kind, () => Fault> = {
      'drop-answer': () => 'drop-answer',
      'drop-request': () => 'drop-request',
      ThrottlingException: () => ({ reply: dynamoDbErrors.throttling() }),
      InternalServerError: () => ({ reply: dynamoDbErrors.internalServerError() }),
      'InternalServerError after forwarding': () => ({
        reply: dynamoDbErrors.internalServerError(),
        afterForwarding: true,
      }),
      delay: () => ({ delayMs: random.int(20, 300) }),
      TransactionConflict: () => ({ reply: dynamoDbErrors.transactionConflict(request) }),
    };
    return faults[kind]();
  };
}

interface Server {
  readonly name: string;
  process: ServerProcess;
  up: boolean;
}

/** The state a client keeps of a conversation: the last full read, and the newest version it saw. */
interface ClientView {
  version: number;
  // biome-ignore lint/suspicious/noExplicitAny: stored messages as the API returned them.
  messages?: any[];
}

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const clients = options.clients ?? 8;
  const conversationCount = options.conversations ?? 3;
  const started = performance.now();
  const now = () => Math.round((performance.now() - started) * 10) / 10;
  const progress = options.progress ?? (() => {});
  const conversations = Array.from({ length: conversationCount }, (_, i) => `chaos-${options.seed}-${i}`);
  const tableName = `chaos-${options.seed}-${randomUUID()}`;
  const records: OperationRecord[] = [];
  const faultCounts = new Map<string, number>();

  const proxy = await DynamoDbProxy.start(options.dynamoDbEndpoint);
  const servers: Server[] = [];
  try {
    const shared = { dynamoDbEndpoint: proxy.endpoint, tableName };
    const [one, two] = await Promise.all([startServer(shared), startServer(shared)]);
    servers.push({ name: 'one', process: one, up: true }, { name: 'two', process: two, up: true });
    proxy.rule = randomFaults(new Random(options.seed ^ 0x5bd1e995), options.faultRate, faultCounts);

    let issued = 0;
    let completed = 0;
    const killAt = Math.max(1, Math.floor(options.ops * 0.35));
    let killedAt = 0;
    let restartMs = 0;
    let nextProgress = 0.1;
    const done = () => {
      completed++;
      if (completed >= options.ops * nextProgress) {
        progress(
          `${completed}/${options.ops} ops, ${sum(faultCounts)} faults injected, servers up: ${servers
            .filter((server) => server.up)
            .map((server) => server.name)
            .join(', ')} (${(now() / 1000).toFixed(1)} s)`,
        );
        nextProgress += 0.1;
      }
    };

    const killer = (async () => {
      while (completed < killAt) await sleep(20);
      const victim = servers[1] as Server;
      victim.up = false;
      const port = Number(new URL(victim.process.url).port);
      killedAt = completed;
      progress(`SIGKILL server ${victim.name} (pid ${victim.process.pid}) at op ${completed}`);
      victim.process.signalGroup('SIGKILL');
      await victim.process.exited;
      const restartStarted = performance.now();
      victim.process = await startServer({ ...shared, port });
      restartMs = Math.round(performance.now() - restartStarted);
      victim.up = true;
      progress(`server ${victim.name} is back (pid ${victim.process.pid}) after ${restartMs} ms`);
    })();

    /** One request to a server that is up, picked at random. */
    const request = async (
      random: Random,
      method: string,
      path: string,
      body?: unknown,
      headers: Record<string, string> = {},
    ): Promise<Exchange> => {
      const live = servers.filter((server) => server.up);
      const server = random.pick(live.length > 0 ? live : servers);
      const start = now();
      try {
        const answer = await server.process.request(method, path, { body, headers });
        return {
          server: server.name,
          start,
          end: now(),
          status: answer.status,
          retryAfter: answer.headers.get('retry-after'),
          replayed: answer.headers.get('idempotent-replayed') === 'true',
          body: answer.json ?? answer.text,
        };
      } catch (error) {
        return { server: server.name, start, end: now(), error: String((error as Error).cause ?? error) };
      }
    };

    const runClient = async (client: number) => {
      const random = new Random(options.seed * 1000 + client);
      const views = new Map<string, ClientView>();
      const view = (conversation: string) => {
        let seen = views.get(conversation);
        if (!seen) {
          seen = { version: 0 };
          views.set(conversation, seen);
        }
        return seen;
      };
      for (let n = 1; issued < options.ops; n++) {
        issued++;
        const op = `c${client}.${n}`;
        const conversation = random.pick(conversations);
        const seen = view(conversation);
        const kind = random.weighted(operationWeights);
        const base = `/v1/conversations/${conversation}`;
        const read = async (readOp: string) => {
          const exchange = await request(random, 'GET', `${base}/messages?limit=1000`);
          records.push({ type: 'read', op: readOp, client, conversation, exchange });
          const body = exchange.body as ClientView | undefined;
          if (exchange.status === 200 && body) {
            seen.version = body.version;
            seen.messages = body.messages;
          }
        };

        if (kind === 'read') {
          await read(op);
          done();
          continue;
        }
        // Conditional writes and edits start from a fresh read, as an agent loading its history would.
        const conditional = kind === 'conditional append' || (kind !== 'append' && random.chance(0.4));
        if (conditional || kind === 'edit') await read(`${op}.read`);
        if (kind === 'edit' && !seen.messages?.length) {
          done();
          continue;
        }

        const keyed = kind === 'keyed append' || (kind !== 'append' && random.chance(0.5));
        let writeKind: WriteKind = 'append';
        let path = `${base}/messages`;
        let body: Record<string, unknown>;
        let adds: string[];
        let expectedSuffix: string[] = [];
        let expectedVersion: number | undefined;
        if (kind === 'turn') {
          writeKind = 'turn';
          path = `${base}/turns`;
          expectedVersion = conditional ? seen.version : undefined;
          adds = [`${op}#0`, `${op}#1`];
          body = { message: `${op}#0`, expectedVersion };
        } else if (kind === 'edit') {
          writeKind = 'edit';
          path = `${base}/edits`;
          // The last batch of the last read, whole: a write's messages are `<op>#<i>`, a turn's reply `<op>#1`.
          const messages = seen.messages ?? [];
          const lastOp = tagOf(messages.at(-1)).split('#')[0];
          const suffix = messages.filter((message) => tagOf(message).split('#')[0] === lastOp);
          expectedSuffix = suffix.map(tagOf);
          const count = random.chance(0.35) ? 0 : random.int(1, 2);
          adds = Array.from({ length: count }, (_, i) => `${op}#${i}`);
          expectedVersion = conditional ? seen.version : undefined;
          body = {
            expectedSuffix: suffix.map(
              ({ seq: _seq, id: _id, createdAt: _createdAt, ...message }) => message,
            ),
            replacement: adds.map((content) => ({ role: 'user', content })),
            expectedVersion,
          };
        } else {
          expectedVersion = conditional ? seen.version : undefined;
          adds = Array.from({ length: random.int(1, 3) }, (_, i) => `${op}#${i}`);
          body = {
            messages: adds.map((content, i) => ({ role: i % 2 === 0 ? 'user' : 'assistant', content })),
            expectedVersion,
          };
        }

        // Without a key a write is sent once: its caller cannot tell a lost answer from a lost request. With
        // one it is sent again, with the same key, until it gets an answer that is not a transient failure.
        const exchanges: Exchange[] = [];
        for (let attempt = 1; ; attempt++) {
          const exchange = await request(random, 'POST', path, body, keyed ? { 'Idempotency-Key': op } : {});
          exchanges.push(exchange);
          const transient =
            exchange.status === undefined || exchange.status >= 500 || exchange.status === 429;
          if (!keyed || !transient || attempt >= 8) break;
          await sleep(Math.min(800, 25 * 2 ** attempt));
        }
        const record: WriteRecord = {
          type: 'write',
          op,
          client,
          conversation,
          kind: writeKind,
          keyed,
          ...(expectedVersion === undefined ? {} : { expectedVersion }),
          adds,
          expectedSuffix,
          exchanges,
        };
        records.push(record);
        const last = exchanges.at(-1);
        const version = (last?.body as { version?: unknown } | undefined)?.version;
        if (last?.status !== undefined && last.status < 300 && typeof version === 'number') {
          seen.version = Math.max(seen.version, version);
        }
        const current = (last?.body as { error?: { currentVersion?: unknown } } | undefined)?.error
          ?.currentVersion;
        if (typeof current === 'number') seen.version = Math.max(seen.version, current);
        done();
      }
    };

    await Promise.all(Array.from({ length: clients }, (_, client) => runClient(client + 1)));
    await killer;

    // The final state, with faults off, through the server that was never killed.
    proxy.rule = () => 'forward';
    const finalAt = now();
    const final: Record<string, FinalState> = {};
    for (const conversation of conversations) {
      final[conversation] = await readWhole(servers[0] as Server, conversation);
    }
    const history: History = { conversations, records, final, finalAt };
    const violations = checkHistory(history);

    const outcomes: Record<string, Record<string, number>> = {};
    for (const record of records) {
      const label =
        record.type === 'read'
          ? 'read'
          : `${record.kind}${record.keyed ? ' keyed' : ''}${record.expectedVersion === undefined ? '' : ' conditional'}`;
      const last = record.type === 'read' ? record.exchange : record.exchanges.at(-1);
      const answer = last?.status === undefined ? 'no answer' : String(last.status);
      outcomes[label] ??= {};
      (outcomes[label] as Record<string, number>)[answer] =
        ((outcomes[label] as Record<string, number>)[answer] ?? 0) + 1;
    }
    return {
      summary: {
        seed: options.seed,
        ops: options.ops,
        faultRate: options.faultRate,
        clients,
        conversations: conversationCount,
        outcomes,
        faults: Object.fromEntries([...faultCounts].sort(([, a], [, b]) => b - a)),
        dynamoDbRequests: sum(proxy.requests),
        killedAt,
        restartMs,
        messagesStored: Object.values(final).reduce((total, state) => total + state.messages.length, 0),
        durationMs: Math.round(performance.now() - started),
      },
      history,
      violations,
    };
  } finally {
    await Promise.all(
      servers.map(async (server) => {
        server.process.signalGroup('SIGKILL');
        await server.process.exited;
      }),
    );
    await proxy.stop();
  }
}

/** Every message of a conversation, page by page. */
async function readWhole(server: Server, conversation: string): Promise<FinalState> {
  const messages: unknown[] = [];
  let version = 0;
  let before: number | null | undefined;
  do {
    const query = `limit=1000${before ? `&before=${before}` : ''}`;
    const answer = await server.process.request('GET', `/v1/conversations/${conversation}/messages?${query}`);
    if (answer.status !== 200)
      throw new Error(`final read of ${conversation}: ${answer.status} ${answer.text}`);
    if (before === undefined) version = answer.json.version;
    messages.unshift(...answer.json.messages);
    before = answer.json.nextBefore;
  } while (before);
  return { version, messages };
}

/** The run in a few readable lines. */
export function formatSummary(result: ChaosResult): string {
  const { summary, violations } = result;
  const writes = result.history.records.filter((record) => record.type === 'write').length;
  const lines = [
    `Chaos run: seed ${summary.seed}, ${summary.ops} ops, fault rate ${Math.round(summary.faultRate * 100)}%, ${summary.clients} clients on ${summary.conversations} conversations, 2 servers`,
    `  time: ${(summary.durationMs / 1000).toFixed(1)} s; server two SIGKILLed at op ${summary.killedAt}, serving again after ${(summary.restartMs / 1000).toFixed(1)} s`,
    '  operations (how the last answer came):',
    ...Object.entries(summary.outcomes)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(
        ([kind, answers]) =>
          `    ${kind.padEnd(26)} ${String(sum(new Map(Object.entries(answers)))).padStart(5)}  ${Object.entries(
            answers,
          )
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([answer, count]) => `${answer}: ${count}`)
            .join(', ')}`,
      ),
    `  faults injected: ${sum(new Map(Object.entries(summary.faults)))} in ${summary.dynamoDbRequests} DynamoDB requests`,
    ...Object.entries(summary.faults).map(
      ([kind, count]) => `    ${kind.padEnd(38)} ${String(count).padStart(5)}`,
    ),
    `  stored: ${summary.messagesStored} messages; ${writes} writes and ${result.history.records.length - writes} reads checked`,
    violations.length === 0
      ? '  checker: every property holds'
      : `  checker: ${violations.length} violations\n${violations
          .slice(0, 30)
          .map((violation) => `    [${violation.check}] ${violation.detail}`)
          .join('\n')}`,
  ];
  return lines.join('\n');
}

function sum(counts: ReadonlyMap<string, number>): number {
  return [...counts.values()].reduce((total, count) => total + count, 0);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
