import { conversationPathSchema } from '../contract/request-schemas.js';
import { config } from '../runtime/config.js';
import { type HttpHandler, type HttpOperation, type HttpRequest, httpHandler } from './http-handler.js';
import { parsePathParameters } from './request.js';
import { tenantOf } from './tenancy.js';

export interface TenantRequest extends HttpRequest {
  /** From the authorizer, never from the request. */
  readonly tenant: string;
}

export interface ConversationRequest extends TenantRequest {
  readonly conversationId: string;
}

/** A handler for a route of the caller's tenant as a whole (`/v1/conversations`): the tenant first (401/403). */
export function tenantHandler(routeId: string, operation: HttpOperation<TenantRequest>): HttpHandler {
  return httpHandler(routeId, tenantOperation(operation));
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
  return tenantOperation(async (request) => {
    const { conversationId } = parsePathParameters(request.event, conversationPathSchema);
    request.annotate({ conversationId });
    return operation({ ...request, conversationId });
  });
}

function tenantOperation(operation: HttpOperation<TenantRequest>): HttpOperation {
  return async (request) => {
    const tenant = tenantOf(request.event, config.tenantClaim);
    request.annotate({ tenant });
    return operation({ ...request, tenant });
  };
}
