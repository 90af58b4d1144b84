import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ChatStreamLog } from '../memory/chat-stream-log.js';
import { ConversationStore } from '../memory/conversation-store.js';
import { dynamoDbRetries, storeDocumentClient } from '../memory/dynamodb-client.js';
import { readConfig } from './config.js';
import { tracer } from './observability.js';

/*
 * The process's configuration and store, built once at cold start. A bad environment fails the init with the
 * variable's name. The client takes region, credentials and endpoint from the standard AWS variables
 * (the local server sets AWS_ENDPOINT_URL_DYNAMODB for DynamoDB Local).
 */
export const config = readConfig(process.env);

const client = storeDocumentClient(tracer.captureAWSv3Client(new DynamoDBClient(dynamoDbRetries)));

export const store = new ConversationStore({
  client,
  tableName: config.tableName,
  ttlSeconds: config.ttlSeconds,
});

/** The record of running chat streams, for clients that resume them (chat routes only). */
export const chatStreams = new ChatStreamLog({ client, tableName: config.tableName });
