/*
 * `agent-memory/store`: the conversation store for your own functions that hold the construct's table grants
 * (the API's handlers use the same class), with its options, results, message types, typed errors and the one
 * list of error codes. It takes the DynamoDB document client you build (`storeDocumentClient` builds one with
 * the SDK retries the store is tuned for), so the AWS SDK's DynamoDB packages are peers you install. Large
 * content in S3: `attachments: { storage: new LazyS3AttachmentStorage(bucket) }` (peers @aws-sdk/client-s3 and
 * @aws-sdk/s3-request-presigner, loaded on first use).
 */
export type { AttachmentStorage } from './attachments/attachment-storage.js';
export { LazyS3AttachmentStorage } from './attachments/lazy-s3-attachment-storage.js';
export type { SweepResult } from './attachments/markers.js';
export type { UploadRequest, UploadTicket } from './attachments/uploads.js';
export type { SummaryBasis } from './beside-messages-requests.js';
export {
  type AttachmentOptions,
  ConversationStore,
  type ConversationStoreOptions,
} from './conversation-store.js';
export { dynamoDbRetries, storeDocumentClient } from './dynamodb-client.js';
export { type ErrorCode, errorStatus } from './error-codes.js';
export * from './errors.js';
export { listLimits } from './list.js';
export { limits, type MessageInput, type StoredMessage } from './message.js';
export { conversationLimits } from './metadata.js';
export type * from './store-types.js';
export type { SummaryDraft, SummaryOutcome, SummaryState } from './summaries.js';
