import { toolResultsSchema } from '../../agent/tool-results.js';
import { toolChoiceSchema, toolsSchema } from '../../agent/tools.js';
import { turnMessageSchema } from '../../agent/turn-message.js';
import { listLimits } from '../../memory/list.js';
import {
  conversationIdSchema,
  idempotencyKeySchema,
  limits,
  messageInputSchema,
} from '../../memory/message.js';
import { conversationLimits, titleSchema } from '../../memory/metadata.js';
import * as z from '../../validation/zod.js';

/*
 * What the HTTP API accepts: handlers validate with these schemas, their TypeScript types come from them (z.infer)
 * and scripts/openapi.ts documents the API from them (what it answers: ./response-schemas.ts). The message schemas
 * are the store's own (../../memory/message.ts).
 */

/** A request body over this many bytes is `413 payload_too_large` (the contract's 1 MiB). */
export const maxRequestBodyBytes = 1024 * 1024;

/** Messages per page of a load (the store's own bounds). */
export const pageLimits = { min: 1, max: limits.maxPageSize, default: limits.pageSize } as const;

/**
 * How deep a write body may nest, checked before anything recurses into it: messages sit at most two levels below
 * the root (`{"messages": [ ... ]}`), so this is the store's per-message limit (32, DynamoDB's) for each of them.
 */
export const maxBodyDepth = limits.jsonDepth + 2;

/** The `Idempotency-Key` header of a write route. */
const idempotencyKeyHeader = (description: string) =>
  z.optional(idempotencyKeySchema.check(z.describe(description)));

/** The `expectedVersion` of a write body. */
const expectedVersionField = (description: string) =>
  z.optional(z.int().check(z.minimum(0), z.describe(description)));

export const conversationPathSchema = z.object({
  conversationId: conversationIdSchema.check(
    z.describe(
      "The conversation: 1-256 characters of A-Z a-z 0-9 . _ : @ -, case-sensitive, scoped to the caller's tenant.",
    ),
  ),
});

export const appendMessagesHeadersSchema = z.object({
  'idempotency-key': idempotencyKeyHeader(
    'Makes the append safe to retry for the lifetime of the conversation: the same key with the same body ' +
      'returns the original result (200, Idempotent-Replayed: true); with a different body it is 422.',
  ),
});

/** A title given with a write of messages: it titles the conversation that write starts. */
const startingTitle = z.optional(
  titleSchema.check(
    z.describe(
      'The title of the conversation, if this write starts it (its first write, or the first after a delete or ' +
        'expiry); ignored when the conversation exists (PATCH renames it).',
    ),
  ),
);

export const appendMessagesBodySchema = z.strictObject({
  messages: z.array(messageInputSchema).check(z.minLength(1), z.maxLength(limits.messagesPerAppend)),
  expectedVersion: expectedVersionField(
    'Commit only if the conversation is at this version, else 409 version_conflict.',
  ),
  title: startingTitle,
});

/** A query value that must be an integer: digits only, so `1e3`, `0x10`, ` 5` and `5.0` are 400s. */
const integerParameter = (bounds: z.ZodMiniNumberFormat) =>
  z.pipe(z.pipe(z.string().check(z.regex(/^\d+$/, 'must be an integer')), z.transform(Number)), bounds);

export const loadMessagesQuerySchema = z.strictObject({
  limit: z
    ._default(
      integerParameter(z.int().check(z.minimum(pageLimits.min), z.maximum(pageLimits.max))),
      pageLimits.default,
    )
    .check(z.describe('How many messages to return at most.')),
  before: z.optional(
    integerParameter(z.int().check(z.minimum(0))).check(
      z.describe('Exclusive upper seq bound. Without `after`, pages go backward from here (newest first).'),
    ),
  ),
  after: z.optional(
    integerParameter(z.int().check(z.minimum(0))).check(
      z.describe('Exclusive lower seq bound. Pages go forward from here (oldest first).'),
    ),
  ),
});

export const summariesQuerySchema = z.strictObject({
  recent: z
    ._default(integerParameter(z.int().check(z.minimum(0), z.maximum(pageLimits.max))), 0)
    .check(
      z.describe(
        'Also return the newest this many messages after the summary (0-1000): "summary + recent", what a turn ' +
          'reads, in one strongly consistent read.',
      ),
    ),
});

export const turnHeadersSchema = z.object({
  accept: z.optional(
    z
      .string()
      .check(
        z.describe(
          '`text/event-stream` streams the turn as Server-Sent Events (delta, tool_call, restart, then done or ' +
            'error); anything else answers JSON when the turn is committed.',
        ),
      ),
  ),
  'idempotency-key': idempotencyKeyHeader(
    'Makes the turn safe to retry for the lifetime of the conversation: the same key with the same body ' +
      'returns the original turn (200, Idempotent-Replayed: true) without calling the model; with a ' +
      'different body it is 422. Keys are shared with appends and edits of the same conversation.',
  ),
});

export const turnBodySchema = z
  .strictObject({
    message: z.optional(
      turnMessageSchema.check(
        z.describe(
          'The user message: a non-blank string, or a message of role `user` with non-empty content (stored ' +
            'exactly as sent). Exactly one of `message` and `toolResults`.',
        ),
      ),
    ),
    toolResults: z.optional(toolResultsSchema),
    tools: z.optional(toolsSchema),
    toolChoice: z.optional(
      toolChoiceSchema.check(
        z.describe(
          '`auto` (default: the model decides), `none`, `required` (at least one call), or `{"name"}` (that tool).',
        ),
      ),
    ),
    expectedVersion: expectedVersionField(
      'Run the turn only if the conversation is at this version (else 409 version_conflict, no model call), ' +
        'and commit only on it.',
    ),
    system: z.optional(
      z
        .string()
        .check(
          z.describe(
            'A system prompt for this turn: sent to the model before the history, not stored (but part of what ' +
              'makes a retry with the same Idempotency-Key the same request).',
          ),
        ),
    ),
    title: startingTitle,
  })
  .check(
    z.refine(
      (body) => (body.message === undefined) !== (body.toolResults === undefined),
      'a turn takes either message or toolResults (exactly one)',
    ),
  );

export const editHistoryHeadersSchema = z.object({
  'idempotency-key': idempotencyKeyHeader(
    'Makes the edit safe to retry for the lifetime of the conversation: the same key with the same body ' +
      'returns the original result (200, Idempotent-Replayed: true, `removed` empty) and changes nothing; ' +
      'with a different body it is 422. Keys are shared with appends and turns of the same conversation.',
  ),
});

export const editHistoryBodySchema = z
  .strictObject({
    expectedSuffix: z
      .array(messageInputSchema)
      .check(
        z.maxLength(limits.messagesPerAppend),
        z.describe(
          'The messages the conversation must end with now, oldest first, as sent when appended (compared as ' +
            'JSON values, ignoring seq, createdAt and, where not given here, id). They are removed.',
        ),
      ),
    replacement: z
      .array(messageInputSchema)
      .check(
        z.maxLength(limits.messagesPerAppend),
        z.describe('The messages appended in their place, in order (new seqs after the current version).'),
      ),
    expectedVersion: expectedVersionField(
      'Edit only if the conversation is at this version, else 409 version_conflict.',
    ),
  })
  .check(
    z.refine(({ expectedSuffix, replacement }) => {
      const total = expectedSuffix.length + replacement.length;
      return total >= 1 && total <= limits.messagesPerAppend;
    }, `expectedSuffix and replacement must hold 1 to ${limits.messagesPerAppend} messages together`),
  );

export const createUploadBodySchema = z.strictObject({
  bytes: z
    .int()
    .check(
      z.minimum(1),
      z.maximum(limits.uploadBytes),
      z.describe(
        "The file's exact size in bytes (at most 5 GiB, one S3 PUT); the PUT must send exactly this many.",
      ),
    ),
  mediaType: z
    .string()
    .check(
      z.regex(/^[\w.+-]{1,127}\/[\w.+-]{1,127}$/, 'must be a media type such as application/pdf'),
      z.describe("The file's media type; the PUT must send it as Content-Type."),
    ),
  filename: z.optional(
    z
      .string()
      .check(z.minLength(1), z.maxLength(255), z.describe('Kept with the attachment and given back.')),
  ),
});

// ---- Chats: the AI SDK's useChat (lambda/chat/) ----

export const uiMessageSchema = z.looseObject({
  id: z
    .string()
    .check(
      z.minLength(1),
      z.maxLength(limits.idLength),
      z.describe('Kept as the stored message id (user messages: the id useChat gave it).'),
    ),
  role: z.enum(['system', 'user', 'assistant']),
  metadata: z.optional(z.unknown().check(z.describe("The application's message metadata, stored as is."))),
  parts: z
    .array(z.looseObject({ type: z.string() }))
    .check(
      z.describe(
        'text, file, reasoning, tool-<name>, dynamic-tool, data-<name>, source-*, step-start parts.',
      ),
    ),
});

export const chatHeadersSchema = z.object({
  'idempotency-key': idempotencyKeyHeader(
    "By default derived from the new message's id (or from the continued message's id and its answered tool " +
      'call ids), so a retried request replays the stored reply and a reused id with other content is 422.',
  ),
});

export const listConversationsQuerySchema = z.strictObject({
  limit: z
    ._default(
      integerParameter(z.int().check(z.minimum(1), z.maximum(listLimits.maxPageSize))),
      listLimits.pageSize,
    )
    .check(z.describe('How many conversations to return at most.')),
  cursor: z.optional(
    z
      .string()
      .check(
        z.regex(/^[A-Za-z0-9_-]{1,400}$/, "must be a page's nextCursor"),
        z.describe('The `nextCursor` of the previous page.'),
      ),
  ),
  prefix: z.optional(
    z
      .string()
      .check(
        z.regex(
          /^[A-Za-z0-9._@-]{1,255}:$/,
          "must be the part of a conversation id before its first ':', with the ':' (e.g. user-42:)",
        ),
        z.describe(
          "Only the conversations whose id starts with this scope: the part of an id before its first ':', " +
            'with the `:` (`user-42:` lists `user-42:ticket-7`, not `user-421:x` nor `user-42`), newest first.',
        ),
      ),
  ),
});

export const patchConversationHeadersSchema = z.object({
  'idempotency-key': idempotencyKeyHeader(
    'Makes the PATCH safe to retry for the lifetime of the conversation: the same key with the same body ' +
      'returns the original result (Idempotent-Replayed: true) and changes nothing; with a different body it ' +
      'is 422. Keys are shared with the conversation’s appends, turns and edits.',
  ),
});

export const chatBodySchema = z
  .looseObject({
    id: conversationIdSchema.check(
      z.describe("The chat: the conversation id (useChat's `id`), scoped to the caller's tenant."),
    ),
    message: z.optional(
      uiMessageSchema.check(
        z.describe(
          'The new message (DefaultChatTransport with prepareSendMessagesRequest). Send only this one.',
        ),
      ),
    ),
    messages: z.optional(
      z
        .array(uiMessageSchema)
        .check(
          z.minLength(1),
          z.describe(
            "DefaultChatTransport's default body: every message of the chat. Only the last one is read; the " +
              'history comes from the store.',
          ),
        ),
    ),
    trigger: z.optional(z.enum(['submit-message', 'regenerate-message'])),
    messageId: z.optional(z.string()),
    tools: z.optional(toolsSchema),
    toolChoice: z.optional(toolChoiceSchema),
    system: z.optional(z.string().check(z.describe('A system prompt for this turn (not stored).'))),
  })
  .check(
    z.refine(
      (body) => body.message !== undefined || body.messages !== undefined,
      'a chat request carries `message` or `messages`',
    ),
  );

export type ChatBody = z.infer<typeof chatBodySchema>;

export const patchConversationBodySchema = z
  .strictObject({
    title: z.optional(
      z.nullable(titleSchema).check(z.describe('The new title (1-256 characters); `null` removes it.')),
    ),
    metadata: z.optional(
      z
        .nullable(z.record(z.string(), z.unknown()))
        .check(
          z.describe(
            'Merged into the metadata (JSON merge patch, RFC 7386): each member replaces the one of its name, ' +
              `a \`null\` member removes it, objects merge recursively; \`null\` removes all metadata. At most ` +
              `${conversationLimits.metadataBytes} bytes of JSON once merged.`,
          ),
        ),
    ),
    expectedVersion: expectedVersionField(
      'Change only if the conversation (its messages) is at this version, else 409 version_conflict.',
    ),
    expectedRevision: z.optional(
      z
        .int()
        .check(
          z.minimum(0),
          z.describe(
            'Change only if title and metadata are at this revision, else 409 revision_conflict (for a ' +
              'read-modify-write of the metadata).',
          ),
        ),
    ),
  })
  .check(
    z.refine(
      (body) => body.title !== undefined || body.metadata !== undefined,
      'a PATCH changes title, metadata or both',
    ),
  );

/** What each route reads from a request, by part: its handler validates with it, the OpenAPI document shows it. */
export const requests = {
  conversation: { path: conversationPathSchema },
  appendMessages: {
    path: conversationPathSchema,
    headers: appendMessagesHeadersSchema,
    body: appendMessagesBodySchema,
  },
  turn: { path: conversationPathSchema, headers: turnHeadersSchema, body: turnBodySchema },
  editHistory: {
    path: conversationPathSchema,
    headers: editHistoryHeadersSchema,
    body: editHistoryBodySchema,
  },
  loadMessages: { path: conversationPathSchema, query: loadMessagesQuerySchema },
  createUpload: { path: conversationPathSchema, body: createUploadBodySchema },
  summaries: { path: conversationPathSchema, query: summariesQuerySchema },
  chat: { headers: chatHeadersSchema, body: chatBodySchema },
  patchConversation: {
    path: conversationPathSchema,
    headers: patchConversationHeadersSchema,
    body: patchConversationBodySchema,
  },
  listConversations: { query: listConversationsQuerySchema },
} as const;

export type AppendMessagesBody = z.infer<typeof appendMessagesBodySchema>;
export type LoadMessagesQuery = z.infer<typeof loadMessagesQuerySchema>;
export type SummariesQuery = z.infer<typeof summariesQuerySchema>;
export type TurnBody = z.infer<typeof turnBodySchema>;
export type EditHistoryBody = z.infer<typeof editHistoryBodySchema>;
