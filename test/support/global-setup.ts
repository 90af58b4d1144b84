import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal } from '../../local/dynamodb-local.js';
import { startS3Local } from '../../local/s3-local.js';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoDbEndpoint: string;
    s3Endpoint: string;
    s3Bucket: string;
  }
}

/** The bucket every test shares: keys are per conversation, and tests use fresh conversation ids. */
export const testBucket = 'agent-memory-test';

export default async function setup(project: TestProject) {
  const started = Date.now();
  const s3Folder = mkdtempSync(join(tmpdir(), 'agent-memory-s3-'));
  const [dynamo, s3] = await Promise.all([
    startDynamoDbLocal({ inMemory: true }),
    startS3Local({ directory: s3Folder, bucket: testBucket }),
  ]);
  console.log(
    `DynamoDB Local (in memory) on ${dynamo.endpoint} and s3rver on ${s3.endpoint}, ready in ${Date.now() - started} ms`,
  );
  project.provide('dynamoDbEndpoint', dynamo.endpoint);
  project.provide('s3Endpoint', s3.endpoint);
  project.provide('s3Bucket', testBucket);
  return async () => {
    await Promise.all([dynamo.stop(), s3.stop()]);
    rmSync(s3Folder, { recursive: true, force: true });
  };
}
