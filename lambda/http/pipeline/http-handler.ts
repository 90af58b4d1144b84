import type {
  APIGatewayProxyEvent,
  APIGatewayProxyStructuredResultV2,
  Context,
  StreamifyHandler,
} from 'aws-lambda';
import { VersionConflictError } from '../../memory/errors.js';
import { countConflict, logger, publishMetrics } from '../runtime/observability.js';
import { withSourceStack } from '../runtime/source-stacks.js';
import { corsHeaders, readCorsConfig } from './cors.js';
import type { HttpEvent } from './request.js';
import { errorResponse, type HttpResponse, isStreaming } from './responses.js';
import { httpEventOfRestApiRequest } from './rest-api-event.js';

export interface HttpRequest {
  readonly event: HttpEvent;
  /** The Lambda context, when the caller passed one (Lambda and the local server do; tests may not). */
  readonly context?: Context;
  /** Adds fields (conversationId, tenant, version, ...) to this request's log line. */
  readonly annotate: (fields: Record<string, unknown>) => void;
}

export type HttpOperation<R extends HttpRequest = HttpRequest> = (request: R) => Promise<HttpResponse>;

/** A Lambda handler. The context is optional: tests and embedders may call it with the event alone. */
export type HttpHandler = (event: HttpEvent, context?: Context) => Promise<APIGatewayProxyStructuredResultV2>;

/** A response-streaming Lambda handler behind an API Gateway REST API (`responseTransferMode: STREAM`). */
export type StreamingHttpHandler = StreamifyHandler<APIGatewayProxyEvent, void>;

/**
 * Turns an operation into a handler for API Gateway's HTTP API: maps any error through the one error
 * mapper, writes one log line per request (route, requestId, the operation's fields, statusCode, durationMs; a 5xx
 * with the error) and publishes the metrics. A streamed body is collected and answered whole (an HTTP API
 * cannot stream). The fields travel with the request rather than in Logger's shared keys, and the Lambda context
 * is set just before the line, so that concurrent requests in the local server never mix them up.
 */
export function httpHandler(routeId: string, operation: HttpOperation): HttpHandler {
  return async (event, context) => {
    const request = startRequest(routeId, event, context);
    const response = await request.respond(operation);
    let result: APIGatewayProxyStructuredResultV2 = response;
    if (isStreaming(response)) {
      let body = '';
      for await (const piece of response.pieces) body += piece;
      result = { statusCode: response.statusCode, headers: { ...response.headers }, body };
    }
    request.finish(response.statusCode);
    return result;
  };
}

/** Read once, at cold start: the streaming API's CORS (./cors.ts). */
const cors = readCorsConfig(process.env);

/**
 * The same for a response-streaming function behind a REST API: the event (payload format 1.0) is read as the
 * HTTP API's, and the answer is written through `awslambda.HttpResponseStream` (status and headers, the API's
 * CORS headers included, first, then the body as it is produced). A client that goes away does not stop the
 * operation: its pieces are read to the end, so the work behind them (a turn's commit) completes before the
 * invocation does.
 */
export function streamingHttpHandler(routeId: string, operation: HttpOperation): StreamingHttpHandler {
  return awslambda.streamifyResponse(async (restEvent, responseStream, context) => {
    const event = httpEventOfRestApiRequest(restEvent);
    const request = startRequest(routeId, event, context);
    const response = await request.respond(operation);
    const stream = awslambda.HttpResponseStream.from(responseStream, {
      statusCode: response.statusCode,
      headers: { ...corsHeaders(cors, event.headers.origin), ...response.headers },
    });
    // The prelude (status and headers) goes out with the first write, so the body always has one.
    if (isStreaming(response)) {
      for await (const piece of response.pieces) write(stream, piece);
    } else {
      write(stream, typeof response.body === 'string' && response.body.length > 0 ? response.body : ' ');
    }
    await new Promise<void>((resolve) => stream.end(resolve));
    request.finish(response.statusCode);
  });
}

/** Writes unless the stream broke (the client went away): what follows is still produced, and dropped. */
function write(stream: NodeJS.WritableStream & { destroyed?: boolean }, piece: string): void {
  if (stream.destroyed !== true) stream.write(piece);
}

function startRequest(routeId: string, event: HttpEvent, context: Context | undefined) {
  const started = performance.now();
  const requestId = event.requestContext?.requestId;
  const fields: Record<string, unknown> = { route: routeId, requestId };
  const annotate = (more: Record<string, unknown>) => {
    Object.assign(fields, more);
  };
  return {
    respond: async (operation: HttpOperation): Promise<HttpResponse> => {
      try {
        return await operation({ event, context, annotate });
      } catch (error) {
        if (error instanceof VersionConflictError) countConflict();
        const failure = errorResponse(error, requestId);
        if (failure.statusCode >= 500) fields.error = error;
        else fields.errorMessage = (error as Error).message;
        return failure;
      }
    },
    /** One log line and the metrics, once the answer is out (a stream's last piece included). */
    finish: (statusCode: number) => {
      fields.statusCode = statusCode;
      fields.durationMs = Math.round((performance.now() - started) * 10) / 10;
      // The Lambda context goes on the shared logger right before the line, with no await in between: the
      // local server runs requests of every route concurrently through this one logger.
      if (context) logger.addContext(context);
      if (statusCode >= 500 || fields.error !== undefined) {
        logger.error('request failed', { ...fields, error: withSourceStack(fields.error) });
      } else {
        logger.info('request handled', fields);
      }
      publishMetrics();
    },
  };
}
