import { randomBytes } from 'node:crypto';
import {
  createServer,
  request as forwardRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32 } from 'node:zlib';

/** A request to DynamoDB as the proxy sees it, before deciding what to do with it. */
export interface ProxiedRequest {
  /** From X-Amz-Target: `TransactWriteItems`, `GetItem`, `Query`... */
  readonly operation: string;
  // biome-ignore lint/suspicious/noExplicitAny: DynamoDB's JSON request, read field by field by the rules.
  readonly body: any;
  /** A TransactWriteItems' ClientRequestToken. */
  readonly token: string | undefined;
  /** A TransactWriteItems whose token the proxy has already forwarded once: a retry of a sent transaction. */
  readonly resend: boolean;
  /** 1 for the first request through this proxy. */
  readonly sequence: number;
}

/** An error answered in DynamoDB's own format: `__type` names the exception, the status is DynamoDB's. */
export interface DynamoDbError {
  readonly status: number;
  readonly type: string;
  readonly message: string;
  readonly cancellationReasons?: ReadonlyArray<{ Code: string; Message?: string }>;
}

/**
 * What the proxy does with one request:
 * - `forward`: pass it to DynamoDB and its answer back;
 * - `drop-answer`: pass it to DynamoDB, wait until DynamoDB has answered (and applied it), then cut the
 *   connection instead of answering: a lost answer;
 * - `drop-request`: cut the connection without passing it on: a lost request (the client cannot tell which);
 * - `forward-as-new`: forward a transaction without its ClientRequestToken, so DynamoDB evaluates it afresh, as
 *   it does a resend after the token's 10 minutes;
 * - `{ reply }`: answer this error without passing the request on, or with `afterForwarding` once DynamoDB
 *   has applied it (a 500 for a write that did commit);
 * - `{ delayMs, then }`: wait, then do `then` (default: forward).
 */
export type Fault =
  | 'forward'
  | 'drop-answer'
  | 'drop-request'
  | 'forward-as-new'
  | { readonly reply: DynamoDbError; readonly afterForwarding?: boolean }
  | { readonly delayMs: number; readonly then?: Fault };

export type FaultRule = (request: ProxiedRequest) => Fault | Promise<Fault>;

/** What a fault is counted as in the proxy's statistics. */
function faultKind(fault: Fault): string {
  if (typeof fault === 'string') return fault;
  if ('reply' in fault) return `${fault.reply.type}${fault.afterForwarding ? ' after forwarding' : ''}`;
  return 'delay';
}

const prefix = 'com.amazonaws.dynamodb.v20120810#';

/** The errors DynamoDB answers under faults, as it words and numbers them. */
export const dynamoDbErrors = {
  throttling: (): DynamoDbError => ({
    status: 400,
    type: 'ThrottlingException',
    message: 'Throughput exceeds the current capacity of your table or index.',
  }),
  provisionedThroughputExceeded: (): DynamoDbError => ({
    status: 400,
    type: 'ProvisionedThroughputExceededException',
    message:
      'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
  }),
  internalServerError: (): DynamoDbError => ({
    status: 500,
    type: 'InternalServerError',
    message: 'Internal server error',
  }),
  /** A TransactWriteItems cancelled because another transaction holds its first item. */
  transactionConflict: (request: ProxiedRequest): DynamoDbError => {
    const count = Math.max(1, request.body?.TransactItems?.length ?? 1);
    const reasons = Array.from({ length: count }, (_, index) =>
      index === 0
        ? { Code: 'TransactionConflict', Message: 'Transaction is ongoing for the item' }
        : { Code: 'None' },
    );
    return {
      status: 400,
      type: 'TransactionCanceledException',
      message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((reason) => reason.Code).join(', ')}]`,
      cancellationReasons: reasons,
    };
  },
} as const;

/** The body DynamoDB sends with an error (TransactionCanceledException spells its message `Message`). */
export function errorBody(error: DynamoDbError): string {
  return JSON.stringify(
    error.cancellationReasons
      ? {
          __type: prefix + error.type,
          CancellationReasons: error.cancellationReasons,
          Message: error.message,
        }
      : { __type: prefix + error.type, message: error.message },
  );
}

function withoutToken(body: unknown): Buffer {
  const { ClientRequestToken: _token, ...rest } = body as Record<string, unknown>;
  return Buffer.from(JSON.stringify(rest));
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * An HTTP proxy in front of DynamoDB (Local) that decides, request by request, whether to forward it, lose
 * its answer, answer an error of its own in DynamoDB's wire format, or delay it. Point an SDK client's
 * endpoint (or AWS_ENDPOINT_URL_DYNAMODB of a server process) at `endpoint`. `rule` may change at any time.
 */
export class DynamoDbProxy {
  /** Decides each request's fate; forwards everything by default. */
  rule: FaultRule = () => 'forward';
  /** Requests by operation, and faults by kind (`forward` not counted). */
  readonly requests = new Map<string, number>();
  readonly faults = new Map<string, number>();
  private readonly forwardedTokens = new Set<string>();
  private sequence = 0;

  private constructor(
    private readonly server: Server,
    private readonly upstream: URL,
    readonly endpoint: string,
  ) {}

  static async start(upstream: string): Promise<DynamoDbProxy> {
    let proxy: DynamoDbProxy | undefined;
    const server = createServer((request, response) => {
      proxy?.handle(request, response).catch(() => response.destroy());
    });
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    proxy = new DynamoDbProxy(server, new URL(upstream), `http://127.0.0.1:${port}`);
    return proxy;
  }

  /** Stops listening and cuts every open connection. */
  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  /** Total faults injected (every kind but `forward`). */
  faultCount(): number {
    return [...this.faults.values()].reduce((sum, count) => sum + count, 0);
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const raw = await readBody(request);
    const operation = String(request.headers['x-amz-target'] ?? '').split('.')[1] ?? 'unknown';
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      body = undefined;
    }
    const token =
      operation === 'TransactWriteItems'
        ? ((body as { ClientRequestToken?: string } | undefined)?.ClientRequestToken ?? undefined)
        : undefined;
    const proxied: ProxiedRequest = {
      operation,
      body,
      token,
      resend: token !== undefined && this.forwardedTokens.has(token),
      sequence: ++this.sequence,
    };
    this.requests.set(operation, (this.requests.get(operation) ?? 0) + 1);
    let fault = await this.rule(proxied);
    if (fault !== 'forward') {
      const kind = faultKind(fault);
      this.faults.set(kind, (this.faults.get(kind) ?? 0) + 1);
    }
    while (typeof fault === 'object' && 'delayMs' in fault) {
      await sleep(fault.delayMs);
      fault = fault.then ?? 'forward';
    }
    if (fault === 'drop-request') {
      response.socket?.destroy();
      return;
    }
    if (typeof fault === 'object' && !fault.afterForwarding) {
      this.answerError(response, fault.reply);
      return;
    }
    if (token !== undefined) this.forwardedTokens.add(token);
    const answer = await this.forward(request, fault === 'forward-as-new' ? withoutToken(body) : raw);
    if (fault === 'drop-answer') {
      response.socket?.destroy();
      return;
    }
    if (typeof fault === 'object') {
      this.answerError(response, fault.reply);
      return;
    }
    response.writeHead(answer.status, answer.headers);
    response.end(answer.body);
  }

  private forward(
    request: IncomingMessage,
    body: Buffer,
  ): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const headers = { ...request.headers, host: this.upstream.host, 'content-length': String(body.length) };
      const outgoing = forwardRequest(
        new URL(request.url ?? '/', this.upstream),
        { method: request.method, headers },
        (answer) => {
          readBody(answer).then(
            (answerBody) =>
              resolve({ status: answer.statusCode ?? 502, headers: answer.headers, body: answerBody }),
            reject,
          );
        },
      );
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  }

  private answerError(response: ServerResponse, error: DynamoDbError): void {
    const body = errorBody(error);
    response.writeHead(error.status, {
      'content-type': 'application/x-amz-json-1.0',
      'content-length': Buffer.byteLength(body),
      'x-amzn-requestid': randomBytes(26).toString('hex').toUpperCase().slice(0, 52),
      'x-amz-crc32': String(crc32(body)),
    });
    response.end(body);
  }
}
