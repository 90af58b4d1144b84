import * as z from '../validation/zod.js';

/** The handlers' environment. Every variable is validated once, at cold start, and named when wrong. */
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

export class ConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigurationError';
  }
}

export function readConfig(environment: Record<string, string | undefined>): Config {
  const result = environmentSchema.safeParse(environment);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`);
    throw new ConfigurationError(`Invalid environment: ${problems.join('; ')}.`);
  }
  const { TABLE_NAME, TTL_SECONDS, TENANT_CLAIM } = result.data;
  return { tableName: TABLE_NAME, ttlSeconds: TTL_SECONDS, tenantClaim: TENANT_CLAIM };
}
