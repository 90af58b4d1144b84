import { type ErrorCode, errorStatus } from '../lambda/memory/error-codes.js';

/*
 * The client's typed errors: a class for every error code of the HTTP contract (the one list,
 * lambda/memory/error-codes.ts; `throttled` and `unavailable` share one, as do `model_error` and
 * `model_timeout`), so callers branch with `instanceof` instead of reading status codes. Both
 * ConversationMemory implementations (HTTP and in-process) throw these, built by `typedError`, so adapters
 * handle one set of errors whatever the transport.
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

/** Typed so that the declarations name no Node.js type (Error's statics): the client also runs in browsers. */
type TypedErrorClass = new (message?: string, details?: TypedErrorDetails) => AgentMemoryError;

/** The base of a typed error of one code: `new X(message?, details?)`, with the code's status by default. */
function typedErrorClass(
  code: ErrorCode | 'network_error' | 'timeout' | 'aborted',
  defaultMessage = '',
): TypedErrorClass {
  const status = isErrorCode(code) ? errorStatus[code] : 0;
  return class extends AgentMemoryError {
    constructor(message = defaultMessage, details: TypedErrorDetails = {}) {
      super(message, { status, ...details, code });
    }
  };
}

/** 400: malformed id, message, body or query value. Nothing was stored. */
export class InvalidRequestError extends typedErrorClass('invalid_request') {}

/** 401: no (valid) credentials. */
export class UnauthorizedError extends typedErrorClass('unauthorized') {}

/** 403: authenticated, but no tenant can be derived or access is denied. */
export class ForbiddenError extends typedErrorClass('forbidden') {}

/** 404: the conversation was never written (or was deleted), or the route does not exist. */
export class NotFoundError extends typedErrorClass('not_found') {}

/** 405 method_not_allowed: the path exists, the method does not (see the Allow header). */
export class MethodNotAllowedError extends typedErrorClass('method_not_allowed') {}

/**
 * A 409: the conversation is not as the request expected, and nothing was changed. `currentVersion` is its version
 * now (undefined when the answer did not say).
 */
export abstract class ConversationStateError extends AgentMemoryError {
  protected constructor(
    code: 'version_conflict' | 'suffix_mismatch' | 'no_pending_tool_calls',
    readonly currentVersion: number | undefined,
    message: string,
    details: TypedErrorDetails,
  ) {
    super(message, { status: errorStatus[code], ...details, code });
  }
}

/** 409 version_conflict: the conversation is not at the expected version. */
export class VersionConflictError extends ConversationStateError {
  declare readonly currentVersion: number;
  constructor(currentVersion: number, message?: string, details: TypedErrorDetails = {}) {
    super(
      'version_conflict',
      currentVersion,
      message ?? `The conversation is at version ${currentVersion}.`,
      details,
    );
  }
}

const suffixMismatch = 'The conversation does not end with the expected messages.';

/** 409 suffix_mismatch: a history edit's expectedSuffix is not how the conversation ends. Nothing changed. */
export class SuffixMismatchError extends ConversationStateError {
  constructor(currentVersion?: number, message = suffixMismatch, details: TypedErrorDetails = {}) {
    super('suffix_mismatch', currentVersion, message, details);
  }
}

const noPendingToolCalls = 'The conversation does not end with tool calls awaiting results.';

/**
 * 409 revision_conflict: a PATCH with `expectedRevision`, but the conversation's title and metadata are at another
 * revision (`currentRevision`). Nothing changed.
 */
export class RevisionConflictError extends AgentMemoryError {
  constructor(
    readonly currentRevision: number | undefined,
    message = "The conversation's title and metadata are at another revision.",
    details: TypedErrorDetails = {},
  ) {
    super(message, { status: errorStatus.revision_conflict, ...details, code: 'revision_conflict' });
  }
}

/**
 * 409 no_pending_tool_calls: a turn continuation (tool results), but the conversation does not end with tool calls
 * awaiting results (answered already, or other messages came after them). Nothing was stored.
 */
export class NoPendingToolCallsError extends ConversationStateError {
  constructor(currentVersion?: number, message = noPendingToolCalls, details: TypedErrorDetails = {}) {
    super('no_pending_tool_calls', currentVersion, message, details);
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
    super(message, { status: errorStatus.tool_results_mismatch, ...details, code: 'tool_results_mismatch' });
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
export class PayloadTooLargeError extends typedErrorClass('payload_too_large') {}

/** 422: the Idempotency-Key was already used in this conversation with a different request. */
export class IdempotencyKeyReusedError extends typedErrorClass(
  'idempotency_key_reused',
  'This Idempotency-Key was already used with a different request.',
) {}

/**
 * 410 idempotency_result_gone: the key's request was applied once, but a later edit removed what it wrote, so its
 * result cannot be returned. Nothing was written now; the same key keeps getting this answer.
 */
export class IdempotencyResultGoneError extends typedErrorClass(
  'idempotency_result_gone',
  'This Idempotency-Key was already applied, and a later edit removed what it wrote.',
) {}

/**
 * 422 invalid_upload: a message references an upload this conversation does not have (unknown, expired, never
 * uploaded, or another size or type than declared). Nothing was stored.
 */
export class InvalidUploadError extends typedErrorClass('invalid_upload') {}

/** 429 throttled / 503 unavailable: safe to retry after `retryAfterMs`. Thrown once the client's retries ran out. */
export class UnavailableError extends AgentMemoryError {
  constructor(
    message: string,
    readonly retryAfterMs: number | undefined,
    details: TypedErrorDetails & { readonly code?: 'unavailable' | 'throttled' } = {},
  ) {
    super(message, {
      status: errorStatus[details.code ?? 'unavailable'],
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
    super(message, { status: errorStatus[code], ...details, code });
  }
}

/** 500 internal (or any other unexpected status). Quote `requestId` when reporting it. */
export class InternalServerError extends AgentMemoryError {
  constructor(message: string, details: TypedErrorDetails & { readonly code?: string } = {}) {
    super(message, { status: errorStatus.internal, ...details, code: details.code ?? 'internal' });
  }
}

/** No response: the connection failed or broke. The request may or may not have been applied. */
export class NetworkError extends typedErrorClass('network_error') {}

/** No response within the client's per-attempt timeout. The request may or may not have been applied. */
export class TimeoutError extends typedErrorClass('timeout') {}

/** The caller's AbortSignal fired. The request may or may not have been applied. */
export class AbortedError extends typedErrorClass('aborted') {}

/** What a typed error is made of, whichever transport it came over. */
export interface TypedErrorInput {
  readonly message: string;
  readonly details: TypedErrorDetails;
  /** `Retry-After`, for `throttled` and `unavailable`. */
  readonly retryAfterMs?: number;
}

/** The typed error of every code of the contract: the compiler refuses a code without one. */
const typedErrors: { readonly [C in ErrorCode]: (input: TypedErrorInput) => AgentMemoryError } = {
  invalid_request: ({ message, details }) => new InvalidRequestError(message, details),
  unauthorized: ({ message, details }) => new UnauthorizedError(message, details),
  forbidden: ({ message, details }) => new ForbiddenError(message, details),
  not_found: ({ message, details }) => new NotFoundError(message, details),
  method_not_allowed: ({ message, details }) => new MethodNotAllowedError(message, details),
  version_conflict: ({ message, details }) =>
    new VersionConflictError(currentVersionOf(details) ?? -1, message, details),
  suffix_mismatch: ({ message, details }) =>
    new SuffixMismatchError(currentVersionOf(details), message, details),
  no_pending_tool_calls: ({ message, details }) =>
    new NoPendingToolCallsError(currentVersionOf(details), message, details),
  revision_conflict: ({ message, details }) => {
    const value = details.details?.currentRevision;
    return new RevisionConflictError(typeof value === 'number' ? value : undefined, message, details);
  },
  idempotency_result_gone: ({ message, details }) => new IdempotencyResultGoneError(message, details),
  payload_too_large: ({ message, details }) => new PayloadTooLargeError(message, details),
  idempotency_key_reused: ({ message, details }) => new IdempotencyKeyReusedError(message, details),
  tool_results_mismatch: ({ message, details }) => new ToolResultsMismatchError(message, details),
  invalid_upload: ({ message, details }) => new InvalidUploadError(message, details),
  throttled: ({ message, details, retryAfterMs }) =>
    new UnavailableError(message, retryAfterMs, { ...details, code: 'throttled' }),
  internal: ({ message, details }) => new InternalServerError(message, details),
  model_error: ({ message, details }) => new ModelError(message, { ...details, code: 'model_error' }),
  unavailable: ({ message, details, retryAfterMs }) =>
    new UnavailableError(message, retryAfterMs, { ...details, code: 'unavailable' }),
  model_timeout: ({ message, details }) => new ModelError(message, { ...details, code: 'model_timeout' }),
};

/**
 * The typed error of a code of the contract. A code this client does not know (a newer server's) is an
 * InternalServerError that keeps it.
 */
export function typedError(code: string, input: TypedErrorInput): AgentMemoryError {
  return isErrorCode(code)
    ? typedErrors[code](input)
    : new InternalServerError(input.message, { ...input.details, code });
}

/**
 * The typed error for an error response: by the body's code first (409 has three meanings), by status otherwise.
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
  return typedError(code ?? codeOfStatus(status), {
    message,
    details: {
      ...(status === undefined ? {} : { status }),
      details,
      ...(requestId === undefined ? {} : { requestId }),
    },
    ...(context.retryAfterMs === undefined ? {} : { retryAfterMs: context.retryAfterMs }),
  });
}

function currentVersionOf(details: TypedErrorDetails): number | undefined {
  const value = details.details?.currentVersion;
  return typeof value === 'number' ? value : undefined;
}

function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(errorStatus, code);
}

/** A status without the contract's body (a proxy's, a gateway's): the code it stands for, where only one can. */
const codeByStatus: Readonly<Record<number, ErrorCode>> = {
  400: 'invalid_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'version_conflict',
  410: 'idempotency_result_gone',
  413: 'payload_too_large',
  422: 'idempotency_key_reused',
  429: 'throttled',
  503: 'unavailable',
};

function codeOfStatus(status: number | undefined): ErrorCode {
  return (status === undefined ? undefined : codeByStatus[status]) ?? 'internal';
}
