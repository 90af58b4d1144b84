import type { ErrorCode } from '../../memory/error-codes.js';
import type * as z from '../../validation/zod.js';
import { requests } from './request-schemas.js';
import {
  appendMessagesResponseSchema,
  conversationPageSchema,
  conversationSchema,
  createUploadResponseSchema,
  editHistoryResponseSchema,
  errorBodySchema,
  healthSchema,
  messagePageSchema,
  summariesSchema,
  turnResponseSchema,
} from './response-schemas.js';

/*
 * What the OpenAPI document says about each route of ../routes.ts (matched by route id): the same schemas the
 * handlers validate with, plus the words. Documenting a new route means one entry here; scripts/openapi.ts
 * refuses to run while a route has none.
 */

export interface SuccessResponse {
  readonly description: string;
  /** Absent: no body (204), unless it is an event stream. */
  readonly schema?: z.ZodMiniType;
  /** The body is Server-Sent Events (`text/event-stream`), described in words. */
  readonly eventStream?: boolean;
  readonly headers?: Readonly<Record<string, { readonly description: string; readonly schema: object }>>;
}

export interface OperationDoc {
  readonly summary: string;
  readonly description?: string;
  readonly request: {
    readonly path?: z.ZodMiniObject;
    readonly query?: z.ZodMiniObject;
    /** Keys are lower-case header names. */
    readonly headers?: z.ZodMiniObject;
    readonly body?: z.ZodMiniType;
  };
  readonly responses: Readonly<Record<number, SuccessResponse>>;
  /** The contract's errors this route answers with. */
  readonly errors: readonly ErrorCode[];
}

/** What the routes that take messages say about large content. */
const attachmentsWords =
  '**Large content** (a deployment with attachments, the default): a content part (or a string content) over ' +
  '64 KiB of JSON moves to S3, so a message may be as large as the request, whose body may then be 6,000,000 ' +
  'bytes (Lambda takes 6 MB per invocation). A base64 data URL or base64 field is stored as its bytes. Files ' +
  'past that go through `POST .../uploads`. The answer gives values inline within 1 MiB, else as ' +
  '`AttachmentPart`s (see Load messages).';

/** The 422s of a write that takes messages (a turn has a third, tool_results_mismatch). */
const keyReusedOrInvalidUpload: SuccessResponse = {
  description:
    '`422 idempotency_key_reused`: this Idempotency-Key was used with a different body. `422 invalid_upload`: a ' +
    'message references an upload this conversation does not have, or one of another size or type than ' +
    'declared. Nothing was stored.',
  schema: errorBodySchema,
};

/** Errors of every route behind the authorizer. */
const authenticatedErrors = ['unauthorized', 'forbidden', 'internal', 'unavailable'] as const;
/** Errors of the routes that run the model on a write: a turn and a chat. */
const modelTurnErrors = [
  'invalid_request',
  'payload_too_large',
  'idempotency_result_gone',
  'model_error',
  'model_timeout',
  ...authenticatedErrors,
] as const;

const replayHeaders = {
  'Idempotent-Replayed': {
    description: 'Always `true`: the response is the stored result of an earlier request.',
    schema: { type: 'string', const: 'true' },
  },
} as const;

/** A 200 that is a new result or a replay: the header is there only on a replay. */
const replayOnlyHeaders = {
  'Idempotent-Replayed': {
    description: 'Present, `true`, only on a replay.',
    schema: { type: 'string', const: 'true' },
  },
} as const;

export const operations: Readonly<Record<string, OperationDoc>> = {
  AppendMessages: {
    summary: 'Append messages',
    description:
      'Appends 1 to 50 messages atomically (all or none), at the end or, with `expectedVersion`, only if the ' +
      'conversation is at that version. A message is at most 256 KiB of JSON nested at most 32 levels; the ' +
      'request body at most 1 MiB. `title` titles the conversation this append starts.\n\n' +
      attachmentsWords,
    request: requests.appendMessages,
    responses: {
      201: { description: 'The messages were appended.', schema: appendMessagesResponseSchema },
      200: {
        description:
          'A replay: this Idempotency-Key was used with the same body; the original result, nothing appended.',
        schema: appendMessagesResponseSchema,
        headers: replayHeaders,
      },
      422: keyReusedOrInvalidUpload,
    },
    errors: [
      'invalid_request',
      'version_conflict',
      'payload_too_large',
      'idempotency_result_gone',
      ...authenticatedErrors,
    ],
  },
  AgentTurns: {
    summary: 'Run one agent turn',
    description:
      "Loads the conversation's recent history (strongly consistent: at most the configured number of newest " +
      'messages, default 20, within the token budget, never splitting a tool call from its result), asks the ' +
      'configured model with the turn `system` prompt, `tools`, that history and the new user message, then ' +
      'appends the user message and the reply in one conditional, idempotent commit on the version it read. ' +
      'When another writer changes the conversation in between, the turn is generated again on the new history ' +
      'a bounded number of times (with `expectedVersion`: never), then it is 409 version_conflict. A model error ' +
      '(502) or timeout (504) stores nothing. A replayed Idempotency-Key returns the stored turn without a model ' +
      'call.\n\n' +
      '**Tools** are run by the caller, never by the server. A reply that calls tools is stored like any other and ' +
      'answered with `awaitingToolResults: true` (parallel calls are one assistant message). Continue with ' +
      '`toolResults` instead of `message`: one result per call, each id once (else 422 tool_results_mismatch); ' +
      'the results and the next reply are committed together on the version that ends with those calls (else ' +
      '409 no_pending_tool_calls). Nothing is stored for a refused continuation.\n\n' +
      '**Streaming**: with `Accept: text/event-stream` the answer is Server-Sent Events: `delta` `{"text"}` as ' +
      'the model writes (the deltas concatenate to the reply text), `tool_call` `{"id","name","arguments"}` per ' +
      'completed call, `restart` `{}` when what came before is void (a lost race regenerates the reply), then ' +
      'exactly one `done` (data: the JSON this operation answers otherwise) or `error` (data: the error body). A ' +
      'failure before the first event is an ordinary error response. A replay streams the stored reply as one ' +
      'delta. The turn completes and commits even if the client goes away. Deployed, the HTTP API answers the ' +
      'stream whole at the end; the streaming REST API (`StreamingApiUrl`) streams it.\n\n' +
      '**Images and files** (content parts: `image_url` data URLs, `image`, `file`, uploads) reach the model: ' +
      'Bedrock as image and document blocks, the OpenAI-compatible provider as image URLs and PDF file parts; ' +
      'the history is chosen on references and only what the model gets is read from S3. ' +
      attachmentsWords,
    request: requests.turn,
    responses: {
      201: { description: 'The turn was committed.', schema: turnResponseSchema },
      200: {
        description:
          'A replay: this Idempotency-Key was used with the same body; the original turn, no model call, ' +
          'nothing appended.',
        schema: turnResponseSchema,
        headers: replayHeaders,
      },
      // Two codes share each of these statuses, which the generated error responses cannot express.
      409: {
        description:
          '`409 version_conflict`: the conversation is not at `expectedVersion` (or lost every retry of a race). ' +
          '`409 no_pending_tool_calls`: a continuation, but the conversation does not end with tool calls ' +
          'awaiting results. Nothing was stored; `currentVersion` is the version now.',
        schema: errorBodySchema,
      },
      422: {
        description:
          '`422 idempotency_key_reused`: this Idempotency-Key was used with a different body. ' +
          '`422 tool_results_mismatch`: `toolResults` do not answer the pending calls exactly (see `missing`, ' +
          '`unknown`, `duplicate`). `422 invalid_upload`: the message references an upload this conversation ' +
          'does not have, or one of another size or type than declared. Nothing was stored.',
        schema: errorBodySchema,
      },
    },
    errors: modelTurnErrors,
  },
  EditHistory: {
    summary: 'Replace the newest messages',
    description:
      'If the conversation ends with `expectedSuffix` now, removes those messages and appends `replacement` in ' +
      'their place, atomically (all or nothing); otherwise 409 suffix_mismatch and nothing changes. With ' +
      '`expectedVersion`, only at that version. `expectedSuffix` compares messages as JSON values, ignoring ' +
      '`seq`, `createdAt` and, where the expected message has none, `id`. Together they hold 1 to 50 ' +
      'messages: an empty `expectedSuffix` appends, an empty `replacement` only removes.\n\n' +
      'Seqs are never reused: the replacement gets new seqs after the current version, so seqs keep ascending ' +
      'but have a gap where messages were removed. An edit that only removes still raises the version by one, ' +
      "so a version seen once never names two different histories: `version` equals the last message's seq " +
      'unless the last change was such a pure removal (then it is one more).',
    request: requests.editHistory,
    responses: {
      200: {
        description:
          'The edit was committed; or, with `Idempotent-Replayed: true`, a replay of an earlier edit with this ' +
          'Idempotency-Key and body (nothing changed; `removed` is empty).',
        schema: editHistoryResponseSchema,
        headers: replayOnlyHeaders,
      },
      // Two codes share 409, which the generated error responses cannot express: described here instead.
      409: {
        description:
          '`409 version_conflict`: the conversation is not at `expectedVersion` (or lost every retry of a race). ' +
          '`409 suffix_mismatch`: the conversation does not end with `expectedSuffix`. Either way nothing ' +
          'changed; `currentVersion` is the version now.',
        schema: errorBodySchema,
      },
      422: keyReusedOrInvalidUpload,
    },
    errors: ['invalid_request', 'payload_too_large', 'idempotency_result_gone', ...authenticatedErrors],
  },
  LoadMessages: {
    summary: 'Load messages',
    description:
      'A page of the conversation, ascending by seq, strongly consistent. Without `after` pages go backward ' +
      '(the newest `limit` below `before`, with `nextBefore`); with `after` they go forward (with `nextAfter`). ' +
      'An unknown conversation is version 0 with no messages.\n\n' +
      'With attachments, values the store moved to S3 come back inline (the messages exactly as sent) while they ' +
      'add at most 1 MiB to the page, in order; the rest as `AttachmentPart`s with a presigned URL (15 minutes). ' +
      'An upload always comes back as an `AttachmentPart`.',
    request: requests.loadMessages,
    responses: { 200: { description: 'A page of messages.', schema: messagePageSchema } },
    errors: ['invalid_request', ...authenticatedErrors],
  },
  GetSummaries: {
    summary: "Get the conversation's summary",
    description:
      'The summary turns give the model in place of the older messages: what the conversation said from `fromSeq` ' +
      'through `throughSeq`, made by the configured model in the background (a compaction never runs in a turn) ' +
      'and kept half a context window behind the newest message. Stored messages are never changed by it. With ' +
      '`recent`, also the newest messages after it, from the same strongly consistent read: "summary + recent", ' +
      'what a turn reads. An unknown conversation is version 0 with no summary.',
    request: requests.summaries,
    responses: {
      200: { description: 'The summary (if any) and the recent messages.', schema: summariesSchema },
    },
    errors: ['invalid_request', ...authenticatedErrors],
  },
  GetConversation: {
    summary: 'Get a conversation',
    description:
      'Its version and counts, title, metadata and their revision, strongly consistent. 404 for a conversation ' +
      'never written, deleted or expired.',
    request: requests.conversation,
    responses: { 200: { description: 'The conversation metadata.', schema: conversationSchema } },
    errors: ['invalid_request', 'not_found', ...authenticatedErrors],
  },
  PatchConversation: {
    summary: 'Change title and metadata',
    description:
      "A JSON merge patch (RFC 7386) of the conversation's `{title, metadata}`: `title` replaces the title (`null` " +
      'removes it); `metadata` is merged into the metadata (a `null` member removes one, objects merge ' +
      'recursively; `metadata: null` removes it all). Messages, `version` and `updatedAt` are untouched, and so ' +
      'is its place in the listing. Each change raises `revision` by one; a PATCH that changes nothing changes ' +
      'no revision. `expectedRevision` (title and metadata) and `expectedVersion` (messages) make it ' +
      'conditional. Exactly once with an Idempotency-Key, also when a response is lost.',
    request: requests.patchConversation,
    responses: {
      200: {
        description:
          'The conversation after the change; or, with `Idempotent-Replayed: true`, the original answer of an ' +
          'earlier PATCH with this Idempotency-Key and body (nothing changed now).',
        schema: conversationSchema,
        headers: replayOnlyHeaders,
      },
      // Two codes share 409, which the generated error responses cannot express: described here instead.
      409: {
        description:
          '`409 revision_conflict`: title and metadata are not at `expectedRevision` (`currentRevision`). ' +
          '`409 version_conflict`: the conversation is not at `expectedVersion` (`currentVersion`). Nothing ' +
          'changed.',
        schema: errorBodySchema,
      },
    },
    errors: [
      'invalid_request',
      'not_found',
      'payload_too_large',
      'idempotency_key_reused',
      ...authenticatedErrors,
    ],
  },
  ListConversations: {
    summary: "List the tenant's conversations",
    description:
      "The caller's tenant's live conversations, newest activity first: by the minute of the last write of " +
      'messages, newest first, then by id, descending (a conversation written within the last minute may sit ' +
      'below one written a few seconds before it). With `prefix` (`user-42:`), only the conversations of that ' +
      'scope, in the same order. Each with its counts, title and metadata, as GET /v1/conversations/{id} ' +
      'answers. Pages of `limit`, following `nextCursor`; a page costs the same however many conversations ' +
      'there are. Deleted and expired conversations never appear. Eventually consistent: a new conversation ' +
      'appears once the listing index has it (typically within a second), a deleted one disappears at once; a ' +
      'conversation written while you page moves to the top, and a traversal shows it at most once.',
    request: requests.listConversations,
    responses: { 200: { description: 'A page of conversations.', schema: conversationPageSchema } },
    errors: ['invalid_request', ...authenticatedErrors],
  },
  DeleteConversation: {
    summary: 'Delete a conversation',
    description:
      'Removes every message, idempotency record and the metadata; afterwards the conversation reads as unknown ' +
      '(version 0). Succeeds also when nothing existed. With attachments, its objects in S3 are deleted too ' +
      '(whatever a cut-short delete leaves, the hourly sweep deletes).',
    request: requests.conversation,
    responses: { 204: { description: 'Deleted (or never existed).' } },
    errors: ['invalid_request', ...authenticatedErrors],
  },
  CreateUpload: {
    summary: 'Upload a file past the request limit',
    description:
      'With attachments: hands out a presigned S3 PUT for one file of the declared size and media type (up to ' +
      "5 GiB), under the caller's tenant and this conversation. PUT the bytes with the returned headers, then " +
      'send a message whose content has the part `{"type": "attachment", "attachment": {"uploadId"}}` ' +
      '(`UploadPart`): the commit checks that the object exists with exactly the declared size and type (else ' +
      '422 invalid_upload) and keeps a copy for the message. Reads give it back as an `AttachmentPart`. An upload ' +
      'no message used is deleted after a day. Without attachments: 400.',
    request: requests.createUpload,
    responses: {
      201: { description: 'Where and how to PUT the file.', schema: createUploadResponseSchema },
    },
    errors: ['invalid_request', ...authenticatedErrors],
  },
  Chat: {
    summary: "Chat with useChat (the AI SDK's UI message stream)",
    description:
      "The endpoint of the AI SDK's `useChat` with `DefaultChatTransport` (`api`: this URL): one agent turn on the " +
      'conversation `id`, answered in the UI message stream protocol (v1). Only the last message of the request ' +
      'is read; the history comes from the store (strongly consistent, as for a turn), never from the client. A ' +
      'user message is the new message: stored as a UI message (its parts as content, its metadata under ' +
      '`metadata.aiSdk`), with the reply as a UI message whose id the server gives (the `start` chunk). An ' +
      'assistant message whose last step has tool parts with outputs continues the turn with those outputs (tools ' +
      'the browser runs: `tools` in the body, `onToolCall`, `addToolOutput`): the continued message is replaced ' +
      'in place, with the outputs and the reply as its next step. The commit is one conditional, idempotent write; ' +
      'the Idempotency-Key defaults to one derived from the message, so a retried request replays the stored ' +
      'reply. The reply is recorded while it streams, for clients that reconnect (`GET /v1/chats/{id}/stream`). ' +
      'Unknown body fields are ignored (DefaultChatTransport adds its own). Streaming front only ' +
      '(`StreamingApiUrl`; the local server).',
    request: requests.chat,
    responses: {
      200: {
        description:
          'The UI message stream (`x-vercel-ai-ui-message-stream: v1`): `start` (the reply message id), ' +
          '`start-step`, `text-start`/`text-delta`/`text-end`, `tool-input-available` per tool call, ' +
          '`reset-step` when a lost race regenerates the reply, `finish-step`, `finish` once committed, or ' +
          '`error` (its `errorText` is the contract error body as JSON), then `data: [DONE]`.',
        eventStream: true,
      },
      409: {
        description:
          '`409 version_conflict`: every retry of a race was lost. `409 no_pending_tool_calls`: tool outputs for ' +
          'a message that is not the newest one, or whose calls are answered already. Nothing was stored.',
        schema: errorBodySchema,
      },
      422: {
        description:
          '`422 idempotency_key_reused`: a message id sent before with other content. `422 ' +
          'tool_results_mismatch`: the outputs do not answer the pending tool calls exactly. Nothing was stored.',
        schema: errorBodySchema,
      },
    },
    errors: modelTurnErrors,
  },
  ResumeChatStream: {
    summary: "Resume a chat's running reply",
    description:
      "Where DefaultChatTransport reconnects (`useChat({ resume: true })`): the chat's running reply from its " +
      'first chunk (a full replay, as DefaultChatTransport expects), then each new chunk as the turn writes it ' +
      '(recorded in batches: about half a second behind), until `finish`. 204 when no reply is running. ' +
      'Streaming front only.',
    request: requests.conversation,
    responses: {
      200: { description: 'The UI message stream of the running reply.', eventStream: true },
      204: { description: 'No reply is running in this chat.' },
    },
    errors: ['invalid_request', ...authenticatedErrors],
  },
  Health: {
    summary: 'Health check',
    request: {},
    responses: { 200: { description: 'The API can serve requests.', schema: healthSchema } },
    errors: [],
  },
};
