import type { ToolCall } from '../lambda/agent/chat-model.js';
import type { ToolResult } from '../lambda/agent/tool-results.js';
import type { ToolChoice, ToolDefinition } from '../lambda/agent/tools.js';
import type { TurnContext } from '../lambda/agent/turn-context.js';
import { readServerSentEvents } from '../lambda/streaming/server-sent-events.js';
import { restoreAttachments } from './attachment-parts.js';
import { listConversations } from './conversation-listing.js';
import type {
  AppendOptions,
  AppendResult,
  CallOptions,
  ConversationContext,
  ConversationInfo,
  ConversationMemory,
  ConversationPage,
  ConversationPatch,
  EditResult,
  HistoryPage,
  HistorySnapshot,
  ListOptions,
  ListPageOptions,
  Message,
  PageOptions,
  PatchOptions,
  PatchResult,
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
  UnavailableError,
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
  /**
   * Where streamed turns go: the stack's `StreamingApiUrl` output (the REST API that streams). The HTTP API at
   * `baseUrl` answers a stream whole, at the end.
   * @default baseUrl
   */
  readonly streamingBaseUrl?: string | URL;
  /** sigV4Auth(...) for IAM deployments, bearerAuth(...) for JWT ones, tenantHeaderAuth(...) for the local server. */
  readonly auth?: RequestAuth;
  /** @default globalThis.fetch (called unbound, as browsers require) */
  readonly fetch?: typeof fetch;
  /** How long one attempt may take, response body included. @default 30000 */
  readonly timeoutMs?: number;
  readonly retry?: RetryOptions;
  /** Makes the idempotency key of a write that was given none. @default crypto.randomUUID */
  readonly idempotencyKey?: () => string;
  /** Sent with every request (a User-Agent, a tracing header...). */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * Values the API gives by reference (attachment parts with a presigned URL, when they do not fit an answer):
   * `inline` reads each URL and puts the value back, so every message is exactly as it was sent; `reference`
   * leaves the attachment parts as they are. Uploads stay attachment parts either way.
   * @default 'inline'
   */
  readonly attachments?: 'inline' | 'reference';
}

export interface TurnOptions extends WriteOptions {
  /** A system prompt for this turn (not stored). */
  readonly system?: string;
  /** The title of the conversation this turn starts (ignored when it exists). */
  readonly title?: string;
  /** Tools the model may call; you run them (see runTools). Not stored. */
  readonly tools?: readonly ToolDefinition[];
  /** @default 'auto' */
  readonly toolChoice?: ToolChoice;
}

export type { ToolCall, ToolChoice, ToolDefinition, ToolResult, TurnContext };

export interface TurnResult extends AppendResult {
  /** The stored assistant reply (also the last of `messages`). */
  readonly reply: StoredMessage;
  /** True when the reply calls tools (`reply.toolCalls`): run them and continue with continueTurn. */
  readonly awaitingToolResults: boolean;
  /** How many stored messages the model was given as history. */
  readonly contextMessages: number;
  /** What the model was given: the summary (what it covers), the messages after it, what it missed. */
  readonly context: TurnContext;
  /** The model that answered. */
  readonly model: string;
}

/** What a streamed turn reports (see streamTurn). */
export type TurnStreamEvent =
  /** Reply text as the model writes it; the deltas since the last `restart` concatenate to the reply's text. */
  | { readonly type: 'delta'; readonly text: string }
  /** A tool call of the reply, once complete. */
  | { readonly type: 'tool_call'; readonly toolCall: ToolCall }
  /** Forget the deltas and tool calls so far: the reply follows anew (a lost race, or a retried request). */
  | { readonly type: 'restart' }
  /** The committed turn: always the last event. */
  | { readonly type: 'done'; readonly result: TurnResult };

/** A tool the client runs for the model: its definition and the function that runs it. */
export interface ToolImplementation {
  readonly description?: string;
  /** JSON Schema of the arguments (an object schema). */
  readonly inputSchema: ToolDefinition['inputSchema'];
  /** Runs the tool; its result is sent as text (JSON for anything else). A throw is sent as an error result. */
  execute(args: Record<string, unknown>, call: ToolCall): unknown;
}

export interface RunToolsOptions extends Omit<TurnOptions, 'tools' | 'idempotencyKey' | 'expectedVersion'> {
  /** At most this many model replies that call tools; then the loop stops with the last one. @default 10 */
  readonly maxSteps?: number;
  /** Streams every step: deltas and tool calls as they come (streamTurn), then each step's `done`. */
  readonly onEvent?: (event: TurnStreamEvent) => void;
}

export interface RunToolsResult {
  /** The last turn: the answer, or a reply still awaiting tool results when `maxSteps` ran out. */
  readonly result: TurnResult;
  /** Every turn of the loop, in order (the first one's user message, each continuation's tool results). */
  readonly steps: readonly TurnResult[];
}

type StreamOutcome =
  | { readonly result: TurnResult }
  | { readonly error: AgentMemoryError; readonly retryable: boolean; readonly reported: boolean };

/** A turn's new input: the user's message, or the results of the pending tool calls. */
export type TurnInput = string | Message | { readonly toolResults: readonly ToolResult[] };

interface Request {
  readonly method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number | undefined>>;
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
  private readonly streamingBase: { readonly url: URL; readonly path: string };
  private readonly auth: RequestAuth | undefined;
  private readonly fetch: typeof fetch;
  private readonly timeoutMs: number;
  private readonly retry: RetryPolicy;
  private readonly newIdempotencyKey: () => string;
  private readonly headers: Readonly<Record<string, string>>;
  private readonly inlineAttachments: boolean;

  constructor(options: AgentMemoryClientOptions) {
    const base = apiBase(options.baseUrl, 'baseUrl');
    this.baseUrl = base.url;
    this.basePath = base.path;
    this.streamingBase =
      options.streamingBaseUrl === undefined ? base : apiBase(options.streamingBaseUrl, 'streamingBaseUrl');
    this.auth = options.auth;
    // A browser's fetch throws "Illegal invocation" when called as a method of another object.
    this.fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.timeoutMs = options.timeoutMs ?? 30_000;
    if (!(this.timeoutMs > 0)) throw new RangeError(`timeoutMs must be > 0, got ${this.timeoutMs}`);
    this.retry = retryPolicy(options.retry);
    // The Web Crypto global (Node 19+, browsers), so the client also runs in a browser.
    this.newIdempotencyKey = options.idempotencyKey ?? (() => globalThis.crypto.randomUUID());
    this.headers = Object.fromEntries(
      Object.entries(options.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]),
    );
    this.inlineAttachments = (options.attachments ?? 'inline') === 'inline';
  }

  /**
   * Uploads a file too large for a request (POST .../uploads, then a PUT of its bytes to the presigned URL) and
   * returns the part that references it in a message of this conversation:
   * `memory.append(id, [{ role: 'user', content: [{ type: 'text', text: 'Summarise this' }, part] }])`.
   */
  async upload(
    conversationId: string,
    data: Uint8Array | Blob,
    file: { readonly mediaType: string; readonly filename?: string },
    options: CallOptions = {},
  ): Promise<{ type: 'attachment'; attachment: { uploadId: string } }> {
    const bytes = data instanceof Blob ? data.size : data.byteLength;
    const ticket = (
      await this.send({
        method: 'POST',
        path: `${conversationPath(conversationId)}/uploads`,
        body: {
          bytes,
          mediaType: file.mediaType,
          ...(file.filename === undefined ? {} : { filename: file.filename }),
        },
        signal: options.signal,
      })
    ).json as { uploadId: string; url: string; headers: Record<string, string> };
    let put: globalThis.Response;
    try {
      put = await this.fetch(ticket.url, {
        method: 'PUT',
        headers: ticket.headers,
        body: data as Blob,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
    } catch (cause) {
      throw new NetworkError(`The upload failed: ${describeCause(cause)}.`, { cause });
    }
    if (!put.ok) throw new NetworkError(`The upload failed: S3 answered ${put.status}.`);
    return { type: 'attachment', attachment: { uploadId: ticket.uploadId } };
  }

  /** Puts back the values an answer gave by reference (see the `attachments` option). */
  private async restore<
    T extends { messages?: StoredMessage[]; reply?: StoredMessage; removed?: StoredMessage[] },
  >(answer: T): Promise<T> {
    if (!this.inlineAttachments) return answer;
    const read = async (url: string) => {
      let response: globalThis.Response;
      try {
        response = await this.fetch(url);
      } catch (cause) {
        throw new NetworkError(`Reading an attachment failed: ${describeCause(cause)}.`, { cause });
      }
      if (!response.ok)
        throw new NetworkError(`Reading an attachment failed: S3 answered ${response.status}.`);
      return new Uint8Array(await response.arrayBuffer());
    };
    const [messages, removed] = await Promise.all([
      answer.messages && restoreAttachments(answer.messages, read),
      answer.removed && restoreAttachments(answer.removed, read),
    ]);
    return {
      ...answer,
      ...(messages === undefined ? {} : { messages }),
      ...(removed === undefined ? {} : { removed }),
      // The reply is the last of the turn's messages.
      ...(answer.reply === undefined ? {} : { reply: messages?.at(-1) ?? answer.reply }),
    };
  }

  /** POST .../messages: appends 1-50 messages atomically. */
  async append(
    conversationId: string,
    messages: readonly Message[],
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    const response = await this.send({
      method: 'POST',
      path: messagesPath(conversationId),
      body: {
        messages,
        ...versionField(options.expectedVersion),
        ...(options.title === undefined ? {} : { title: options.title }),
      },
      ...this.keyed(options),
    });
    return this.restore({ ...response.json, replayed: isReplay(response) });
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
    return this.restore(response.json as HistoryPage);
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

  /** GET .../summaries?recent=limit: the conversation's summary and the newest `limit` messages after it. */
  async loadContext(
    conversationId: string,
    limit: number,
    options: CallOptions = {},
  ): Promise<ConversationContext> {
    const response = await this.send({
      method: 'GET',
      path: `${conversationPath(conversationId)}/summaries`,
      query: { recent: limit },
      signal: options.signal,
    });
    const { version, summaries, messages } = response.json;
    return { conversationId, version, ...(summaries[0] ? { summary: summaries[0] } : {}), messages };
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

  /**
   * PATCH /v1/conversations/{id}: title and metadata (merged). Keyed like every write, so its retries are
   * answered from the first one's result; never retried on 409.
   */
  async patch(
    conversationId: string,
    patch: ConversationPatch,
    options: PatchOptions = {},
  ): Promise<PatchResult> {
    const response = await this.send({
      method: 'PATCH',
      path: conversationPath(conversationId),
      body: {
        ...patch,
        ...versionField(options.expectedVersion),
        ...(options.expectedRevision === undefined ? {} : { expectedRevision: options.expectedRevision }),
      },
      ...this.keyed(options),
      retryConflict: false,
    });
    return { ...response.json, replayed: isReplay(response) };
  }

  /** GET /v1/conversations: one page of the tenant's (or a scope's) conversations, newest activity first. */
  async listPage(options: ListPageOptions = {}): Promise<ConversationPage> {
    const { prefix, limit, cursor, signal } = options;
    const response = await this.send({
      method: 'GET',
      path: '/v1/conversations',
      query: { prefix, limit, cursor },
      signal,
    });
    return response.json;
  }

  /** Every conversation, newest activity first, one request per page: `for await (const c of memory.list())`. */
  list(options: ListOptions = {}): AsyncGenerator<ConversationInfo, void, undefined> {
    return listConversations((page) => this.listPage(page), options);
  }

  /**
   * POST .../turns: one agent turn (the server calls the model and stores the user message and the reply). With
   * `tools`, a reply may call them (`awaitingToolResults`): run them and continueTurn, or let runTools do it.
   */
  async turn(
    conversationId: string,
    message: string | Message,
    options: TurnOptions = {},
  ): Promise<TurnResult> {
    return this.postTurn(conversationId, message, options);
  }

  /** POST .../turns with `toolResults`: continues a turn whose reply called tools, with their results. */
  async continueTurn(
    conversationId: string,
    toolResults: readonly ToolResult[],
    options: TurnOptions = {},
  ): Promise<TurnResult> {
    return this.postTurn(conversationId, { toolResults }, options);
  }

  private async postTurn(
    conversationId: string,
    input: TurnInput,
    options: TurnOptions,
  ): Promise<TurnResult> {
    const response = await this.send({
      method: 'POST',
      path: `${conversationPath(conversationId)}/turns`,
      body: turnBody(input, options),
      ...this.keyed(options),
    });
    return this.restore({ ...response.json, replayed: isReplay(response) });
  }

  /**
   * A turn (or a continuation, `{ toolResults }`) streamed: its events as the model writes, ending with `done`;
   * failures are the typed errors. Retries, with the same Idempotency-Key, what fails before the first event;
   * a stream that breaks later is requested again with that key as well, after a `restart` event: the server
   * answers with the turn it committed (or completes it), so nothing is written twice.
   */
  async *streamTurn(
    conversationId: string,
    input: TurnInput,
    options: TurnOptions = {},
  ): AsyncGenerator<TurnStreamEvent, TurnResult, undefined> {
    const { idempotencyKey, retryConflict, signal } = this.keyed(options);
    const url = this.url(
      { method: 'POST', path: `${conversationPath(conversationId)}/turns` },
      this.streamingBase,
    );
    const body = JSON.stringify(turnBody(input, options));
    let reported = false;
    for (let attempt = 1; ; attempt++) {
      const outcome: StreamOutcome = yield* this.streamAttempt(
        url,
        body,
        idempotencyKey as string,
        signal,
        reported,
      );
      if ('result' in outcome) return this.restore(outcome.result);
      reported ||= outcome.reported;
      const { error, retryable } = outcome;
      if (!retryable || attempt >= this.retry.maxAttempts) throw error;
      if (error instanceof VersionConflictError && !retryConflict) throw error;
      const retryAfterMs = (error as { retryAfterMs?: number }).retryAfterMs;
      if (retryAfterMs !== undefined && retryAfterMs > this.retry.maxRetryAfterMs) throw error;
      await sleep(retryAfterMs ?? backoffDelay(attempt, this.retry), signal);
    }
  }

  /**
   * Runs the tool loop: a turn offering `tools`, then, while the reply calls tools, runs them (in parallel) and
   * continues the turn with their results, until the model answers without calling one (or `maxSteps` replies
   * called tools). A tool that throws, or one the model names but `tools` lacks, is answered as an error result.
   */
  async runTools(
    conversationId: string,
    message: string | Message,
    tools: Readonly<Record<string, ToolImplementation>>,
    options: RunToolsOptions = {},
  ): Promise<RunToolsResult> {
    const { maxSteps = 10, onEvent, ...turnOptions } = options;
    const definitions = Object.entries(tools).map(([name, tool]) => ({
      name,
      ...(tool.description === undefined ? {} : { description: tool.description }),
      inputSchema: tool.inputSchema,
    }));
    const step = async (input: TurnInput): Promise<TurnResult> => {
      const stepOptions = { ...turnOptions, tools: definitions };
      if (onEvent === undefined) return this.postTurn(conversationId, input, stepOptions);
      const events = this.streamTurn(conversationId, input, stepOptions);
      for (;;) {
        const next = await events.next();
        if (next.done) return next.value;
        onEvent(next.value);
      }
    };
    const steps = [await step(message)];
    for (let calls = 1; ; calls++) {
      const last = steps.at(-1) as TurnResult;
      if (!last.awaitingToolResults || calls > maxSteps) return { result: last, steps };
      const toolResults = await Promise.all((last.reply.toolCalls ?? []).map((call) => runTool(tools, call)));
      steps.push(await step({ toolResults }));
    }
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
    return this.restore({ removed: [], ...response.json, replayed: isReplay(response) });
  }

  private keyed(options: WriteOptions): Pick<Request, 'idempotencyKey' | 'retryConflict' | 'signal'> {
    return {
      idempotencyKey: options.idempotencyKey ?? this.newIdempotencyKey(),
      retryConflict: options.expectedVersion === undefined,
      signal: options.signal,
    };
  }

  private url(
    request: Pick<Request, 'path' | 'query' | 'method'>,
    base: { readonly url: URL; readonly path: string } = { url: this.baseUrl, path: this.basePath },
  ): URL {
    const url = new URL(base.url.href);
    url.pathname = `${base.path}${request.path}`;
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

  /**
   * One streamed request: yields its events until `done` (the result), or answers the failure and whether it may
   * be retried. A retry after events were reported starts with a `restart`.
   */
  private async *streamAttempt(
    url: URL,
    body: string,
    idempotencyKey: string,
    signal: AbortSignal | undefined,
    reportedBefore: boolean,
  ): AsyncGenerator<TurnStreamEvent, StreamOutcome, undefined> {
    if (signal?.aborted) throw new AbortedError('The call was aborted.', { cause: signal.reason });
    const headers: Record<string, string> = {
      accept: 'text/event-stream',
      ...this.headers,
      'content-type': 'application/json',
      'idempotency-key': idempotencyKey,
    };
    const auth = this.auth ? await this.auth.headersFor({ method: 'POST', url, headers, body }) : {};
    const controller = new AbortController();
    // The per-attempt timeout is an idle timeout here: it restarts with every event.
    let timedOut = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, this.timeoutMs);
    };
    const forward = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', forward, { once: true });
    let reported = false;
    const failed = (cause: unknown) => {
      if (signal?.aborted) throw new AbortedError('The call was aborted.', { cause: signal.reason ?? cause });
      const error = timedOut
        ? new TimeoutError(`No event within ${this.timeoutMs} ms (POST ${url.pathname}).`, { cause })
        : new NetworkError(`The stream failed: ${describeCause(cause)} (POST ${url.pathname}).`, { cause });
      return { error, retryable: true, reported };
    };
    try {
      arm();
      let answer: globalThis.Response;
      try {
        answer = await this.fetch(url, {
          method: 'POST',
          headers: { ...headers, ...auth },
          body,
          signal: controller.signal,
        });
      } catch (cause) {
        return failed(cause);
      }
      if (!answer.ok || !/^text\/event-stream/i.test(answer.headers.get('content-type') ?? '')) {
        const json = parseJson(await answer.text().catch(() => ''));
        if (answer.ok)
          return {
            result: { ...(json as TurnResult), replayed: isReplay({ headers: answer.headers } as Response) },
          };
        const error = errorFromResponse(answer.status, json, {
          ...optional('requestId', requestIdOf(answer.headers)),
          ...optional('retryAfterMs', parseRetryAfter(answer.headers.get('retry-after'))),
        });
        const retryable =
          answer.status === 429 || answer.status === 503 || error instanceof VersionConflictError;
        return { error, retryable, reported };
      }
      const requestId = requestIdOf(answer.headers);
      try {
        for await (const { event, data } of readServerSentEvents(
          // Node's body is async iterable; the DOM's type (browsers differ) does not say so.
          (answer.body ?? []) as unknown as AsyncIterable<Uint8Array>,
        )) {
          arm();
          const json = parseJson(data);
          if (event === 'error') {
            // Sent with status 200: the error's class gives the status its code has in the contract.
            const error = errorFromResponse(undefined, json, optional('requestId', requestId));
            const retryable = error instanceof UnavailableError || error instanceof VersionConflictError;
            return { error, retryable, reported };
          }
          if (event === 'done') return { result: { ...(json as TurnResult), replayed: false } };
          if (!reported && reportedBefore) yield { type: 'restart' };
          reported = true;
          if (event === 'delta') yield { type: 'delta', text: (json as { text: string }).text };
          else if (event === 'tool_call') yield { type: 'tool_call', toolCall: json as ToolCall };
          else if (event === 'restart') yield { type: 'restart' };
        }
      } catch (cause) {
        return failed(cause);
      }
      return failed(new Error('The stream ended before its done event.'));
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', forward);
      controller.abort();
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

function apiBase(value: string | URL, name: string): { url: URL; path: string } {
  const url = new URL(value);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`${name} must be an http(s) URL, got ${url.href}`);
  }
  const path = url.pathname.replace(/\/+$/, '');
  url.pathname = '/';
  url.search = '';
  url.hash = '';
  return { url, path };
}

function turnBody(input: TurnInput, options: TurnOptions): Record<string, unknown> {
  return {
    ...(typeof input === 'object' && 'toolResults' in input
      ? { toolResults: input.toolResults }
      : { message: input }),
    ...versionField(options.expectedVersion),
    ...(options.system === undefined ? {} : { system: options.system }),
    ...(options.title === undefined ? {} : { title: options.title }),
    ...(options.tools === undefined ? {} : { tools: options.tools }),
    ...(options.toolChoice === undefined ? {} : { toolChoice: options.toolChoice }),
  };
}

/** Runs one tool call; its failures, and calls of tools the client lacks, become error results. */
async function runTool(
  tools: Readonly<Record<string, ToolImplementation>>,
  call: ToolCall,
): Promise<ToolResult> {
  const tool = Object.hasOwn(tools, call.name) ? tools[call.name] : undefined;
  if (tool === undefined) {
    return { toolCallId: call.id, content: `No tool named ${call.name} is available.`, isError: true };
  }
  try {
    const args =
      typeof call.arguments === 'string'
        ? (JSON.parse(call.arguments || '{}') as Record<string, unknown>)
        : call.arguments;
    const output = await tool.execute(args, call);
    return {
      toolCallId: call.id,
      content: typeof output === 'string' ? output : (JSON.stringify(output) ?? ''),
    };
  } catch (error) {
    return {
      toolCallId: call.id,
      content: error instanceof Error ? error.message : String(error),
      isError: true,
    };
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
