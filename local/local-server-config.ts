import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readEnvironment } from '../lambda/validation/environment.js';
import * as z from '../lambda/validation/zod.js';

/** The repository root: `.data/` lives here whatever directory `npm start` was run from. */
export const projectRoot = fileURLToPath(new URL('..', import.meta.url));

export interface LocalServerConfig {
  /** Loopback port to serve on; 0 picks a free one. */
  readonly port: number;
  readonly tableName: string;
  /** A DynamoDB to use instead of starting DynamoDB Local (shared by several servers, like replicas). */
  readonly dynamoDbEndpoint: string | undefined;
  /** Where the embedded DynamoDB Local keeps its data (ignored with dynamoDbEndpoint), and s3rver its objects. */
  readonly dataDir: string;
  /**
   * An S3 to keep attachments in instead of the embedded s3rver (shared by several servers, like DYNAMODB_ENDPOINT).
   * Servers sharing a DynamoDB must share it too: with DYNAMODB_ENDPOINT and without it, there are no attachments.
   */
  readonly s3Endpoint: string | undefined;
  readonly attachmentsBucket: string;
  /** How often the server sweeps orphaned attachments (what the stack's scheduled sweep does). */
  readonly sweepIntervalSeconds: number;
  /** Keep conversations' summaries in the background (the stack's compactor). */
  readonly summaries: boolean;
}

const portError = 'must be a port number from 0 to 65535';

const environmentSchema = z.object({
  PORT: z._default(
    z
      .pipe(z.string().check(z.regex(/^\d{1,5}$/, portError)), z.transform(Number))
      .check(z.refine((port) => port <= 65_535, portError)),
    3000,
  ),
  TABLE_NAME: z._default(
    z.string().check(z.regex(/^[A-Za-z0-9_.-]{3,255}$/, 'must be 3-255 characters of A-Z a-z 0-9 _ . -')),
    'agent-memory',
  ),
  DYNAMODB_ENDPOINT: z.optional(
    z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as http://127.0.0.1:8000' }),
  ),
  DATA_DIR: z.optional(z.string()),
  S3_ENDPOINT: z.optional(
    z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as http://127.0.0.1:4569' }),
  ),
  ATTACHMENTS_BUCKET: z._default(
    z.string().check(z.regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name')),
    'agent-memory',
  ),
  SWEEP_INTERVAL_SECONDS: z._default(
    z.pipe(
      z.string().check(z.regex(/^[1-9]\d{0,5}$/, 'must be a positive number of seconds')),
      z.transform(Number),
    ),
    60,
  ),
  SUMMARIES: z._default(z.enum(['on', 'off'], { error: 'must be on or off' }), 'on'),
});

/** Reads and validates the environment once; empty variables count as unset. */
export function readLocalServerConfig(environment: NodeJS.ProcessEnv): LocalServerConfig {
  const env = readEnvironment(environmentSchema, environment, { emptyIsUnset: true });
  return {
    port: env.PORT,
    tableName: env.TABLE_NAME,
    dynamoDbEndpoint: env.DYNAMODB_ENDPOINT?.replace(/\/+$/, ''),
    dataDir: resolve(env.DATA_DIR ?? resolve(projectRoot, '.data')),
    s3Endpoint: env.S3_ENDPOINT?.replace(/\/+$/, ''),
    attachmentsBucket: env.ATTACHMENTS_BUCKET,
    sweepIntervalSeconds: env.SWEEP_INTERVAL_SECONDS,
    summaries: env.SUMMARIES === 'on',
  };
}
