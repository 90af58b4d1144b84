// The README's "Unit-testing a handler with mocked DynamoDB", as written there (paths from this folder): what a
// user of the package does. The handler tests of this folder stub the store instead (./store-stub.ts).
import { DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, expect, it, vi } from 'vitest';
import { conversationEvent } from '../../support/api-gateway-events.js'; // builds API Gateway v2 events

vi.hoisted(() => {
  process.env.TABLE_NAME = 'memory-test';
});
const { handler } = await import('../../../lambda/http/handlers/append-messages.js');
const dynamo = mockClient(DynamoDBDocumentClient);
beforeEach(() => dynamo.reset());

it('appends', async () => {
  dynamo.on(GetCommand).resolves({}); // no head yet: version 0
  dynamo.on(TransactWriteCommand).resolves({});
  const response = await handler(
    conversationEvent('POST', 'conv-1', {
      suffix: '/messages',
      body: { messages: [{ role: 'user', content: 'hi' }] },
    }),
  );
  expect(response.statusCode).toBe(201);
  expect(dynamo).toHaveReceivedCommand(TransactWriteCommand); // aws-sdk-client-mock-vitest
});
