import type { APIGatewayEventRequestContextV2, APIGatewayProxyEventV2WithRequestContext } from 'aws-lambda';
import { jsonDepth } from '../../memory/message.js';
import { describeIssues } from '../../validation/issues.js';
import type * as z from '../../validation/zod.js';
import { maxBodyDepth, maxRequestBodyBytes } from '../contract/request-schemas.js';
import { HttpError } from './http-errors.js';
import { decodePathParameter } from './route-matching.js';

/**
 * An API Gateway HTTP API event (payload format 2.0). The authorizer's shape depends on the deployment (JWT or
 * IAM) and the local server's stand-in; ./tenancy.ts validates it.
 */
export type HttpEvent = APIGatewayProxyEventV2WithRequestContext<
  APIGatewayEventRequestContextV2 & { authorizer?: unknown }
>;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads the body as JSON, rejects it when over `maxBytes` (413; the routes that take messages pass the store's
 * ../runtime/store.ts messagesBodyBytes), not JSON or nested deeper than `maxBodyDepth` (400), and
 * validates it with `schema`. Returns the JSON as sent, not zod's output: zod rebuilds objects, which would
 * reorder keys and drop some (`__proto__`), and the contract stores messages exactly as sent.
 */
export function parseJsonBody<S extends z.ZodMiniType>(
  event: HttpEvent,
  schema: S,
  maxBytes = maxRequestBodyBytes,
): z.input<S> {
  const text = bodyText(event, maxBytes);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new HttpError('invalid_request', `The request body is not valid JSON: ${(error as Error).message}`);
  }
  // Before validation: the store serializes messages recursively, so hostile nesting must stop here.
  if (jsonDepth(json) > maxBodyDepth) {
    throw new HttpError('invalid_request', `The request body is nested deeper than ${maxBodyDepth} levels.`);
  }
  const result = schema.safeParse(json);
  if (!result.success)
    throw new HttpError('invalid_request', `Invalid request body: ${describe(result.error)}`);
  return json as z.input<S>;
}

/** Path parameters, URL-decoded as API Gateway does (the local server passes them decoded already). */
export function parsePathParameters<S extends z.ZodMiniType>(event: HttpEvent, schema: S): z.output<S> {
  const decoded = Object.fromEntries(
    Object.entries(event.pathParameters ?? {}).map(([name, value]) => [
      name,
      value && decodePathParameter(value),
    ]),
  );
  const result = schema.safeParse(decoded);
  if (!result.success) throw new HttpError('invalid_request', `Invalid path: ${describe(result.error)}`);
  return result.data;
}

/**
 * A write route's headers and body, each validated with the route's contract (../contract/request-schemas.ts `requests`);
 * the body as sent (see parseJsonBody).
 */
export function parseWrite<H extends z.ZodMiniType, B extends z.ZodMiniType>(
  event: HttpEvent,
  request: { readonly headers: H; readonly body: B },
  maxBodyBytes?: number,
): { headers: z.output<H>; body: z.input<B> } {
  return {
    headers: parseHeaders(event, request.headers),
    body: parseJsonBody(event, request.body, maxBodyBytes),
  };
}

/** The query string; API Gateway joins a repeated parameter with commas, which no integer schema accepts. */
export function parseQuery<S extends z.ZodMiniType>(event: HttpEvent, schema: S): z.output<S> {
  const result = schema.safeParse(event.queryStringParameters ?? {});
  if (!result.success)
    throw new HttpError('invalid_request', `Invalid query string: ${describe(result.error)}`);
  return result.data;
}

/** Headers by lower-case name (API Gateway lower-cases them already; other callers may not). */
export function parseHeaders<S extends z.ZodMiniType>(event: HttpEvent, schema: S): z.output<S> {
  const headers = Object.fromEntries(
    Object.entries(event.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]),
  );
  const result = schema.safeParse(headers);
  if (!result.success) throw new HttpError('invalid_request', `Invalid header: ${describe(result.error)}`);
  return result.data;
}

function bodyText(event: HttpEvent, maxBytes: number): string {
  const body = event.body ?? '';
  const bytes = event.isBase64Encoded ? Buffer.from(body, 'base64') : undefined;
  const size = bytes?.byteLength ?? Buffer.byteLength(body);
  if (size > maxBytes) {
    throw new HttpError(
      'payload_too_large',
      `The request body is ${size} bytes; the limit is ${maxBytes}${maxBytes === maxRequestBodyBytes ? ' (1 MiB)' : ''}.`,
    );
  }
  if (bytes === undefined) return body;
  try {
    return utf8.decode(bytes);
  } catch {
    throw new HttpError('invalid_request', 'The request body is not valid UTF-8.');
  }
}

function describe(error: z.core.$ZodError): string {
  return `${describeIssues(error)}.`;
}
