/**
 * LangGraph's own conformance suite for checkpointers (@langchain/langgraph-checkpoint-validation), run
 * against DynamoDBSaver on DynamoDB Local: put, putWrites, getTuple, list (every combination of thread,
 * namespace, limit, before and filter), deleteThread, and the opt-in getDeltaChannelHistory walk that the
 * official savers also run. Each checkpointer the suite creates gets a tenant of its own, so its list()
 * sees only what it wrote.
 */
import { randomUUID } from 'node:crypto';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  type CheckpointSaverTestInitializer,
  deltaChannelHistoryTests,
  validate,
} from '@langchain/langgraph-checkpoint-validation';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDBSaver } from '../../lambda/checkpoints/dynamodb-saver.js';
import { createTestTable } from '../support/dynamodb.js';

// The suite calls vitest's globals (describe, it, expect, ...) without importing them.
Object.assign(globalThis, { describe, it, expect, beforeAll, afterAll, beforeEach, afterEach });

let table: { client: DynamoDBDocumentClient; tableName: string } | undefined;

const initializer: CheckpointSaverTestInitializer<DynamoDBSaver> = {
  checkpointerName: 'agent-memory DynamoDBSaver',
  beforeAllTimeout: 60_000,
  async beforeAll() {
    table = await createTestTable('langgraph-validation');
  },
  createCheckpointer() {
    if (table === undefined) throw new Error('the table is created in beforeAll');
    return new DynamoDBSaver({ ...table, tenant: `validation-${randomUUID()}` });
  },
};

validate(initializer);
deltaChannelHistoryTests(initializer);
