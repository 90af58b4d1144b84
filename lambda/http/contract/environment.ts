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
  ATTACHMENTS_BUCKET: z.optional(
    z.string().check(z.regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name')),
  ),
  ATTACHMENT_THRESHOLD_BYTES: z.optional(
    z.pipe(
      z.string().check(z.regex(/^\d{4,6}$/, 'must be a number of bytes, 1024-262144')),
      z.transform(Number),
    ),
  ),
  ATTACHMENT_GRACE_SECONDS: z.optional(
    z.pipe(
      z.string().check(z.regex(/^[1-9]\d{0,5}$/, 'must be a positive number of seconds')),
      z.transform(Number),
    ),
  ),
  /** The standard AWS SDK variable of an S3-compatible endpoint (s3rver, locally): path-style addresses then. */
  AWS_ENDPOINT_URL_S3: z.optional(z.string()),
});

export interface Config {
  readonly tableName: string;
  /** Retention of every item after its conversation's last write. Unset: kept forever. */
  readonly ttlSeconds?: number;
  /** The JWT claim that names the caller's tenant (JWT authorizer only). */
  readonly tenantClaim: string;
  /** Large content in S3: the bucket, and what the store's defaults may be overridden with. Unset: none. */
  readonly attachments?: {
    readonly bucket: string;
    readonly thresholdBytes?: number;
    readonly pendingGraceSeconds?: number;
    /** An S3-compatible endpoint (addressed path-style), from AWS_ENDPOINT_URL_S3. */
    readonly endpoint?: string;
  };
}

/** The handlers' configuration from the environment (../runtime/config.ts reads it once, at cold start). */
export function readConfig(environment: Record<string, string | undefined>): Config {
  const env = readEnvironment(environmentSchema, environment);
  return {
    tableName: env.TABLE_NAME,
    ttlSeconds: env.TTL_SECONDS,
    tenantClaim: env.TENANT_CLAIM,
    ...(env.ATTACHMENTS_BUCKET === undefined
      ? {}
      : {
          attachments: {
            bucket: env.ATTACHMENTS_BUCKET,
            ...optional('thresholdBytes', env.ATTACHMENT_THRESHOLD_BYTES),
            ...optional('pendingGraceSeconds', env.ATTACHMENT_GRACE_SECONDS),
            ...optional('endpoint', env.AWS_ENDPOINT_URL_S3),
          },
        }),
  };
}

function optional<K extends string, V>(name: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [name]: value }) as { [P in K]?: V };
}
