import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { HttpEvent } from './request.js';

/**
 * A REST API proxy event (payload format 1.0, what the streaming front sends) as the HTTP API event every handler
 * reads, so that parsing, validation and tenancy are the same code for both fronts. The identity maps onto the
 * HTTP API's authorizer shapes, so ./tenancy.ts applies its one rule:
 * - our JWT authorizer (a Lambda authorizer, lib/streaming-api.ts) passes the verified token's claims as the
 *   JSON string `claims` of its context -> `authorizer.jwt.claims`;
 * - IAM authorization fills `identity.userArn` (and `cognitoIdentityId` for identity pool credentials) ->
 *   `authorizer.iam`.
 * Neither comes from the request: API Gateway writes both.
 */
export function httpEventOfRestApiRequest(event: APIGatewayProxyEvent): HttpEvent {
  const { requestContext } = event;
  const headers: Record<string, string> = {};
  for (const [name, values] of Object.entries(event.multiValueHeaders ?? {})) {
    if (values) headers[name.toLowerCase()] = values.join(',');
  }
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value !== undefined && !(name.toLowerCase() in headers)) headers[name.toLowerCase()] = value;
  }
  const query = Object.entries(event.multiValueQueryStringParameters ?? event.queryStringParameters ?? {});
  const queryStringParameters = Object.fromEntries(
    query.map(([name, value]) => [name, Array.isArray(value) ? value.join(',') : (value ?? '')]),
  );
  const routeKey = `${event.httpMethod} ${event.resource}`;
  return {
    version: '2.0',
    routeKey,
    rawPath: event.path,
    rawQueryString: new URLSearchParams(queryStringParameters).toString(),
    headers,
    ...(query.length > 0 ? { queryStringParameters } : {}),
    ...(event.pathParameters ? { pathParameters: event.pathParameters as Record<string, string> } : {}),
    ...(event.body === null ? {} : { body: event.body }),
    isBase64Encoded: event.isBase64Encoded,
    requestContext: {
      accountId: requestContext.accountId,
      apiId: requestContext.apiId,
      domainName: requestContext.domainName ?? '',
      domainPrefix: requestContext.domainPrefix ?? '',
      http: {
        method: event.httpMethod,
        path: event.path,
        protocol: requestContext.protocol,
        sourceIp: requestContext.identity?.sourceIp ?? '',
        userAgent: requestContext.identity?.userAgent ?? '',
      },
      requestId: requestContext.requestId,
      routeKey,
      stage: requestContext.stage,
      time: requestContext.requestTime ?? '',
      timeEpoch: requestContext.requestTimeEpoch,
      ...authorizerOf(event),
    },
  };
}

function authorizerOf(event: APIGatewayProxyEvent): { authorizer?: unknown } {
  const { authorizer, identity } = event.requestContext;
  const claims = authorizer?.claims;
  if (typeof claims === 'string') {
    try {
      return { authorizer: { jwt: { claims: JSON.parse(claims) as unknown } } };
    } catch {
      return {};
    }
  }
  if (identity?.userArn || identity?.cognitoIdentityId) {
    return {
      authorizer: {
        iam: {
          userArn: identity.userArn,
          cognitoIdentity: identity.cognitoIdentityId ? { identityId: identity.cognitoIdentityId } : null,
        },
      },
    };
  }
  return {};
}
