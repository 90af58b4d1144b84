import type { ErrorCode } from '../../memory/error-codes.js';
import { messageInputSchema } from '../../memory/message.js';
import type * as z from '../../validation/zod.js';
import {
  appendMessagesBodySchema,
  chatBodySchema,
  createUploadBodySchema,
  editHistoryBodySchema,
  requests,
  turnBodySchema,
} from './request-schemas.js';
import {
  appendMessagesResponseSchema,
  attachmentPartSchema,
  conversationPageSchema,
  conversationSchema,
  createUploadResponseSchema,
  editHistoryResponseSchema,
  errorBodySchema,
  healthSchema,
  messagePageSchema,
  storedMessageSchema,
  summariesSchema,
  summarySchema,
  turnResponseSchema,
  uploadPartSchema,
} from './response-schemas.js';

/*
 * What the OpenAPI document keeps under components (scripts/openapi-document.ts): the named schemas and the words
 * of each error code. The operations themselves are in ./openapi-operations.ts.
 */

/** Named schemas, emitted under components/schemas and referenced wherever they occur. */
export const namedSchemas: ReadonlyArray<readonly [string, z.ZodMiniType]> = [
  ['MessageInput', messageInputSchema],
  ['AppendMessagesRequest', appendMessagesBodySchema],
  ['StoredMessage', storedMessageSchema],
  ['AppendMessagesResponse', appendMessagesResponseSchema],
  ['TurnRequest', turnBodySchema],
  ['ChatRequest', chatBodySchema],
  ['TurnResponse', turnResponseSchema],
  ['EditHistoryRequest', editHistoryBodySchema],
  ['EditHistoryResponse', editHistoryResponseSchema],
  ['MessagePage', messagePageSchema],
  ['AttachmentPart', attachmentPartSchema],
  ['UploadPart', uploadPartSchema],
  ['CreateUploadRequest', createUploadBodySchema],
  ['CreateUploadResponse', createUploadResponseSchema],
  ['Summary', summarySchema],
  ['Summaries', summariesSchema],
  ['Conversation', conversationSchema],
  ['ConversationPage', conversationPageSchema],
  ['PatchConversationRequest', requests.patchConversation.body],
  ['Health', healthSchema],
  ['Error', errorBodySchema],
];

/** Words for each error response. */
export const errorDescriptions: Readonly<Record<ErrorCode, string>> = {
  invalid_request:
    'Bad JSON, a wrong type, a bad conversation id, header or query value. Nothing was stored.',
  unauthorized: 'The request carries no authenticated identity.',
  forbidden: "The caller's identity names no usable tenant.",
  not_found: 'The conversation has never been written, or was deleted.',
  method_not_allowed: 'The path exists, the method does not (see the Allow header).',
  version_conflict:
    'The conversation is not at `expectedVersion` (or lost every retry of a race); see `currentVersion`.',
  suffix_mismatch:
    'The conversation does not end with `expectedSuffix` (now); nothing changed. See `currentVersion`.',
  revision_conflict:
    'A PATCH with `expectedRevision`, but title and metadata are at another revision now; nothing changed. See ' +
    '`currentRevision`.',
  no_pending_tool_calls:
    'A continuation (`toolResults`), but the conversation does not end with an assistant message whose tool ' +
    'calls await results (they were answered already, or other messages came after them). Nothing was stored; ' +
    'see `currentVersion`.',
  tool_results_mismatch:
    '`toolResults` do not answer the pending tool calls exactly: `missing` ids have no result, `unknown` ids ' +
    'name no pending call, `duplicate` ids come more than once. Nothing was stored.',
  payload_too_large:
    'A message over 256 KiB of JSON (with attachments: after its large values moved to S3), or a request body ' +
    'over its limit (6,000,000 bytes for routes that take messages when the deployment has attachments, 1 MiB ' +
    'otherwise). Nothing was stored.',
  invalid_upload:
    'A message references an upload this conversation does not have: unknown, expired, never uploaded, or ' +
    'uploaded with another size or type than declared. Nothing was stored.',
  idempotency_key_reused: 'This Idempotency-Key was already used in this conversation with a different body.',
  idempotency_result_gone:
    'This Idempotency-Key was applied, but a later history edit removed what it wrote, so its original result cannot be returned. Nothing was written now.',
  throttled: 'Too many requests; retry after Retry-After seconds.',
  internal: "An unexpected failure; details are in the server's logs only.",
  model_error:
    "The model provider failed or refused the request, or its reply could not be stored; nothing was stored. Details are in the server's logs only.",
  model_timeout: 'The model did not answer before the deadline; nothing was stored. Retrying may succeed.',
  unavailable:
    'DynamoDB is throttling or unreachable, or the conversation is under extreme contention; retry after Retry-After seconds.',
};
