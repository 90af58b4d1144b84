import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { type ErrorCode, errorStatus } from '../../memory/error-codes.js';
import { MemoryError, UnavailableError } from '../../memory/errors.js';
import type { ErrorBody } from '../contract/response-schemas.js';
import { HttpError } from './http-errors.js';

/** A response whose body is known when it is returned. */
export type BufferedHttpResponse = APIGatewayProxyStructuredResultV2 & { statusCode: number };

/**
 * A response whose status and headers are known when it is returned, and whose body follows in pieces as they are
 * produced (an event stream). Read the pieces to the end: the work behind them does not stop when the client
 * goes away.
 */
export interface StreamingHttpResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly pieces: AsyncIterable<string>;
}

export type HttpResponse = BufferedHttpResponse | StreamingHttpResponse;

export function isStreaming(response: HttpResponse): response is StreamingHttpResponse {
  return 'pieces' in response;
}

export function jsonResponse(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): BufferedHttpResponse {
  return {
    statusCode,
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}

/** A keyed write's answer: `status` when it was applied now, `200` + `Idempotent-Replayed: true` on a replay. */
export function writeResponse(replayed: boolean, status: number, body: unknown): BufferedHttpResponse {
  return replayed ? jsonResponse(200, body, { 'Idempotent-Replayed': 'true' }) : jsonResponse(status, body);
}

export function noContent(): BufferedHttpResponse {
  return { statusCode: 204 };
}

/**
 * The one mapping from errors to the contract's error bodies. A MemoryError (the store's, the agent's
 * ModelError and ModelTimeoutError, the HTTP layer's HttpError) carries the contract's code, a message written for
 * the client and the body's details, so it is explained, never with its cause; anything else, including the
 * store's `internal` failures, is `500 internal` with a generic message: its details go to the logs only.
 */
export function errorResponse(error: unknown, requestId: string | undefined): BufferedHttpResponse {
  if (error instanceof MemoryError && error.code !== 'internal') {
    return errorBody(error.code, error.message, error.details, headersOf(error));
  }
  return errorBody(
    'internal',
    'The server failed to handle the request.',
    requestId === undefined ? {} : { requestId },
  );
}

function headersOf(error: MemoryError): Record<string, string> {
  if (error instanceof UnavailableError) return { 'Retry-After': String(error.retryAfterSeconds) };
  if (error instanceof HttpError) return { ...error.headers };
  return {};
}

function errorBody(
  code: ErrorCode,
  message: string,
  details: Readonly<Record<string, unknown>>,
  headers: Record<string, string> = {},
): BufferedHttpResponse {
  const body: ErrorBody = { error: { ...details, code, message } };
  return jsonResponse(errorStatus[code], body, headers);
}
