import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal } from '../../local/dynamodb-local.js';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoDbEndpoint: string;
  }
}

export default async function setup(project: TestProject) {
  const started = Date.now();
  const dynamo = await startDynamoDbLocal({ inMemory: true });
  console.log(
    `DynamoDB Local (in memory) listening on ${dynamo.endpoint}, ready in ${Date.now() - started} ms`,
  );
  project.provide('dynamoDbEndpoint', dynamo.endpoint);
  return () => dynamo.stop();
}
