import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import {
  MemoryError,
  SuffixMismatchError,
  UnavailableError,
  VersionConflictError,
} from '../memory/errors.js';
import { type ErrorBody, type ErrorCode, errorStatus } from './api-schemas.js';
import { HttpError } from './http-errors.js';

export type HttpResponse = APIGatewayProxyStructuredResultV2 & { statusCode: number };

export function jsonResponse(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): HttpResponse {
  return {
    statusCode,
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}

/** A keyed write's answer: `status` when it was applied now, `200` + `Idempotent-Replayed: true` on a replay. */
export function writeResponse(replayed: boolean, status: number, body: unknown): HttpResponse {
  return replayed ? jsonResponse(200, body, { 'Idempotent-Replayed': 'true' }) : jsonResponse(status, body);
}

export function noContent(): HttpResponse {
  return { statusCode: 204 };
}

/**
 * The one mapping from errors to the contract's error bodies. HttpError and MemoryError (the agent's ModelError
 * and ModelTimeoutError included) carry the contract's code and a message written for the client, so they are
 * explained, never with their cause; anything else, including the store's `internal` failures, is
 * `500 internal` with a generic message: its details go to the logs only.
 */
export function errorResponse(error: unknown, requestId: string | undefined): HttpResponse {
  if (error instanceof HttpError) {
    return errorBody(error.code, error.message, {}, error.headers);
  }
  if (error instanceof VersionConflictError || error instanceof SuffixMismatchError) {
    return errorBody(error.code, error.message, { currentVersion: error.currentVersion });
  }
  if (error instanceof UnavailableError) {
    return errorBody('unavailable', error.message, {}, { 'Retry-After': String(error.retryAfterSeconds) });
  }
  if (error instanceof MemoryError && error.code !== 'internal' && isErrorCode(error.code)) {
    return errorBody(error.code, error.message);
  }
  return errorBody(
    'internal',
    'The server failed to handle the request.',
    requestId === undefined ? {} : { requestId },
  );
}

function errorBody(
  code: ErrorCode,
  message: string,
  details: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): HttpResponse {
  const body: ErrorBody = { error: { ...details, code, message } };
  return jsonResponse(errorStatus[code], body, headers);
}

function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(errorStatus, code);
}
