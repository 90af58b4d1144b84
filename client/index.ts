/*
 * The agent-memory client: the HTTP client, the ConversationMemory interface and the typed errors. The
 * in-process memory and the framework adapters are separate modules (./store-conversation-memory.js,
 * ./openai-agents-session.js, ./langchain-chat-history.js), so importing this one loads neither the DynamoDB
 * SDK nor any framework.
 */
export {
  AgentMemoryClient,
  type AgentMemoryClientOptions,
  type RunToolsOptions,
  type RunToolsResult,
  type ToolCall,
  type ToolChoice,
  type ToolDefinition,
  type ToolImplementation,
  type ToolResult,
  type TurnContext,
  type TurnInput,
  type TurnOptions,
  type TurnResult,
  type TurnStreamEvent,
} from './agent-memory-client.js';
export { type BearerToken, bearerAuth } from './bearer-auth.js';
export type * from './conversation-memory.js';
export * from './errors.js';
export type { PageIterationOptions } from './history-pages.js';
export type { OutgoingRequest, RequestAuth } from './request-auth.js';
export type { RetryOptions } from './retry-policy.js';
export {
  type AwsCredentials,
  type AwsCredentialsProvider,
  type SigV4AuthOptions,
  sigV4Auth,
} from './sigv4-auth.js';
export { tenantHeaderAuth } from './tenant-header-auth.js';
