import { randomUUID } from 'node:crypto';
import type {
  AppendResult,
  CallOptions,
  ConversationInfo,
  ConversationMemory,
  EditResult,
  HistoryPage,
  HistorySnapshot,
  Message,
  PageOptions,
  StoredMessage,
  SuffixEdit,
  WriteOptions,
} from './conversation-memory.js';
import {
  AbortedError,
  type AgentMemoryError,
  errorFromResponse,
  NetworkError,
  NotFoundError,
  TimeoutError,
  VersionConflictError,
} from './errors.js';
import { historyPages, type PageIterationOptions } from './history-pages.js';
import { readHistorySnapshot } from './history-snapshot.js';
import type { RequestAuth } from './request-auth.js';
import {
  backoffDelay,
  parseRetryAfter,
  type RetryOptions,
  type RetryPolicy,
  retryPolicy,
} from './retry-policy.js';

export interface AgentMemoryClientOptions {
  /**
   * The API's base URL: the stack's `ApiUrl` output (a stage path such as `/prod` is kept) or the local server's
   * `http://127.0.0.1:3000`.
   */
  readonly baseUrl: string | URL;
  /** sigV4Auth(...) for IAM deployments, bearerAuth(...) for JWT ones, tenantHeaderAuth(...) for the local server. */
  readonly auth?: RequestAuth;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** How long one attempt may take, response body included. @default 30000 */
  readonly timeoutMs?: number;
  readonly retry?: RetryOptions;
  /** Makes the idempotency key of a write that was given none. @default crypto.randomUUID */
  readonly idempotencyKey?: () => string;
  /** Sent with every request (a User-Agent, a tracing header...). */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface TurnOptions extends WriteOptions {
  /** A system prompt for this turn (not stored). */
  readonly system?: string;
}

export interface TurnResult extends AppendResult {
  /** The stored assistant reply (also the last of `messages`). */
  readonly reply: StoredMessage;
  /** How many stored messages the model was given as history. */
  readonly contextMessages: number;
  /** The model that answered. */
  readonly model: string;
}

interface Request {
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly path: string;
  readonly query?: Readonly<Record<string, number | undefined>>;
  readonly body?: unknown;
  /** Writes only: sent as Idempotency-Key on every attempt. */
  readonly idempotencyKey?: string;
  /** A 409 version_conflict may be retried: the write is keyed and has no expectedVersion. */
  readonly retryConflict?: boolean;
  readonly signal?: AbortSignal | undefined;
}

interface Response {
  readonly status: number;
  readonly headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: the contract's JSON; each method types what it returns.
  readonly json: any;
}

/**
 * A typed client for the agent-memory HTTP API (docs/http-contract.md).
 *
 * Retries: network failures, timeouts, 429 and 503 are retried with full-jitter exponential backoff
 * (a Retry-After header is honoured), and so is a 409 of a write without expectedVersion (the server lost a
 * race it could not absorb). That is safe because every write carries an Idempotency-Key, made once per call
 * and reused by all of its attempts: a write that did commit before its response was lost is replayed, not
 * applied twice. A 409 of a conditional write (expectedVersion) is the answer, never retried.
 */
export class AgentMemoryClient implements ConversationMemory {
  private readonly baseUrl: URL;
  /** A stage path such as `/prod`, without a trailing slash. */
  private readonly basePath: string;
  private readonly auth: RequestAuth | undefined;
  private readonly fetch: typeof fetch;
  private readonly timeoutMs: number;
  private readonly retry: RetryPolicy;
  private readonly newIdempotencyKey: () => string;
  private readonly headers: Readonly<Record<string, string>>;

  constructor(options: AgentMemoryClientOptions) {
    const baseUrl = new URL(options.baseUrl);
    if (baseUrl.protocol !== 'http:' && baseUrl.protocol !== 'https:') {
      throw new TypeError(`baseUrl must be an http(s) URL, got ${baseUrl.href}`);
    }
    this.basePath = baseUrl.pathname.replace(/\/+$/, '');
    baseUrl.pathname = '/';
    baseUrl.search = '';
    baseUrl.hash = '';
    this.baseUrl = baseUrl;
    this.auth = options.auth;
    this.fetch = options.fetch ?? globalThis.fetch;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    if (!(this.timeoutMs > 0)) throw new RangeError(`timeoutMs must be > 0, got ${this.timeoutMs}`);
    this.retry = retryPolicy(options.retry);
    this.newIdempotencyKey = options.idempotencyKey ?? randomUUID;
    this.headers = Object.fromEntries(
      Object.entries(options.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]),
    );
  }

  /** POST .../messages: appends 1-50 messages atomically. */
  async append(
    conversationId: string,
    messages: readonly Message[],
    options: WriteOptions = {},
  ): Promise<AppendResult> {
    const response = await this.send({
      method: 'POST',
      path: messagesPath(conversationId),
      body: { messages, ...versionField(options.expectedVersion) },
      ...this.keyed(options),
    });
    return { ...response.json, replayed: isReplay(response) };
  }

  /** GET .../messages: one page. */
  async load(conversationId: string, options: PageOptions = {}): Promise<HistoryPage> {
    const { limit, before, after } = options;
    const response = await this.send({
      method: 'GET',
      path: messagesPath(conversationId),
      query: { limit, before, after },
      signal: options.signal,
    });
    return response.json;
  }

  /** Every page, newest first (or oldest first with `direction: 'forward'`), one request per page. */
  pages(
    conversationId: string,
    options: PageIterationOptions = {},
  ): AsyncGenerator<HistoryPage, void, undefined> {
    return historyPages((page) => this.load(conversationId, { ...page, signal: options.signal }), options);
  }

  /** Every message, page by page, in the pages' direction (ascending with `direction: 'forward'`). */
  async *messages(
    conversationId: string,
    options: PageIterationOptions = {},
  ): AsyncGenerator<StoredMessage, void, undefined> {
    const forward =
      options.direction === 'forward' || (options.direction === undefined && options.after !== undefined);
    for await (const page of this.pages(conversationId, options)) {
      yield* forward ? page.messages : [...page.messages].reverse();
    }
  }

  loadRecent(conversationId: string, limit: number, options: CallOptions = {}): Promise<HistorySnapshot> {
    return readHistorySnapshot(
      conversationId,
      (page) => this.load(conversationId, { ...page, ...options }),
      limit,
    );
  }

  loadAll(conversationId: string, options: CallOptions = {}): Promise<HistorySnapshot> {
    return readHistorySnapshot(
      conversationId,
      (page) => this.load(conversationId, { ...page, ...options }),
      undefined,
    );
  }

  /** GET /v1/conversations/{id}; undefined for a conversation never written (or deleted). */
  async getConversation(
    conversationId: string,
    options: CallOptions = {},
  ): Promise<ConversationInfo | undefined> {
    try {
      return (
        await this.send({ method: 'GET', path: conversationPath(conversationId), signal: options.signal })
      ).json;
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
  }

  /** DELETE /v1/conversations/{id}: every message, idempotency record and the metadata. */
  async deleteConversation(conversationId: string, options: CallOptions = {}): Promise<void> {
    await this.send({ method: 'DELETE', path: conversationPath(conversationId), signal: options.signal });
  }

  /** POST .../turns: one agent turn (the server calls the model and stores the user message and the reply). */
  async turn(
    conversationId: string,
    message: string | Message,
    options: TurnOptions = {},
  ): Promise<TurnResult> {
    const response = await this.send({
      method: 'POST',
      path: `${conversationPath(conversationId)}/turns`,
      body: {
        message,
        ...versionField(options.expectedVersion),
        ...(options.system === undefined ? {} : { system: options.system }),
      },
      ...this.keyed(options),
    });
    return { ...response.json, replayed: isReplay(response) };
  }

  /** POST .../edits: replaces the conversation's ending if it is `expectedSuffix` (SuffixMismatchError otherwise). */
  async replaceSuffix(
    conversationId: string,
    edit: SuffixEdit,
    options: WriteOptions = {},
  ): Promise<EditResult> {
    const response = await this.send({
      method: 'POST',
      path: `${conversationPath(conversationId)}/edits`,
      body: {
        expectedSuffix: edit.expectedSuffix,
        replacement: edit.replacement,
        ...versionField(options.expectedVersion),
      },
      ...this.keyed(options),
    });
    return { removed: [], ...response.json, replayed: isReplay(response) };
  }

  private keyed(options: WriteOptions): Pick<Request, 'idempotencyKey' | 'retryConflict' | 'signal'> {
    return {
      idempotencyKey: options.idempotencyKey ?? this.newIdempotencyKey(),
      retryConflict: options.expectedVersion === undefined,
      signal: options.signal,
    };
  }

  private url(request: Request): URL {
    const url = new URL(this.baseUrl.href);
    url.pathname = `${this.basePath}${request.path}`;
    for (const [name, value] of Object.entries(request.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    return url;
  }

  /** One logical call: attempts until success, an error that must not be retried, or the last attempt. */
  private async send(request: Request): Promise<Response> {
    const url = this.url(request);
    const body = request.body === undefined ? undefined : JSON.stringify(request.body);
    const headers: Record<string, string> = {
      accept: 'application/json',
      ...this.headers,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(request.idempotencyKey === undefined ? {} : { 'idempotency-key': request.idempotencyKey }),
    };
    const { signal } = request;
    for (let attempt = 1; ; attempt++) {
      if (signal?.aborted) throw new AbortedError('The call was aborted.', { cause: signal.reason });
      const auth = this.auth
        ? await this.auth.headersFor({ method: request.method, url, headers, body })
        : {};
      const outcome = await this.attempt(
        url,
        { method: request.method, headers: { ...headers, ...auth }, body },
        signal,
      );
      if ('response' in outcome) return outcome.response;
      const { error, retryable } = outcome;
      if (!retryable || attempt >= this.retry.maxAttempts) throw error;
      if (error instanceof VersionConflictError && !request.retryConflict) throw error;
      const retryAfterMs = (error as { retryAfterMs?: number }).retryAfterMs;
      if (retryAfterMs !== undefined && retryAfterMs > this.retry.maxRetryAfterMs) throw error;
      await sleep(retryAfterMs ?? backoffDelay(attempt, this.retry), signal);
    }
  }

  private async attempt(
    url: URL,
    init: { method: string; headers: Record<string, string>; body: string | undefined },
    signal: AbortSignal | undefined,
  ): Promise<{ response: Response } | { error: AgentMemoryError; retryable: boolean }> {
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.timeoutMs);
    const forward = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', forward, { once: true });
    try {
      const answer = await this.fetch(url, {
        method: init.method,
        headers: init.headers,
        ...(init.body === undefined ? {} : { body: init.body }),
        signal: controller.signal,
      });
      const text = await answer.text();
      const json = parseJson(text);
      if (answer.ok) return { response: { status: answer.status, headers: answer.headers, json } };
      const retryAfterMs = parseRetryAfter(answer.headers.get('retry-after'));
      const error = errorFromResponse(answer.status, json, {
        ...optional('requestId', requestIdOf(answer.headers)),
        ...optional('retryAfterMs', retryAfterMs),
      });
      const retryable =
        answer.status === 429 || answer.status === 503 || error instanceof VersionConflictError;
      return { error, retryable };
    } catch (cause) {
      if (signal?.aborted) throw new AbortedError('The call was aborted.', { cause: signal.reason ?? cause });
      if (timedOut) {
        return {
          error: new TimeoutError(
            `No response within ${this.timeoutMs} ms (${init.method} ${url.pathname}).`,
            {
              cause,
            },
          ),
          retryable: true,
        };
      }
      return {
        error: new NetworkError(
          `The request failed: ${describeCause(cause)} (${init.method} ${url.pathname}).`,
          {
            cause,
          },
        ),
        retryable: true,
      };
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', forward);
    }
  }
}

function conversationPath(conversationId: string): string {
  if (typeof conversationId !== 'string' || conversationId.length === 0) {
    throw new TypeError('conversationId must be a non-empty string.');
  }
  return `/v1/conversations/${encodeURIComponent(conversationId)}`;
}

function messagesPath(conversationId: string): string {
  return `${conversationPath(conversationId)}/messages`;
}

function versionField(expectedVersion: number | undefined): { expectedVersion?: number } {
  return expectedVersion === undefined ? {} : { expectedVersion };
}

function isReplay(response: Response): boolean {
  return response.headers.get('idempotent-replayed') === 'true';
}

function requestIdOf(headers: Headers): string | undefined {
  return (
    headers.get('apigw-requestid') ??
    headers.get('x-amzn-requestid') ??
    headers.get('x-request-id') ??
    undefined
  );
}

function parseJson(text: string): unknown {
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function describeCause(cause: unknown): string {
  const nested = (cause as { cause?: { code?: string; message?: string } })?.cause;
  if (nested?.code) return nested.code;
  return cause instanceof Error ? cause.message : String(cause);
}

function optional<K extends string, V>(name: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [name]: value }) as { [P in K]?: V };
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(new AbortedError('The call was aborted.', { cause: signal?.reason }));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
