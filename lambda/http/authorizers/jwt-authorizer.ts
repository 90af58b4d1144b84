import { JwtVerifier } from 'aws-jwt-verify';
import type { Jwks } from 'aws-jwt-verify/jwk';
import type { JwtPayload } from 'aws-jwt-verify/jwt-model';
import type { APIGatewayAuthorizerResult, APIGatewayTokenAuthorizerEvent } from 'aws-lambda';
import { readEnvironment } from '../../validation/environment.js';
import * as z from '../../validation/zod.js';
import { logger } from '../runtime/observability.js';

/*
 * The streaming REST API's JWT authorizer (a Lambda TOKEN authorizer): what the HTTP API's JWT authorizer does,
 * for the front that has none. It verifies `Authorization: Bearer <JWT>` (signature against the issuer's JWKS,
 * found by OpenID discovery as API Gateway does, `iss`, `exp`/`nbf`, and `aud` or else `client_id` among the
 * accepted audiences) and passes the verified claims on as the JSON string `claims`, from which the handler
 * takes the tenant with the same rule as on the HTTP API (lambda/http/pipeline/rest-api-event.ts, tenancy.ts). Any
 * failure is API Gateway's 401.
 */

const environmentSchema = z.object({
  JWT_ISSUER: z.url({ protocol: /^https$/, error: 'must be an https:// URL' }),
  JWT_AUDIENCE: z.string().check(z.minLength(1, 'must list at least one audience (comma-separated)')),
  JWKS_URI: z.optional(z.url({ protocol: /^https$/, error: 'must be an https:// URL' })),
});

export interface JwtAuthorizerOptions {
  readonly issuer: string;
  readonly audience: readonly string[];
  /** @default the `jwks_uri` of the issuer's `/.well-known/openid-configuration` */
  readonly jwksUri?: string;
  /** For tests: the JWKS instead of fetching it. */
  readonly jwks?: Jwks;
}

type TokenAuthorizer = (event: APIGatewayTokenAuthorizerEvent) => Promise<APIGatewayAuthorizerResult>;

export function jwtAuthorizer(options: JwtAuthorizerOptions): TokenAuthorizer {
  const accepted = new Set(options.audience);
  let verifier: Promise<{ verify(token: string): Promise<JwtPayload> }> | undefined;
  const verifierOf = () => {
    verifier ??= (async () => {
      const jwksUri = options.jwksUri ?? (await discoverJwksUri(options.issuer));
      const created = JwtVerifier.create({
        issuer: options.issuer,
        jwksUri,
        // `aud`, or Cognito access tokens' `client_id`, as API Gateway's JWT authorizer accepts them.
        audience: null,
        customJwtCheck: ({ payload }: { payload: JwtPayload }) => {
          const audiences = [payload.aud ?? payload.client_id]
            .flat()
            .filter((value) => typeof value === 'string');
          if (!audiences.some((audience) => accepted.has(audience)))
            throw new Error('The token is for another audience.');
        },
      });
      if (options.jwks) created.cacheJwks(options.jwks);
      return { verify: (token: string) => created.verify(token) };
    })().catch((error: unknown) => {
      verifier = undefined;
      throw error;
    });
    return verifier;
  };

  return async (event) => {
    const token = /^Bearer\s+(\S+)$/i.exec(event.authorizationToken ?? '')?.[1];
    try {
      if (token === undefined) throw new Error('No bearer token.');
      const payload = await (await verifierOf()).verify(token);
      return {
        principalId: typeof payload.sub === 'string' ? payload.sub : 'jwt',
        policyDocument: {
          Version: '2012-10-17',
          Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: event.methodArn }],
        },
        context: { claims: JSON.stringify(payload) },
      };
    } catch (error) {
      logger.info('token refused', { reason: (error as Error).message });
      // API Gateway answers exactly this message with 401.
      throw new Error('Unauthorized');
    }
  };
}

async function discoverJwksUri(issuer: string): Promise<string> {
  const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  const response = await fetch(url, { signal: AbortSignal.timeout(3000) });
  const body = (await response.json()) as { jwks_uri?: unknown };
  if (!response.ok || typeof body.jwks_uri !== 'string') throw new Error(`${url} names no jwks_uri.`);
  return body.jwks_uri;
}

function fromEnvironment(): TokenAuthorizer {
  const { JWT_ISSUER, JWT_AUDIENCE, JWKS_URI } = readEnvironment(environmentSchema, process.env);
  return jwtAuthorizer({
    issuer: JWT_ISSUER,
    audience: JWT_AUDIENCE.split(',').map((audience) => audience.trim()),
    ...(JWKS_URI === undefined ? {} : { jwksUri: JWKS_URI }),
  });
}

/** The function's handler; its configuration is read and checked at cold start (JWT_ISSUER, JWT_AUDIENCE, JWKS_URI?). */
export const handler: TokenAuthorizer = fromEnvironment();
