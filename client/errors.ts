/**
 * The client's typed errors: one class per error code of the HTTP contract, so callers branch with
 * `instanceof` instead of reading status codes. Both ConversationMemory implementations (HTTP and in-process)
 * throw these, so adapters handle one set of errors whatever the transport.
 */
export interface AgentMemoryErrorDetails {
  /** The HTTP status (the contract's, for the in-process store too); 0 when no response arrived. */
  readonly status: number;
  /** The contract's error code (`version_conflict`, ...) or a client-side one (`network_error`, `timeout`). */
  readonly code: string;
  /** The server's request id (`apigw-requestid` header or the `internal` error body), to quote in reports. */
  readonly requestId?: string;
  /** The error body's other fields, as the server sent them. */
  readonly details?: Readonly<Record<string, unknown>>;
  readonly cause?: unknown;
}

export class AgentMemoryError extends Error {
  readonly status: number;
  readonly code: string;
  readonly requestId: string | undefined;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(message: string, details: AgentMemoryErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.status = details.status;
    this.code = details.code;
    this.requestId = details.requestId;
    this.details = details.details ?? {};
  }
}

/** What a typed error's constructor takes: the details, with the class's own code and (by default) status. */
export type TypedErrorDetails = Omit<AgentMemoryErrorDetails, 'code' | 'status'> & {
  readonly status?: number;
};

/** 400: malformed id, message, body or query value. Nothing was stored. */
export class InvalidRequestError extends AgentMemoryError {
  constructor(message: string, details: TypedErrorDetails = {}) {
    super(message, { status: 400, ...details, code: 'invalid_request' });
  }
}

/** 401: no (valid) credentials. */
export class UnauthorizedError extends AgentMemoryError {
  constructor(message: string, details: TypedErrorDetails = {}) {
    super(message, { status: 401, ...details, code: 'unauthorized' });
  }
}

/** 403: authenticated, but no tenant can be derived or access is denied. */
export class ForbiddenError extends AgentMemoryError {
  constructor(message: string, details: TypedErrorDetails = {}) {
    super(message, { status: 403, ...details, code: 'forbidden' });
  }
}

/** 404: the conversation was never written (or was deleted), or the route does not exist. */
export class NotFoundError extends AgentMemoryError {
  constructor(message: string, details: TypedErrorDetails = {}) {
    super(message, { status: 404, ...details, code: 'not_found' });
  }
}

/** 409 version_conflict: the conversation is not at the expected version. */
export class VersionConflictError extends AgentMemoryError {
  constructor(
    readonly currentVersion: number,
    message = `The conversation is at version ${currentVersion}.`,
    details: TypedErrorDetails = {},
  ) {
    super(message, { status: 409, ...details, code: 'version_conflict' });
  }
}

/** 409 suffix_mismatch: a history edit's expectedSuffix is not how the conversation ends. Nothing changed. */
export class SuffixMismatchError extends AgentMemoryError {
  constructor(
    readonly currentVersion: number | undefined,
    message = 'The conversation does not end with the expected messages.',
    details: TypedErrorDetails = {},
  ) {
    super(message, { status: 409, ...details, code: 'suffix_mismatch' });
  }
}

/**
 * 409 no_pending_tool_calls: a turn continuation (tool results), but the conversation does not end with tool calls
 * awaiting results (answered already, or other messages came after them). Nothing was stored.
 */
export class NoPendingToolCallsError extends AgentMemoryError {
  constructor(
    readonly currentVersion: number | undefined,
    message = 'The conversation does not end with tool calls awaiting results.',
    details: TypedErrorDetails = {},
  ) {
    super(message, { status: 409, ...details, code: 'no_pending_tool_calls' });
  }
}

/**
 * 422 tool_results_mismatch: the tool results do not answer the pending tool calls exactly (ids `missing`,
 * `unknown` or `duplicate`). Nothing was stored.
 */
export class ToolResultsMismatchError extends AgentMemoryError {
  readonly missing: readonly string[];
  readonly unknown: readonly string[];
  readonly duplicate: readonly string[];
  constructor(
    message = 'The tool results do not match the pending tool calls.',
    details: TypedErrorDetails = {},
  ) {
    super(message, { status: 422, ...details, code: 'tool_results_mismatch' });
    const ids = (name: string) => {
      const value = this.details[name];
      return Array.isArray(value) ? value.filter((id): id is string => typeof id === 'string') : [];
    };
    this.missing = ids('missing');
    this.unknown = ids('unknown');
    this.duplicate = ids('duplicate');
  }
}

/** 413: a message over 256 KiB, a body over 1 MiB, or an append over DynamoDB's transaction size. */
export class PayloadTooLargeError extends AgentMemoryError {
  constructor(message: string, details: TypedErrorDetails = {}) {
    super(message, { status: 413, ...details, code: 'payload_too_large' });
  }
}

/** 422: the Idempotency-Key was already used in this conversation with a different request. */
export class IdempotencyKeyReusedError extends AgentMemoryError {
  constructor(
    message = 'This Idempotency-Key was already used with a different request.',
    details: TypedErrorDetails = {},
  ) {
    super(message, { status: 422, ...details, code: 'idempotency_key_reused' });
  }
}

/** 429 throttled / 503 unavailable: safe to retry after `retryAfterMs`. Thrown once the client's retries ran out. */
export class UnavailableError extends AgentMemoryError {
  constructor(
    message: string,
    readonly retryAfterMs: number | undefined,
    details: TypedErrorDetails & { readonly code?: 'unavailable' | 'throttled' } = {},
  ) {
    super(message, {
      status: details.code === 'throttled' ? 429 : 503,
      ...details,
      code: details.code ?? 'unavailable',
    });
  }
}

/** 502 model_error / 504 model_timeout: the agent turn's model failed or took too long. Nothing was stored. */
export class ModelError extends AgentMemoryError {
  constructor(
    message: string,
    details: TypedErrorDetails & { readonly code?: 'model_error' | 'model_timeout' } = {},
  ) {
    const code = details.code ?? 'model_error';
    super(message, { status: code === 'model_timeout' ? 504 : 502, ...details, code });
  }
}

/** 500 internal (or any other unexpected status). Quote `requestId` when reporting it. */
export class InternalServerError extends AgentMemoryError {
  constructor(message: string, details: TypedErrorDetails & { readonly code?: string } = {}) {
    super(message, { status: 500, ...details, code: details.code ?? 'internal' });
  }
}

/** No response: the connection failed or broke. The request may or may not have been applied. */
export class NetworkError extends AgentMemoryError {
  constructor(message: string, details: TypedErrorDetails = {}) {
    super(message, { status: 0, ...details, code: 'network_error' });
  }
}

/** No response within the client's per-attempt timeout. The request may or may not have been applied. */
export class TimeoutError extends AgentMemoryError {
  constructor(message: string, details: TypedErrorDetails = {}) {
    super(message, { status: 0, ...details, code: 'timeout' });
  }
}

/** The caller's AbortSignal fired. The request may or may not have been applied. */
export class AbortedError extends AgentMemoryError {
  constructor(message: string, details: TypedErrorDetails = {}) {
    super(message, { status: 0, ...details, code: 'aborted' });
  }
}

/**
 * The typed error for an error response: by the body's code first (409 has two meanings), by status otherwise.
 * `body` is the parsed JSON, or undefined when the response was not the contract's error shape. Without a status (an
 * event stream's `error` event, sent with 200) the error gets the status its code has in the contract.
 */
export function errorFromResponse(
  status: number | undefined,
  body: unknown,
  context: { readonly requestId?: string; readonly retryAfterMs?: number },
): AgentMemoryError {
  const error =
    typeof body === 'object' && body !== null && 'error' in body && typeof body.error === 'object'
      ? (body.error as Record<string, unknown>)
      : undefined;
  const code = typeof error?.code === 'string' ? error.code : undefined;
  const message =
    typeof error?.message === 'string'
      ? error.message
      : `The server answered ${status ?? 'an error'} without an error body.`;
  const { code: _code, message: _message, ...details } = error ?? {};
  const requestId = typeof error?.requestId === 'string' ? error.requestId : context.requestId;
  const common = {
    ...(status === undefined ? {} : { status }),
    details,
    ...(requestId === undefined ? {} : { requestId }),
  };
  const currentVersion = typeof error?.currentVersion === 'number' ? error.currentVersion : undefined;

  switch (code ?? codeOfStatus(status)) {
    case 'invalid_request':
      return new InvalidRequestError(message, common);
    case 'unauthorized':
      return new UnauthorizedError(message, common);
    case 'forbidden':
      return new ForbiddenError(message, common);
    case 'not_found':
      return new NotFoundError(message, common);
    case 'version_conflict':
      return new VersionConflictError(currentVersion ?? -1, message, common);
    case 'suffix_mismatch':
      return new SuffixMismatchError(currentVersion, message, common);
    case 'no_pending_tool_calls':
      return new NoPendingToolCallsError(currentVersion, message, common);
    case 'tool_results_mismatch':
      return new ToolResultsMismatchError(message, common);
    case 'payload_too_large':
      return new PayloadTooLargeError(message, common);
    case 'idempotency_key_reused':
      return new IdempotencyKeyReusedError(message, common);
    case 'throttled':
      return new UnavailableError(message, context.retryAfterMs, { ...common, code: 'throttled' });
    case 'unavailable':
      return new UnavailableError(message, context.retryAfterMs, { ...common, code: 'unavailable' });
    case 'model_error':
    case 'model_timeout':
      return new ModelError(message, { ...common, code: code as 'model_error' | 'model_timeout' });
    default:
      return new InternalServerError(message, { ...common, code: code ?? 'internal' });
  }
}

function codeOfStatus(status: number | undefined): string {
  const byStatus: Record<number, string> = {
    400: 'invalid_request',
    401: 'unauthorized',
    403: 'forbidden',
    404: 'not_found',
    409: 'version_conflict',
    413: 'payload_too_large',
    422: 'idempotency_key_reused',
    429: 'throttled',
    503: 'unavailable',
  };
  return (status === undefined ? undefined : byStatus[status]) ?? 'internal';
}
