import { z } from 'zod';
import { conversationIdSchema, idempotencyKeySchema, limits, messageInputSchema } from '../memory/message.js';

/*
 * The HTTP API's schemas: handlers validate with them, their TypeScript types come from them (z.infer) and
 * scripts/openapi.ts documents the API from them. The message schemas are the store's own (../memory/message.ts).
 */

/** A request body over this many bytes is `413 payload_too_large` (the contract's 1 MiB). */
export const maxRequestBodyBytes = 1024 * 1024;

/** Messages per page of a load (the store's own bounds). */
export const pageLimits = { min: 1, max: limits.maxPageSize, default: limits.pageSize } as const;

/** Every error code of the contract, with its status. */
export const errorStatus = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  version_conflict: 409,
  payload_too_large: 413,
  idempotency_key_reused: 422,
  throttled: 429,
  internal: 500,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof errorStatus;
export const errorCodeSchema = z.enum(Object.keys(errorStatus) as [ErrorCode, ...ErrorCode[]]);

// ---- Requests ----

export const conversationPathSchema = z.object({
  conversationId: conversationIdSchema.describe(
    "The conversation: 1-256 characters of A-Z a-z 0-9 . _ : @ -, case-sensitive, scoped to the caller's tenant.",
  ),
});

export const appendMessagesHeadersSchema = z.object({
  'idempotency-key': idempotencyKeySchema
    .describe(
      'Makes the append safe to retry for the lifetime of the conversation: the same key with the same body returns ' +
        'the original result (200, Idempotent-Replayed: true); with a different body it is 422.',
    )
    .optional(),
});

/**
 * How deep an append body may nest: a message sits two levels below the root (`{"messages": [ ... ]}`), so
 * this is exactly the store's per-message limit (32, DynamoDB's), checked before anything recurses into it.
 */
export const appendBodyMaxDepth = limits.jsonDepth + 2;

export const appendMessagesBodySchema = z.strictObject({
  messages: z.array(messageInputSchema).min(1).max(limits.messagesPerAppend),
  expectedVersion: z
    .int()
    .min(0)
    .describe('Commit only if the conversation is at this version, else 409 version_conflict.')
    .optional(),
});

/** A query value that must be an integer: digits only, so `1e3`, `0x10`, ` 5` and `5.0` are 400s. */
const integerParameter = (bounds: z.ZodInt) =>
  z.string().regex(/^\d+$/, 'must be an integer').transform(Number).pipe(bounds);

export const loadMessagesQuerySchema = z.strictObject({
  limit: integerParameter(z.int().min(pageLimits.min).max(pageLimits.max))
    .default(pageLimits.default)
    .describe('How many messages to return at most.'),
  before: integerParameter(z.int().min(0))
    .describe('Exclusive upper seq bound. Without `after`, pages go backward from here (newest first).')
    .optional(),
  after: integerParameter(z.int().min(0))
    .describe('Exclusive lower seq bound. Pages go forward from here (oldest first).')
    .optional(),
});

export type AppendMessagesBody = z.infer<typeof appendMessagesBodySchema>;
export type LoadMessagesQuery = z.infer<typeof loadMessagesQuerySchema>;

// ---- Responses ----

const version = z
  .int()
  .min(0)
  .describe('The seq of the last message of the conversation, 0 when it has none.');

export const storedMessageSchema = messageInputSchema.extend({
  id: z.string().describe('The id the client gave, or a server-generated sortable id (ULID).'),
  seq: z.int().min(1).describe('1-based, contiguous within the conversation.'),
  createdAt: z.iso.datetime().describe('When the message was appended (ISO-8601 UTC).'),
});

export const appendMessagesResponseSchema = z.object({
  conversationId: z.string(),
  version,
  messages: z.array(storedMessageSchema).describe('The appended messages, in order.'),
});

export const messagePageSchema = z.object({
  conversationId: z.string(),
  version,
  messages: z.array(storedMessageSchema).describe('Ascending by seq.'),
  nextBefore: z
    .int()
    .min(1)
    .nullable()
    .describe('Backward pages (no `after`): the `before` of the next older page, null when none is left.')
    .optional(),
  nextAfter: z
    .int()
    .min(0)
    .nullable()
    .describe('Forward pages (`after` given): the `after` of the next newer page, null when none is left.')
    .optional(),
});

export const conversationSchema = z.object({
  conversationId: z.string(),
  version,
  messageCount: z.int().min(0),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  expiresAt: z.iso
    .datetime()
    .describe('When the conversation expires, if the stack sets a retention.')
    .optional(),
});

export const healthSchema = z.object({ status: z.literal('ok') });

export const errorBodySchema = z.object({
  error: z.looseObject({
    code: errorCodeSchema,
    message: z.string().describe('A human sentence.'),
    currentVersion: z
      .int()
      .min(0)
      .describe('version_conflict: the version of the conversation now.')
      .optional(),
    requestId: z.string().describe('internal: quote it when reporting the failure.').optional(),
  }),
});

export type AppendMessagesResponse = z.infer<typeof appendMessagesResponseSchema>;
export type MessagePage = z.infer<typeof messagePageSchema>;
export type ConversationResponse = z.infer<typeof conversationSchema>;
export type HealthResponse = z.infer<typeof healthSchema>;
export type ErrorBody = z.infer<typeof errorBodySchema>;
