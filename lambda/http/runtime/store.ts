import { ChatStreamLog } from '../../memory/chat-stream-log.js';
import { ConversationStore } from '../../memory/conversation-store.js';
import { storeDocumentClient } from '../../memory/dynamodb-client.js';
import { config } from './config.js';

/*
 * The process's store, built once at cold start. Its client takes region, credentials and endpoint from the
 * standard AWS variables (the local server sets AWS_ENDPOINT_URL_DYNAMODB for DynamoDB Local), and the SDK
 * retries the store is tuned for.
 */
const client = storeDocumentClient();

export const store = new ConversationStore({
  client,
  tableName: config.tableName,
  ttlSeconds: config.ttlSeconds,
});

/** The record of running chat streams, for clients that resume them (chat routes only). */
export const chatStreams = new ChatStreamLog({ client, tableName: config.tableName });
