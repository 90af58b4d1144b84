import { readEnvironment } from '../../validation/environment.js';
import * as z from '../../validation/zod.js';

/*
 * CORS of the streaming REST API, for browsers that call it from another origin (useChat straight to the stack).
 * API Gateway answers the preflight (OPTIONS) itself; a Lambda proxy integration's answer carries only the
 * headers the function sets, so the response-streaming handlers add these. (The HTTP API adds its own.) The
 * construct sets the variables from its `cors` prop; the local server from its environment.
 */

const environmentSchema = z.object({
  /** Comma-separated origins, or `*`. Unset: no CORS headers. */
  CORS_ALLOW_ORIGINS: z.optional(z.string().check(z.minLength(1, 'must not be empty'))),
  CORS_ALLOW_CREDENTIALS: z.optional(z.enum(['true', 'false'])),
  /** Comma-separated response headers a browser script may read. */
  CORS_EXPOSE_HEADERS: z.optional(z.string()),
});

export interface CorsConfig {
  readonly allowOrigins: readonly string[];
  readonly allowCredentials: boolean;
  readonly exposeHeaders: string | undefined;
}

export function readCorsConfig(environment: Record<string, string | undefined>): CorsConfig | undefined {
  const { CORS_ALLOW_ORIGINS, CORS_ALLOW_CREDENTIALS, CORS_EXPOSE_HEADERS } = readEnvironment(
    environmentSchema,
    environment,
    { emptyIsUnset: true },
  );
  if (CORS_ALLOW_ORIGINS === undefined) return undefined;
  return {
    allowOrigins: CORS_ALLOW_ORIGINS.split(',').map((origin) => origin.trim()),
    allowCredentials: CORS_ALLOW_CREDENTIALS === 'true',
    exposeHeaders: CORS_EXPOSE_HEADERS || undefined,
  };
}

/**
 * The CORS headers of a response to a request from `origin`: none for an origin that is not allowed (the browser
 * then refuses the response, as the API would refuse the preflight).
 */
export function corsHeaders(
  cors: CorsConfig | undefined,
  origin: string | undefined,
): Record<string, string> {
  if (cors === undefined || origin === undefined) return {};
  const any = cors.allowOrigins.includes('*');
  if (!any && !cors.allowOrigins.includes(origin)) return {};
  return {
    'Access-Control-Allow-Origin': any && !cors.allowCredentials ? '*' : origin,
    ...(any && !cors.allowCredentials ? {} : { Vary: 'Origin' }),
    ...(cors.allowCredentials ? { 'Access-Control-Allow-Credentials': 'true' } : {}),
    ...(cors.exposeHeaders === undefined ? {} : { 'Access-Control-Expose-Headers': cors.exposeHeaders }),
  };
}
