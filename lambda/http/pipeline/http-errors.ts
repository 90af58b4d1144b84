import type { ErrorCode } from '../../memory/error-codes.js';
import { MemoryError } from '../../memory/errors.js';

/**
 * An error of the HTTP layer itself (authentication, routing, request parsing), as opposed to the store's.
 * Its message is written for the client: every HttpError is a 4xx, answered with its headers (`Allow`).
 */
export class HttpError extends MemoryError {
  constructor(
    readonly code: Exclude<
      ErrorCode,
      'internal' | 'unavailable' | 'throttled' | 'model_error' | 'model_timeout'
    >,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}
