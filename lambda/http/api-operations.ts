import type { z } from 'zod';
import { messageInputSchema } from '../memory/message.js';
import {
  appendMessagesBodySchema,
  appendMessagesHeadersSchema,
  appendMessagesResponseSchema,
  conversationPathSchema,
  conversationSchema,
  type ErrorCode,
  errorBodySchema,
  healthSchema,
  loadMessagesQuerySchema,
  messagePageSchema,
  storedMessageSchema,
} from './api-schemas.js';

/*
 * What the OpenAPI document says about each route of ./routes.ts (matched by route id): the same schemas the
 * handlers validate with, plus the words. Documenting a new route means one entry here; scripts/openapi.ts
 * refuses to run while a route has none.
 */

export interface SuccessResponse {
  readonly description: string;
  /** Absent: no body (204). */
  readonly schema?: z.ZodType;
  readonly headers?: Readonly<Record<string, { readonly description: string; readonly schema: object }>>;
}

export interface OperationDoc {
  readonly summary: string;
  readonly description?: string;
  readonly request: {
    readonly path?: z.ZodObject;
    readonly query?: z.ZodObject;
    /** Keys are lower-case header names. */
    readonly headers?: z.ZodObject;
    readonly body?: z.ZodType;
  };
  readonly responses: Readonly<Record<number, SuccessResponse>>;
  /** The contract's errors this route answers with. */
  readonly errors: readonly ErrorCode[];
}

/** Named schemas, emitted under components/schemas and referenced wherever they occur. */
export const namedSchemas: ReadonlyArray<readonly [string, z.ZodType]> = [
  ['MessageInput', messageInputSchema],
  ['AppendMessagesRequest', appendMessagesBodySchema],
  ['StoredMessage', storedMessageSchema],
  ['AppendMessagesResponse', appendMessagesResponseSchema],
  ['MessagePage', messagePageSchema],
  ['Conversation', conversationSchema],
  ['Health', healthSchema],
  ['Error', errorBodySchema],
];

/** Errors of every route behind the authorizer. */
const authenticatedErrors = ['unauthorized', 'forbidden', 'internal', 'unavailable'] as const;

export const operations: Readonly<Record<string, OperationDoc>> = {
  AppendMessages: {
    summary: 'Append messages',
    description:
      'Appends 1 to 50 messages atomically (all or none), at the end or, with `expectedVersion`, only if the ' +
      'conversation is at that version. A message is at most 256 KiB of JSON nested at most 32 levels; the ' +
      'request body at most 1 MiB.',
    request: {
      path: conversationPathSchema,
      headers: appendMessagesHeadersSchema,
      body: appendMessagesBodySchema,
    },
    responses: {
      201: { description: 'The messages were appended.', schema: appendMessagesResponseSchema },
      200: {
        description:
          'A replay: this Idempotency-Key was used with the same body; the original result, nothing appended.',
        schema: appendMessagesResponseSchema,
        headers: {
          'Idempotent-Replayed': {
            description: 'Always `true`: the response is the stored result of an earlier request.',
            schema: { type: 'string', const: 'true' },
          },
        },
      },
    },
    errors: [
      'invalid_request',
      'version_conflict',
      'payload_too_large',
      'idempotency_key_reused',
      ...authenticatedErrors,
    ],
  },
  LoadMessages: {
    summary: 'Load messages',
    description:
      'A page of the conversation, ascending by seq, strongly consistent. Without `after` pages go backward ' +
      '(the newest `limit` below `before`, with `nextBefore`); with `after` they go forward (with `nextAfter`). ' +
      'An unknown conversation is version 0 with no messages.',
    request: { path: conversationPathSchema, query: loadMessagesQuerySchema },
    responses: { 200: { description: 'A page of messages.', schema: messagePageSchema } },
    errors: ['invalid_request', ...authenticatedErrors],
  },
  GetConversation: {
    summary: 'Get a conversation',
    request: { path: conversationPathSchema },
    responses: { 200: { description: 'The conversation metadata.', schema: conversationSchema } },
    errors: ['invalid_request', 'not_found', ...authenticatedErrors],
  },
  DeleteConversation: {
    summary: 'Delete a conversation',
    description:
      'Removes every message, idempotency record and the metadata; afterwards the conversation reads as unknown ' +
      '(version 0). Succeeds also when nothing existed.',
    request: { path: conversationPathSchema },
    responses: { 204: { description: 'Deleted (or never existed).' } },
    errors: ['invalid_request', ...authenticatedErrors],
  },
  Health: {
    summary: 'Health check',
    request: {},
    responses: { 200: { description: 'The API can serve requests.', schema: healthSchema } },
    errors: [],
  },
};

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
  payload_too_large: 'A message over 256 KiB of JSON, or a request body over 1 MiB. Nothing was stored.',
  idempotency_key_reused: 'This Idempotency-Key was already used in this conversation with a different body.',
  throttled: 'Too many requests; retry after Retry-After seconds.',
  internal: "An unexpected failure; details are in the server's logs only.",
  unavailable:
    'DynamoDB is throttling or unreachable, or the conversation is under extreme contention; retry after Retry-After seconds.',
};
