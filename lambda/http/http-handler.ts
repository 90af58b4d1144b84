import type { APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { VersionConflictError } from '../memory/errors.js';
import { countConflict, logger, publishMetrics, tracer } from './observability.js';
import type { HttpEvent } from './request.js';
import { errorResponse, type HttpResponse } from './responses.js';

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

/**
 * Turns an operation into a handler: traces it, maps any error through the one error mapper, writes one log line
 * per request (route, requestId, the operation's fields, statusCode, durationMs; a 5xx with the error) and
 * publishes the metrics. The fields travel with the request rather than in Logger's shared keys, so that
 * concurrent requests in the local server never mix them up.
 */
export function httpHandler(routeId: string, operation: HttpOperation): HttpHandler {
  return async (event, context) => {
    const started = performance.now();
    if (context) logger.addContext(context);
    const requestId = event.requestContext?.requestId;
    const fields: Record<string, unknown> = { route: routeId, requestId };
    const annotate = (more: Record<string, unknown>) => {
      Object.assign(fields, more);
    };

    const response = await traced(routeId, async () => {
      try {
        return await operation({ event, context, annotate });
      } catch (error) {
        if (error instanceof VersionConflictError) countConflict();
        const failure = errorResponse(error, requestId);
        if (failure.statusCode >= 500) {
          if (error instanceof Error) tracer.addErrorAsMetadata(error);
          fields.error = error;
        } else {
          fields.errorMessage = (error as Error).message;
        }
        return failure;
      }
    });

    fields.statusCode = response.statusCode;
    fields.durationMs = Math.round((performance.now() - started) * 10) / 10;
    if (response.statusCode >= 500) logger.error('request failed', fields);
    else logger.info('request handled', fields);
    publishMetrics();
    return response;
  };
}

/** Runs the operation in its own X-Ray subsegment when tracing is on (in Lambda only). */
async function traced(routeId: string, run: () => Promise<HttpResponse>): Promise<HttpResponse> {
  if (!tracer.isTracingEnabled()) return run();
  return (await tracer.provider.captureAsyncFunc(`## ${routeId}`, async (subsegment) => {
    tracer.annotateColdStart();
    tracer.addServiceNameAnnotation();
    try {
      return await run();
    } finally {
      subsegment?.close();
    }
  })) as HttpResponse;
}
