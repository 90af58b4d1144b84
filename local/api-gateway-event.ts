import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2WithJWTAuthorizer, Context } from 'aws-lambda';
import { decodePathParameter, findRoute } from '../lambda/http/pipeline/route-matching.js';
import { fallbackRoute, type RouteDefinition } from '../lambda/http/routes.js';

/** What API Gateway would pick for a request: a route of the table, or the `$default` fallback. */
export type MatchedRoute =
  | {
      readonly kind: 'route';
      readonly route: RouteDefinition;
      readonly routeKey: string;
      /** Decoded, as API Gateway hands them over. */
      readonly pathParameters: Record<string, string>;
    }
  | { readonly kind: 'fallback'; readonly route: typeof fallbackRoute; readonly routeKey: '$default' };

/** Matches method and raw (still percent-encoded) path against the routes table, with the handlers' matcher. */
export function matchRoute(method: string, rawPath: string): MatchedRoute {
  const match = findRoute(method, rawPath);
  if (match.kind !== 'found') return { kind: 'fallback', route: fallbackRoute, routeKey: '$default' };
  const pathParameters = Object.fromEntries(
    Object.entries(match.pathParameters).map(([name, raw]) => [name, decodePathParameter(raw)]),
  );
  return {
    kind: 'route',
    route: match.route,
    routeKey: `${match.route.method} ${match.route.path}`,
    pathParameters,
  };
}

/** API Gateway's integration timeout: the longest a handler may run behind an HTTP API. */
const integrationTimeoutMs = 29_000;

export interface GatewayRequest {
  readonly request: IncomingMessage;
  readonly rawPath: string;
  readonly rawQueryString: string;
  readonly match: MatchedRoute;
  /** UTF-8 text of the body; absent when the request had none. */
  readonly body: string | undefined;
  /** The caller's tenant, for routes behind the authorizer; absent on public routes. */
  readonly tenant: string | undefined;
  readonly requestId: string;
  readonly receivedAt: Date;
}

/** API Gateway v2 joins a repeated header or query parameter with commas. */
function joinRepeated(entries: Iterable<[string, string]>): Record<string, string> {
  const joined: Record<string, string> = {};
  for (const [name, value] of entries) joined[name] = name in joined ? `${joined[name]},${value}` : value;
  return joined;
}

/** `12/Mar/2020:19:03:58 +0000`, the format of requestContext.time. */
function apiGatewayTime(date: Date): string {
  const [, day, month, year, time] = /^\w+, (\d\d) (\w+) (\d+) ([\d:]+) GMT$/.exec(date.toUTCString()) ?? [];
  return `${day}/${month}/${year}:${time} +0000`;
}

/**
 * The payload format 2.0 event that API Gateway's HTTP API hands a Lambda function for this request, with
 * a JWT authorizer context whose `sub` claim is the tenant (the handlers run with TENANT_CLAIM=sub).
 */
export function apiGatewayEvent(input: GatewayRequest): APIGatewayProxyEventV2WithJWTAuthorizer {
  const { request, rawPath, rawQueryString, match, body, tenant, requestId, receivedAt } = input;
  const method = request.method ?? 'GET';
  const headerEntries: Array<[string, string]> = [];
  let cookies: string[] | undefined;
  for (const [name, values] of Object.entries(request.headersDistinct)) {
    if (!values) continue;
    if (name === 'cookie') {
      cookies = values.flatMap((value) => value.split(/;\s*/)).filter((cookie) => cookie.length > 0);
      continue;
    }
    for (const value of values) headerEntries.push([name, value]);
  }
  const headers = joinRepeated(headerEntries);
  const query = joinRepeated(new URLSearchParams(rawQueryString).entries());
  const domainName = headers.host ?? '127.0.0.1';
  const event = {
    version: '2.0',
    routeKey: match.routeKey,
    rawPath,
    rawQueryString,
    ...(cookies ? { cookies } : {}),
    headers,
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    ...(match.kind === 'route' && Object.keys(match.pathParameters).length > 0
      ? { pathParameters: match.pathParameters }
      : {}),
    ...(body === undefined ? {} : { body }),
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName,
      domainPrefix: domainName.split('.')[0] ?? domainName,
      http: {
        method,
        path: rawPath,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId,
      routeKey: match.routeKey,
      stage: '$default',
      time: apiGatewayTime(receivedAt),
      timeEpoch: receivedAt.getTime(),
      ...(tenant === undefined ? {} : { authorizer: { jwt: { claims: { sub: tenant }, scopes: [] } } }),
    },
  };
  // Public routes have no authorizer context, exactly as behind API Gateway.
  return event as APIGatewayProxyEventV2WithJWTAuthorizer;
}

/** The Lambda context a handler receives, for a function named after its route. */
export function lambdaContext(functionId: string): Context {
  const functionName = `agent-memory-local-${functionId}`;
  const deadline = Date.now() + integrationTimeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

/**
 * The payload format 1.0 event that API Gateway's REST API (the stack's streaming front) hands a function for
 * this request, with the context our JWT authorizer adds: the verified claims as a JSON string, `sub` being
 * the tenant (the handlers run with TENANT_CLAIM=sub).
 */
export function restApiEvent(input: GatewayRequest): APIGatewayProxyEvent {
  const { request, rawPath, rawQueryString, match, body, tenant, requestId, receivedAt } = input;
  const method = request.method ?? 'GET';
  const multiValueHeaders: Record<string, string[]> = {};
  for (const [name, values] of Object.entries(request.headersDistinct)) {
    if (values) multiValueHeaders[name] = values;
  }
  const headers = Object.fromEntries(
    Object.entries(multiValueHeaders).map(([name, values]) => [name, values.at(-1) as string]),
  );
  const multiValueQuery: Record<string, string[]> = {};
  for (const [name, value] of new URLSearchParams(rawQueryString)) {
    multiValueQuery[name] = [...(multiValueQuery[name] ?? []), value];
  }
  const resource = match.kind === 'route' ? match.route.path : '/{proxy+}';
  const hasQuery = Object.keys(multiValueQuery).length > 0;
  return {
    resource,
    path: rawPath,
    httpMethod: method,
    headers,
    multiValueHeaders,
    queryStringParameters: hasQuery
      ? Object.fromEntries(
          Object.entries(multiValueQuery).map(([name, values]) => [name, values.at(-1) ?? '']),
        )
      : null,
    multiValueQueryStringParameters: hasQuery ? multiValueQuery : null,
    pathParameters: match.kind === 'route' ? match.pathParameters : null,
    stageVariables: null,
    body: body ?? null,
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer:
        tenant === undefined ? null : { principalId: tenant, claims: JSON.stringify({ sub: tenant }) },
      domainName: headers.host ?? '127.0.0.1',
      httpMethod: method,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        user: null,
        userAgent: headers['user-agent'] ?? null,
        userArn: null,
      },
      path: rawPath,
      protocol: `HTTP/${request.httpVersion}`,
      requestId,
      requestTime: apiGatewayTime(receivedAt),
      requestTimeEpoch: receivedAt.getTime(),
      resourceId: 'local',
      resourcePath: resource,
      stage: 'local',
    },
  };
}
