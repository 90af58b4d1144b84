/*
 * `agent-memory/store`: the conversation store for your own functions that hold the construct's table grants
 * (the API's handlers use the same class), with its options, results, message types and typed errors. It
 * takes the DynamoDB document client you build, so the AWS SDK's DynamoDB packages are peers you install.
 */
export {
  type AppendOptions,
  type AppendResult,
  ConversationStore,
  type ConversationStoreOptions,
  type EditResult,
} from './conversation-store.js';
export * from './errors.js';
export type { ConversationInfo, HistoryPage, LoadOptions } from './history.js';
export { limits, type MessageInput, type StoredMessage } from './message.js';
