import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ChatStreamLog } from '../../memory/chat-stream-log.js';
import { ConversationStore } from '../../memory/conversation-store.js';
import { dynamoDbRetries, storeDocumentClient } from '../../memory/dynamodb-client.js';
import { config } from './config.js';
import { tracer } from './observability.js';

/*
 * The process's store, built once at cold start. Its client takes region, credentials and endpoint from the
 * standard AWS variables (the local server sets AWS_ENDPOINT_URL_DYNAMODB for DynamoDB Local), and the SDK
 * retries the store is tuned for.
 */
const client = storeDocumentClient(tracer.captureAWSv3Client(new DynamoDBClient(dynamoDbRetries)));

export const store = new ConversationStore({
  client,
  tableName: config.tableName,
  ttlSeconds: config.ttlSeconds,
});

/** The record of running chat streams, for clients that resume them (chat routes only). */
export const chatStreams = new ChatStreamLog({ client, tableName: config.tableName });
