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
  /** Where the embedded DynamoDB Local keeps its data (ignored with dynamoDbEndpoint). */
  readonly dataDir: string;
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
});

/** Reads and validates the environment once; empty variables count as unset. */
export function readLocalServerConfig(environment: NodeJS.ProcessEnv): LocalServerConfig {
  const { PORT, TABLE_NAME, DYNAMODB_ENDPOINT, DATA_DIR } = readEnvironment(environmentSchema, environment, {
    emptyIsUnset: true,
  });
  return {
    port: PORT,
    tableName: TABLE_NAME,
    dynamoDbEndpoint: DYNAMODB_ENDPOINT?.replace(/\/+$/, ''),
    dataDir: resolve(DATA_DIR ?? resolve(projectRoot, '.data')),
  };
}
