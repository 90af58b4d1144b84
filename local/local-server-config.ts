import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { describeIssues } from '../lambda/memory/message.js';

/** The repository root: `.data/` lives here whatever directory `npm start` was run from. */
export const projectRoot = fileURLToPath(new URL('..', import.meta.url));

export interface LocalServerConfig {
  /** Loopback port to serve on; 0 picks a free one. */
  readonly port: number;
  readonly tableName: string;
  /** A DynamoDB to use instead of starting DynamoDB Local (shared by several servers, like replicas). */
  readonly dynamoDbEndpoint: string | undefined;
  /** Where the embedded DynamoDB Local keeps its data (ignored with dynamoDbEndpoint). */
  readonly dataDir: string;
}

const environmentSchema = z.object({
  PORT: z
    .string()
    .regex(/^\d{1,5}$/, 'must be a port number from 0 to 65535')
    .transform(Number)
    .refine((port) => port <= 65_535, 'must be a port number from 0 to 65535')
    .default(3000),
  TABLE_NAME: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{3,255}$/, 'must be 3-255 characters of A-Z a-z 0-9 _ . -')
    .default('agent-memory'),
  DYNAMODB_ENDPOINT: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL such as http://127.0.0.1:8000' })
    .optional(),
  DATA_DIR: z.string().min(1).optional(),
});

export class LocalServerConfigError extends Error {
  override readonly name = 'LocalServerConfigError';
}

/** Reads and validates the environment once; empty variables count as unset. */
export function readLocalServerConfig(environment: NodeJS.ProcessEnv): LocalServerConfig {
  const present = Object.fromEntries(
    Object.keys(environmentSchema.shape).flatMap((name) => {
      const value = environment[name];
      return value === undefined || value === '' ? [] : [[name, value]];
    }),
  );
  const parsed = environmentSchema.safeParse(present);
  if (!parsed.success)
    throw new LocalServerConfigError(`Invalid environment: ${describeIssues(parsed.error)}`);
  const { PORT, TABLE_NAME, DYNAMODB_ENDPOINT, DATA_DIR } = parsed.data;
  return {
    port: PORT,
    tableName: TABLE_NAME,
    dynamoDbEndpoint: DYNAMODB_ENDPOINT?.replace(/\/+$/, ''),
    dataDir: resolve(DATA_DIR ?? resolve(projectRoot, '.data')),
  };
}
