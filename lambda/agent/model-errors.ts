import { MemoryError } from '../memory/errors.js';

/**
 * The model provider failed (an error status, throttling, a rejected request, an unreadable answer).
 * HTTP `502 model_error`. The message is written for clients; the provider's own error is the `cause`,
 * for logs only. Nothing was stored.
 */
export class ModelError extends MemoryError {
  readonly code = 'model_error';
}

/** The model did not answer before the turn's deadline. HTTP `504 model_timeout`. Nothing was stored. */
export class ModelTimeoutError extends MemoryError {
  readonly code = 'model_timeout';
  constructor(
    readonly timeoutMs: number | undefined,
    options?: ErrorOptions,
  ) {
    super(
      timeoutMs === undefined
        ? 'The model did not answer in time.'
        : `The model did not answer within ${timeoutMs} ms.`,
      options,
    );
  }
}
