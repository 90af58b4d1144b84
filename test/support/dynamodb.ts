import { randomUUID } from 'node:crypto';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { inject } from 'vitest';
import { conversationTableDefinition } from '../../lambda/memory/table.js';
import { localClientConfig } from '../../local/dynamodb-local.js';

/** A fresh table on the shared DynamoDB Local, so test files never see each other's data. */
export async function createTestTable(prefix = 'test') {
  const endpoint = inject('dynamoDbEndpoint');
  const raw = new DynamoDBClient(localClientConfig(endpoint));
  const client = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
  const tableName = `${prefix}-${randomUUID()}`;
  await raw.send(new CreateTableCommand(conversationTableDefinition(tableName)));
  return { endpoint, raw, client, tableName };
}
