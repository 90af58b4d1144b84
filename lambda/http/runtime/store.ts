import { LazyS3AttachmentStorage } from '../../memory/attachments/lazy-s3-attachment-storage.js';
import { ChatStreamLog } from '../../memory/chat-stream-log.js';
import { ConversationStore } from '../../memory/conversation-store.js';
import { storeDocumentClient } from '../../memory/dynamodb-client.js';
import { limits } from '../../memory/message.js';
import { maxRequestBodyBytes } from '../contract/request-schemas.js';
import { config } from './config.js';

/*
 * The process's store, built once at cold start. Its client takes region, credentials and endpoint from the
 * standard AWS variables (the local server sets AWS_ENDPOINT_URL_DYNAMODB for DynamoDB Local), and the SDK
 * retries the store is tuned for.
 */
const client = storeDocumentClient();

const { attachments } = config;

export const store = new ConversationStore({
  client,
  tableName: config.tableName,
  ttlSeconds: config.ttlSeconds,
  ...(attachments === undefined
    ? {}
    : {
        attachments: {
          // The S3 SDK loads on the first request that needs it, not at cold start.
          storage: new LazyS3AttachmentStorage(attachments.bucket, attachments.endpoint),
          ...(attachments.thresholdBytes === undefined ? {} : { thresholdBytes: attachments.thresholdBytes }),
          ...(attachments.pendingGraceSeconds === undefined
            ? {}
            : { pendingGraceSeconds: attachments.pendingGraceSeconds }),
        },
      }),
});

/**
 * The largest body of a route that takes messages: as large as Lambda takes with attachments (their large values
 * go to S3), else the contract's 1 MiB.
 */
export const messagesBodyBytes = attachments === undefined ? maxRequestBodyBytes : limits.contentRequestBytes;

/**
 * How values in S3 come back in an answer: inline while they add at most 1 MiB to it, else as attachment parts with
 * presigned URLs. With the page's own 1 MiB of messages (escaped twice in API Gateway's envelope) the answer stays
 * below Lambda's 6 MB.
 */
export const answerAttachments = { inlineBudgetBytes: 1024 * 1024 } as const;

/** The record of running chat streams, for clients that resume them (chat routes only). */
export const chatStreams = new ChatStreamLog({ client, tableName: config.tableName });
