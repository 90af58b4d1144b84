import { randomUUID } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { APIGatewayProxyResultV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { maxRequestBodyBytes } from '../lambda/http/contract/request-schemas.js';
import { type CorsConfig, corsHeaders } from '../lambda/http/pipeline/cors.js';
import { HttpError } from '../lambda/http/pipeline/http-errors.js';
import { errorResponse } from '../lambda/http/pipeline/responses.js';
import { UnavailableError } from '../lambda/memory/errors.js';
import { conversationIdSchema, limits } from '../lambda/memory/message.js';
import { apiGatewayEvent, lambdaContext, matchRoute, restApiEvent } from './api-gateway-event.js';
import type { HandlerModules, LambdaHttpHandler } from './handler-modules.js';
import { isStreamingHandler, LambdaResponseStream, type ResponseSink } from './lambda-response-streaming.js';
import { ClientClosedRequestError, readRequestBody } from './request-body.js';
import type { WriteFence } from './write-fence.js';

/** The tenant of requests without X-Tenant-Id. */
export const defaultTenant = 'local';

export interface ApiGatewayServerOptions {
  readonly handlers: HandlerModules;
  /** Awaited after every successful POST/PATCH/DELETE, before the answer leaves. */
  readonly writeFence: WriteFence;
  /** Called when a write left the conversation's head marked `summaryDue` (the compactor's wake). */
  readonly onSummaryDue?: (tenant: string, conversationId: string) => void;
  readonly log: (line: string) => void;
  readonly logError: (line: string, error: unknown) => void;
  /** CORS for browsers on other origins (a page of `next dev` calling the chat route), as API Gateway adds it. */
  readonly cors?: CorsConfig;
}

type Tenant = { readonly ok: true; readonly tenant: string } | { readonly ok: false };

/** X-Tenant-Id follows the conversation id rules; one header at most. */
function tenantOf(request: IncomingMessage): Tenant {
  const values = request.headersDistinct['x-tenant-id'];
  if (values === undefined) return { ok: true, tenant: defaultTenant };
  const [value] = values;
  return values.length === 1 && value !== undefined && conversationIdSchema.safeParse(value).success
    ? { ok: true, tenant: value }
    : { ok: false };
}

/** What API Gateway makes of a handler's return value (payload format 2.0). */
function structuredResult(result: APIGatewayProxyResultV2): APIGatewayProxyStructuredResultV2 {
  if (typeof result === 'object' && result !== null && 'statusCode' in result) {
    return result as APIGatewayProxyStructuredResultV2;
  }
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json' },
    body: typeof result === 'string' ? result : JSON.stringify(result),
  };
}

function send(response: ServerResponse, result: APIGatewayProxyStructuredResultV2, requestId: string): void {
  response.statusCode = result.statusCode ?? 200;
  for (const [name, value] of Object.entries(result.headers ?? {})) response.setHeader(name, String(value));
  if (result.cookies && result.cookies.length > 0) response.setHeader('set-cookie', result.cookies);
  response.setHeader('apigw-requestid', requestId);
  const body = result.body ?? '';
  response.end(result.isBase64Encoded ? Buffer.from(body, 'base64') : body);
}

/** A string field of a JSON body, if the body is JSON and has it (the handler validates the body itself). */
function bodyField(body: string | undefined, field: string): string | undefined {
  try {
    const value = (JSON.parse(body ?? '') as Record<string, unknown> | null)?.[field];
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

function isSuccessfulWrite(method: string, statusCode: number | undefined): boolean {
  const status = statusCode ?? 200;
  return (method === 'POST' || method === 'PATCH' || method === 'DELETE') && status >= 200 && status < 300;
}

/**
 * What may say that a write is committed in an event stream: a turn's last event (`done` or `error`), or a
 * UI message stream's `finish` or `error` chunk (the chat route).
 */
const finalServerSentEvent = /^event: (done|error)\n|^data: \{"type":"(finish|error)"/m;

/**
 * Plays the streaming REST API's part between a response-streaming handler and the client: status and headers
 * from the handler's metadata, then the body as it comes. The write fence holds back what says a write is
 * stored: the body of a successful write, or an event stream's final event. A client that went away gets
 * nothing more, but the handler runs to its end, as in Lambda.
 */
function streamingSink(
  response: ServerResponse,
  requestId: string,
  method: string,
  awaitDurable: (() => Promise<void>) | undefined,
): ResponseSink {
  let head: { statusCode: number; headers: Record<string, string> } | undefined;
  let bodyStarted = false;
  const fenced = async (chunk: Buffer): Promise<boolean> => {
    if (awaitDurable === undefined || !isSuccessfulWrite(method, head?.statusCode)) return true;
    const eventStream = /^text\/event-stream/i.test(head?.headers['content-type'] ?? '');
    if (eventStream ? !finalServerSentEvent.test(chunk.toString('utf8')) : bodyStarted) return true;
    try {
      await awaitDurable();
      return true;
    } catch (error) {
      const failure = errorResponse(error, requestId);
      if (!response.headersSent) send(response, failure, requestId);
      else if (!response.destroyed) response.end(`event: error\ndata: ${failure.body}\n\n`);
      return false;
    }
  };
  return {
    head(metadata) {
      head = {
        statusCode: metadata.statusCode ?? 200,
        headers: Object.fromEntries(
          Object.entries(metadata.headers ?? {}).map(([name, value]) => [name.toLowerCase(), String(value)]),
        ),
      };
    },
    async body(chunk) {
      if (!(await fenced(chunk)) || response.destroyed || response.writableEnded) return;
      if (!response.headersSent && head) {
        response.statusCode = head.statusCode;
        for (const [name, value] of Object.entries(head.headers)) response.setHeader(name, value);
        response.setHeader('apigw-requestid', requestId);
      }
      bodyStarted = true;
      response.write(chunk);
    },
    end() {
      if (response.destroyed || response.writableEnded) return;
      if (!response.headersSent)
        send(response, { statusCode: head?.statusCode ?? 200, headers: head?.headers }, requestId);
      else response.end();
    },
  };
}
/**
 * The request listener of an HTTP server that plays API Gateway's part in front of the Lambda handlers: it
 * matches the routes table, builds the v2 event (tenant from X-Tenant-Id as the JWT `sub` claim), invokes the
 * route's handler module and writes its result back. One log line per request.
 */
export function apiGateway(options: ApiGatewayServerOptions): RequestListener {
  const { handlers, writeFence, onSummaryDue, log, logError, cors } = options;

  async function answer(
    request: IncomingMessage,
    response: ServerResponse,
    requestId: string,
    trace: { tenant: string | undefined },
  ): Promise<APIGatewayProxyStructuredResultV2 | 'streamed'> {
    const receivedAt = new Date();
    const method = request.method ?? 'GET';
    const url = request.url ?? '/';
    const queryStart = url.indexOf('?');
    const rawPath = queryStart < 0 ? url : url.slice(0, queryStart);
    const rawQueryString = queryStart < 0 ? '' : url.slice(queryStart + 1);
    const match = matchRoute(method, rawPath);

    // Read to the end before any answer, also for requests that are rejected. A body of messages may be as large
    // as Lambda takes (its handler holds it to 1 MiB when the server keeps no attachments).
    const limit =
      match.kind === 'route' && match.route.body === 'messages'
        ? limits.contentRequestBytes
        : maxRequestBodyBytes;
    const body = await readRequestBody(request, limit);
    if (body.tooLarge) {
      throw new HttpError(
        'payload_too_large',
        `The request body is ${body.receivedBytes} bytes; the limit is ${limit}${limit === maxRequestBodyBytes ? ' (1 MiB)' : ''}.`,
      );
    }
    const isPublic = match.kind === 'route' && match.route.public === true;
    if (!isPublic) {
      const tenant = tenantOf(request);
      if (!tenant.ok) {
        throw new HttpError(
          'invalid_request',
          'X-Tenant-Id must be one header of 1-256 characters of A-Z a-z 0-9 . _ : @ -',
        );
      }
      trace.tenant = tenant.tenant;
    }

    const gatewayRequest = {
      request,
      rawPath,
      rawQueryString,
      match,
      body: body.bytes.length > 0 ? body.bytes.toString('utf8') : undefined,
      tenant: trace.tenant,
      requestId,
      receivedAt,
    };
    const conversationId =
      match.kind !== 'route'
        ? undefined
        : match.route.conversationIdField === undefined
          ? match.pathParameters.conversationId
          : bodyField(gatewayRequest.body, match.route.conversationIdField);
    const tenant = trace.tenant;
    // When the fence fails, the write is applied and only its durability unconfirmed. A caller who can send it
    // again safely (same Idempotency-Key, or a delete) is told to; one who cannot gets its result: a failure
    // would only lead it to write the same thing twice.
    const retrySafe = method === 'DELETE' || request.headers['idempotency-key'] !== undefined;
    const awaitDurable =
      tenant === undefined || conversationId === undefined
        ? undefined
        : async () => {
            try {
              const head = await writeFence.awaitDurable(tenant, conversationId);
              if (head.summaryDue) onSummaryDue?.(tenant, conversationId);
            } catch (error) {
              if (retrySafe) {
                throw new UnavailableError(
                  'The write was applied, but DynamoDB Local did not confirm that it reached its disk. Send it again (with the same Idempotency-Key): the retry is answered from what was stored.',
                  1,
                  { cause: error },
                );
              }
              logError(
                `${method} ${rawPath}: applied, but DynamoDB Local did not confirm it reached its disk`,
                error,
              );
            }
          };

    const streamingEntry = match.kind === 'route' ? match.route.streamingEntry : undefined;
    if (streamingEntry !== undefined) {
      const handler = handlers.get(streamingEntry);
      if (!isStreamingHandler(handler)) throw new Error(`No streaming handler loaded for ${streamingEntry}`);
      const stream = new LambdaResponseStream(streamingSink(response, requestId, method, awaitDurable));
      await handler(restApiEvent(gatewayRequest), stream, lambdaContext(match.route.id)).catch(
        (error: unknown) => {
          // As the runtime does when a handler fails: before any output an error answer, after it a cut response.
          if (!response.headersSent) throw error;
          response.destroy();
        },
      );
      if (!stream.writableFinished)
        throw new Error('The streaming handler returned before ending its response.');
      return 'streamed';
    }

    const entry = match.route.entry as string;
    const handler = handlers.get(entry) as LambdaHttpHandler | undefined;
    if (!handler) throw new Error(`No handler module loaded for ${entry}`);
    const result = structuredResult(
      await handler(apiGatewayEvent(gatewayRequest), lambdaContext(match.route.id)),
    );
    if (awaitDurable !== undefined && isSuccessfulWrite(method, result.statusCode)) await awaitDurable();
    return result;
  }

  return (request, response) => {
    const started = performance.now();
    const requestId = randomUUID();
    const trace: { tenant: string | undefined } = { tenant: undefined };
    const method = request.method ?? 'GET';
    const path = (request.url ?? '/').split('?')[0];
    // CORS as API Gateway does it: the preflight answered here, the headers on every answer (a handler's too).
    for (const [name, value] of Object.entries(corsHeaders(cors, request.headers.origin))) {
      response.setHeader(name, value);
    }
    const preflight = request.headers['access-control-request-method'];
    if (cors !== undefined && method === 'OPTIONS' && preflight !== undefined) {
      response.writeHead(204, {
        'access-control-allow-methods': preflight,
        'access-control-allow-headers': request.headers['access-control-request-headers'] ?? '',
        'access-control-max-age': '600',
      });
      response.end();
      return;
    }
    response.once('finish', () => {
      const ms = Math.round(performance.now() - started);
      log(`${method} ${path} ${response.statusCode} ${ms}ms tenant=${trace.tenant ?? '-'}`);
    });
    response.once('close', () => {
      if (response.writableFinished || !response.headersSent) return;
      const ms = Math.round(performance.now() - started);
      log(
        `${method} ${path} ${response.statusCode} closed by the client after ${ms}ms tenant=${trace.tenant ?? '-'}`,
      );
    });
    answer(request, response, requestId, trace).then(
      (result) => {
        if (result !== 'streamed') send(response, result, requestId);
      },
      (error: unknown) => {
        if (error instanceof ClientClosedRequestError || response.destroyed) {
          log(`${method} ${path} aborted by the client tenant=${trace.tenant ?? '-'}`);
          return;
        }
        // The gateway's own rejections are 4xx; anything else is logged here and answered without details.
        if (!(error instanceof HttpError)) logError(`${method} ${path} failed`, error);
        send(response, errorResponse(error, requestId), requestId);
      },
    );
  };
}
