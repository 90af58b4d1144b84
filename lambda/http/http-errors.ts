import type { ErrorCode } from './api-schemas.js';

/**
 * An error of the HTTP layer itself (authentication, routing, request parsing), as opposed to the store's
 * MemoryError. Its message is written for the client: every HttpError is a 4xx.
 */
export class HttpError extends Error {
  constructor(
    readonly code: Exclude<
      ErrorCode,
      'internal' | 'unavailable' | 'throttled' | 'model_error' | 'model_timeout'
    >,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}
