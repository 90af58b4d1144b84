import type { ErrorCode } from './error-codes.js';

/**
 * An error of the contract: a code of ./error-codes.ts and a message written for the caller. The store's errors
 * below, the agent's model errors and the HTTP layer's own are all MemoryErrors, so the one HTTP mapper answers
 * any of them as `{"error": {code, message, ...details}}` with the code's status, and the in-process client
 * turns them into the same typed errors as the HTTP client. Every DynamoDB/SDK failure is translated into one
 * of these at the store's edge, so callers never see an AWS error type.
 */
export abstract class MemoryError extends Error {
  abstract readonly code: ErrorCode;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }

  /** The error body's fields beyond code and message (`currentVersion`, ...): none unless a subclass has some. */
  get details(): Readonly<Record<string, unknown>> {
    return {};
  }
}

/** Bad input: malformed id, message or query value. Nothing was stored. */
export class InvalidRequestError extends MemoryError {
  readonly code = 'invalid_request';
}

/** A message or a batch over the limits (256 KiB of JSON per message, DynamoDB's 4 MB per transaction). */
export class PayloadTooLargeError extends MemoryError {
  readonly code = 'payload_too_large';
}

/** The conversation is not at the version the caller expected (or the server lost every retry of a race). */
export class VersionConflictError extends MemoryError {
  readonly code = 'version_conflict';
  constructor(
    readonly currentVersion: number,
    options?: ErrorOptions,
  ) {
    super(`The conversation is at version ${currentVersion}.`, options);
  }

  override get details() {
    return { currentVersion: this.currentVersion };
  }
}

/** The conversation's title and metadata are not at the revision the caller expected. Nothing was changed. */
export class RevisionConflictError extends MemoryError {
  readonly code = 'revision_conflict';
  constructor(
    readonly currentRevision: number,
    options?: ErrorOptions,
  ) {
    super(`The conversation's title and metadata are at revision ${currentRevision}.`, options);
  }

  override get details() {
    return { currentRevision: this.currentRevision };
  }
}

/** The conversation was never written, or was deleted, or expired. */
export class ConversationNotFoundError extends MemoryError {
  readonly code = 'not_found';
  constructor(conversationId: string, options?: ErrorOptions) {
    super(`Conversation '${conversationId}' does not exist.`, options);
  }
}

/** A history edit's expected suffix is not how the conversation ends (now). Nothing was changed. */
export class SuffixMismatchError extends MemoryError {
  readonly code = 'suffix_mismatch';
  constructor(
    readonly currentVersion: number,
    options?: ErrorOptions,
  ) {
    super(`The conversation (version ${currentVersion}) does not end with the expected messages.`, options);
  }

  override get details() {
    return { currentVersion: this.currentVersion };
  }
}

/** The idempotency key was already used in this conversation with a different request. */
export class IdempotencyKeyReusedError extends MemoryError {
  readonly code = 'idempotency_key_reused';
  constructor(options?: ErrorOptions) {
    super('This Idempotency-Key was already used with a different request body.', options);
  }
}

/**
 * The key's request was applied, but a later history edit removed what it wrote, so its original result
 * cannot be returned. Nothing was written now. Retrying with the same key gives the same answer.
 */
export class IdempotentResultGoneError extends MemoryError {
  readonly code = 'idempotency_result_gone';
  constructor(options?: ErrorOptions) {
    super('This Idempotency-Key was already applied, and a later edit removed what it wrote.', options);
  }
}

/**
 * A message references an upload (`{"type": "attachment", "attachment": {"uploadId"}}`) that this conversation
 * does not have: unknown, expired, never uploaded, or uploaded with another size or type than declared. Nothing
 * was stored.
 */
export class InvalidUploadError extends MemoryError {
  readonly code = 'invalid_upload';
}

/** DynamoDB throttled or could not be reached, after retries. Safe to retry later. */
export class UnavailableError extends MemoryError {
  readonly code = 'unavailable';
  constructor(
    message: string,
    readonly retryAfterSeconds = 1,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * DynamoDB did not confirm whether a write was applied: an attempt's answer was lost, and the table no longer
 * shows which way it went (or could not be read). The write was applied at most once. Retrying with the same
 * idempotency key is safe; without a key, read the conversation before writing the same messages again.
 */
export class WriteOutcomeUnknownError extends UnavailableError {
  constructor(options?: ErrorOptions) {
    super(
      'DynamoDB did not confirm whether the write was applied (it was applied at most once). Retry with the same Idempotency-Key, or read the conversation before writing it again.',
      1,
      options,
    );
  }
}

/** Anything unexpected from DynamoDB (a bug or misconfiguration). Details stay in `cause`, for logs only. */
export class StoreFailureError extends MemoryError {
  readonly code = 'internal';
}

/**
 * A turn continuation's `toolResults` do not answer the pending tool calls exactly: an id of a pending call
 * has no result (`missing`), a result names no pending call (`unknown`), or an id comes twice (`duplicate`).
 * Nothing was stored.
 */
export class ToolResultsMismatchError extends MemoryError {
  readonly code = 'tool_results_mismatch';
  constructor(
    readonly mismatch: {
      readonly missing: readonly string[];
      readonly unknown: readonly string[];
      readonly duplicate: readonly string[];
    },
    options?: ErrorOptions,
  ) {
    const parts = [
      mismatch.missing.length > 0 ? `no result for ${mismatch.missing.join(', ')}` : '',
      mismatch.unknown.length > 0 ? `no pending call ${mismatch.unknown.join(', ')}` : '',
      mismatch.duplicate.length > 0 ? `more than one result for ${mismatch.duplicate.join(', ')}` : '',
    ].filter((part) => part.length > 0);
    super(`The tool results do not match the pending tool calls: ${parts.join('; ')}.`, options);
  }

  override get details() {
    return { ...this.mismatch };
  }
}

/**
 * A turn continuation arrived, but the conversation does not end with an assistant message whose tool calls
 * await results (they were answered already, or another message came after them). Nothing was stored.
 */
export class NoPendingToolCallsError extends MemoryError {
  readonly code = 'no_pending_tool_calls';
  constructor(
    readonly currentVersion: number,
    options?: ErrorOptions,
  ) {
    super(
      `The conversation (version ${currentVersion}) does not end with tool calls awaiting results.`,
      options,
    );
  }

  override get details() {
    return { currentVersion: this.currentVersion };
  }
}
