import { readEnvironment } from '../../validation/environment.js';
import * as z from '../../validation/zod.js';

/** Every variable the handlers read. */
const environmentSchema = z.object({
  TABLE_NAME: z.string({ error: 'is required' }).check(z.minLength(1, 'must not be empty')),
  TTL_SECONDS: z.optional(
    z.pipe(
      z
        .string()
        .check(
          z.regex(
            /^[1-9]\d*$/,
            'must be a positive integer (seconds); leave it unset to keep conversations forever',
          ),
        ),
      z.transform(Number),
    ),
  ),
  TENANT_CLAIM: z._default(z.string().check(z.minLength(1, 'must not be empty')), 'sub'),
});

export interface Config {
  readonly tableName: string;
  /** Retention of every item after its conversation's last write. Unset: kept forever. */
  readonly ttlSeconds?: number;
  /** The JWT claim that names the caller's tenant (JWT authorizer only). */
  readonly tenantClaim: string;
}

/** The handlers' configuration from the environment (../runtime/config.ts reads it once, at cold start). */
export function readConfig(environment: Record<string, string | undefined>): Config {
  const { TABLE_NAME, TTL_SECONDS, TENANT_CLAIM } = readEnvironment(environmentSchema, environment);
  return { tableName: TABLE_NAME, ttlSeconds: TTL_SECONDS, tenantClaim: TENANT_CLAIM };
}
