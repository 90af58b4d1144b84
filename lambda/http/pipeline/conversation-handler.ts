import { conversationPathSchema } from '../contract/request-schemas.js';
import { config } from '../runtime/config.js';
import { type HttpHandler, type HttpOperation, type HttpRequest, httpHandler } from './http-handler.js';
import { parsePathParameters } from './request.js';
import { tenantOf } from './tenancy.js';

export interface ConversationRequest extends HttpRequest {
  /** From the authorizer, never from the request. */
  readonly tenant: string;
  readonly conversationId: string;
}

/** A handler for a `/v1/conversations/{conversationId}...` route: the tenant first (401/403), then the id (400). */
export function conversationHandler(
  routeId: string,
  operation: HttpOperation<ConversationRequest>,
): HttpHandler {
  return httpHandler(routeId, conversationOperation(operation));
}

/** The operation of such a route, for a handler of another front (./http-handler.ts, streamingHttpHandler). */
export function conversationOperation(operation: HttpOperation<ConversationRequest>): HttpOperation {
  return async (request) => {
    const tenant = tenantOf(request.event, config.tenantClaim);
    request.annotate({ tenant });
    const { conversationId } = parsePathParameters(request.event, conversationPathSchema);
    request.annotate({ conversationId });
    return operation({ ...request, tenant, conversationId });
  };
}
