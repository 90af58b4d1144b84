import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { HttpEvent } from '../../lambda/http/pipeline/request.js';

/** What API Gateway's JWT authorizer puts in requestContext.authorizer. */
export const jwtAuthorizer = (claims: Record<string, unknown>) => ({ jwt: { claims, scopes: null } });

/** What API Gateway's IAM authorizer puts in requestContext.authorizer for a SigV4-signed request. */
export const iamAuthorizer = (userArn: string, cognitoIdentity: unknown = null) => ({
  iam: {
    accessKey: 'ASIAEXAMPLE',
    accountId: '123456789012',
    callerId: 'AROAEXAMPLE:session',
    cognitoIdentity,
    principalOrgId: null,
    userArn,
    userId: 'AROAEXAMPLE:session',
  },
});

export interface EventOptions {
  readonly method?: string;
  readonly path?: string;
  readonly pathParameters?: Record<string, string>;
  readonly query?: Record<string, string>;
  readonly headers?: Record<string, string>;
  /** A string is sent as is; anything else as its JSON. */
  readonly body?: unknown;
  readonly isBase64Encoded?: boolean;
  /** `null`: no authorizer context at all. @default a JWT authorizer with sub `tenant-a` */
  readonly authorizer?: unknown;
}

/** An API Gateway HTTP API event, payload format 2.0. */
export function apiEvent(options: EventOptions = {}): HttpEvent {
  const method = options.method ?? 'GET';
  const path = options.path ?? '/';
  const body =
    options.body === undefined
      ? undefined
      : typeof options.body === 'string'
        ? options.body
        : JSON.stringify(options.body);
  const authorizer =
    options.authorizer === undefined ? jwtAuthorizer({ sub: 'tenant-a' }) : options.authorizer;
  return {
    version: '2.0',
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString: new URLSearchParams(options.query ?? {}).toString(),
    headers: { host: 'api.example.com', ...options.headers },
    ...(options.query ? { queryStringParameters: options.query } : {}),
    ...(options.pathParameters ? { pathParameters: options.pathParameters } : {}),
    ...(body === undefined ? {} : { body }),
    isBase64Encoded: options.isBase64Encoded ?? false,
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      domainName: 'api.example.com',
      domainPrefix: 'api',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'test' },
      requestId: 'request-1',
      routeKey: `${method} ${path}`,
      stage: '$default',
      time: '12/Mar/2020:19:03:58 +0000',
      timeEpoch: 1583348638390,
      ...(authorizer === null ? {} : { authorizer }),
    },
  };
}

/** An event for a `/v1/conversations/{conversationId}...` route. */
export function conversationEvent(
  method: string,
  conversationId: string,
  options: Omit<EventOptions, 'method' | 'path' | 'pathParameters'> & {
    readonly suffix?: '/messages' | '/summaries' | '';
  } = {},
): HttpEvent {
  return apiEvent({
    ...options,
    method,
    path: `/v1/conversations/${conversationId}${options.suffix ?? ''}`,
    pathParameters: { conversationId },
  });
}

/** The response body, parsed (tests read it loosely). */
export function jsonBody(response: APIGatewayProxyStructuredResultV2) {
  return JSON.parse(response.body ?? 'null');
}
