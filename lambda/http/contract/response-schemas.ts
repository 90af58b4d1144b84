import { errorCodes } from '../../memory/error-codes.js';
import { messageInputSchema } from '../../memory/message.js';
import * as z from '../../validation/zod.js';

/*
 * What the HTTP API answers, and the shapes only its documentation names. Only the OpenAPI document
 * (./openapi-operations.ts) and the tests evaluate these schemas; handlers import their types alone, so no
 * function's bundle builds them at cold start.
 */

/** The contract's error codes (the one list: ../../memory/error-codes.ts). */
export const errorCodeSchema = z.enum(errorCodes);

const version = z
  .int()
  .check(
    z.minimum(0),
    z.describe(
      'The seq of the last message of the conversation, 0 when it has none; one more when its last change was ' +
        'an edit that only removed messages (versions never repeat).',
    ),
  );

export const storedMessageSchema = z.extend(messageInputSchema, {
  id: z.string().check(z.describe('The id the client gave, or a server-generated sortable id (ULID).')),
  seq: z.int().check(z.minimum(1), z.describe('1-based, contiguous within the conversation.')),
  createdAt: z.iso.datetime().check(z.describe('When the message was appended (ISO-8601 UTC).')),
});

export const appendMessagesResponseSchema = z.object({
  conversationId: z.string(),
  version,
  messages: z.array(storedMessageSchema).check(z.describe('The appended messages, in order.')),
});

const seq = z.int().check(z.minimum(1));

export const turnContextSchema = z
  .object({
    messages: z
      .int()
      .check(z.minimum(0), z.describe('Stored messages given to the model as they are (after the summary).')),
    summary: z.nullable(
      z
        .object({
          fromSeq: seq,
          throughSeq: seq,
          messageCount: z.int().check(z.minimum(1), z.describe('How many messages the summary covers.')),
        })
        .check(
          z.describe(
            "The conversation's summary the model was given in place of the messages it covers (seq fromSeq through " +
              'throughSeq); null when there was none.',
          ),
        ),
    ),
    omitted: z
      .int()
      .check(
        z.minimum(0),
        z.describe(
          'Stored messages the model saw neither in the summary nor as messages: newer than the summary, older ' +
            'than the window (0 while the summaries keep up).',
        ),
      ),
  })
  .check(z.describe('What the model was given of the stored conversation.'));

export const turnResponseSchema = z.object({
  conversationId: z.string(),
  version,
  messages: z
    .array(storedMessageSchema)
    .check(
      z.describe('The committed messages: the user message (or the tool results, in order), then the reply.'),
    ),
  reply: storedMessageSchema.check(
    z.describe(
      "The assistant's reply as stored (the last of `messages`); `metadata` holds `model`, `contextMessages`, `context`, " +
        "and the provider's `stopReason` and token `usage`.",
    ),
  ),
  awaitingToolResults: z
    .boolean()
    .check(
      z.describe(
        'True when the reply calls tools (`reply.toolCalls`): run them and continue with `toolResults`.',
      ),
    ),
  contextMessages: z
    .int()
    .check(z.minimum(0), z.describe('How many stored messages the model was given as history.')),
  context: turnContextSchema,
  model: z.string().check(z.describe('The model id that wrote the reply.')),
});

export const editHistoryResponseSchema = z.object({
  conversationId: z.string(),
  version,
  removed: z
    .array(storedMessageSchema)
    .check(z.describe('The messages the edit removed, oldest first (empty on a replay).')),
  messages: z.array(storedMessageSchema).check(z.describe('The replacement, as stored (with its new seqs).')),
});

export const messagePageSchema = z.object({
  conversationId: z.string(),
  version,
  messages: z.array(storedMessageSchema).check(z.describe('Ascending by seq.')),
  nextBefore: z.optional(
    z
      .nullable(z.int().check(z.minimum(1)))
      .check(
        z.describe(
          'Backward pages (no `after`): the `before` of the next older page, null when none is left.',
        ),
      ),
  ),
  nextAfter: z.optional(
    z
      .nullable(z.int().check(z.minimum(0)))
      .check(
        z.describe(
          'Forward pages (`after` given): the `after` of the next newer page, null when none is left.',
        ),
      ),
  ),
});

export const conversationSchema = z.object({
  conversationId: z.string(),
  version,
  messageCount: z.int().check(z.minimum(0)),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso
    .datetime()
    .check(z.describe('When messages were last written (a PATCH does not change it).')),
  expiresAt: z.optional(
    z.iso.datetime().check(z.describe('When the conversation expires, if the stack sets a retention.')),
  ),
  title: z.optional(z.string().check(z.describe('The title, if it has one.'))),
  metadata: z.optional(
    z.record(z.string(), z.unknown()).check(z.describe('The metadata (a JSON object), if it has any.')),
  ),
  revision: z
    .int()
    .check(
      z.minimum(0),
      z.describe('How many PATCHes changed title or metadata; the `expectedRevision` of the next one.'),
    ),
});

export const conversationPageSchema = z.object({
  conversations: z
    .array(conversationSchema)
    .check(
      z.describe(
        'Newest activity first: by the minute of the last write of messages, newest first, then by id, ' +
          'descending. At most `limit`; fewer while `nextCursor` is not null only when conversations died ' +
          'while the page was read.',
      ),
    ),
  nextCursor: z
    .nullable(z.string())
    .check(z.describe('The `cursor` of the next page; null when none is left.')),
});

export const createUploadResponseSchema = z.object({
  uploadId: z
    .string()
    .check(
      z.describe(
        'Reference it in a message of this conversation as `{"type": "attachment", "attachment": {"uploadId"}}`.',
      ),
    ),
  method: z.literal('PUT'),
  url: z.string().check(z.describe("A presigned S3 URL: PUT the file's bytes here, before `expiresAt`.")),
  headers: z
    .record(z.string(), z.string())
    .check(z.describe('Send these headers with the PUT (the URL is signed for them and for the size).')),
  expiresAt: z.iso
    .datetime()
    .check(z.describe('The URL works until then; an unused upload is deleted after a day.')),
});

/**
 * An attachment part as reads give it (documentation: messages' content parts are open objects): a value the
 * store moved to S3, by reference (lambda/memory/attachments/presentation.ts).
 */
export const attachmentPartSchema = z.object({
  type: z.literal('attachment'),
  attachment: z.object({
    id: z.string().check(z.describe("The object's id within the conversation.")),
    mediaType: z.string(),
    bytes: z.int().check(z.describe("The object's size in bytes.")),
    sha256: z.optional(z.string().check(z.describe('SHA-256 of the bytes, hex (not for uploads).'))),
    filename: z.optional(z.string().check(z.describe('Uploads: the file name declared with the upload.'))),
    url: z.string().check(z.describe('A presigned GET of the bytes, valid until `urlExpiresAt`.')),
    urlExpiresAt: z.iso.datetime(),
    restore: z.optional(
      z
        .looseObject({
          as: z.enum(['content', 'part', 'field']),
          encoding: z.enum(['utf8', 'json', 'base64', 'data_url']),
        })
        .check(
          z.describe(
            'How the bytes become the value as it was sent: `content` (the whole string content), `part` (this ' +
              'part is the value, JSON), `field` (`part` with the value at `path`; `prefix`: a data URL up to its ' +
              'comma). Absent for uploads: they have no inline form. The clients do this for you.',
          ),
        ),
    ),
  }),
});

/** What a message sends to use an upload (POST .../uploads) as a content part. */
export const uploadPartSchema = z.object({
  type: z.literal('attachment'),
  attachment: z.object({
    uploadId: z.string().check(z.describe('The `uploadId` of a finished upload of this conversation.')),
  }),
});

export const summarySchema = z.object({
  fromSeq: seq.check(z.describe('The first seq it covers (the conversation began there).')),
  throughSeq: seq.check(z.describe('The last seq it covers: the messages after it are not in it.')),
  messageCount: z.int().check(z.minimum(1), z.describe('How many messages it covers.')),
  text: z.string().check(z.describe('The summary, as the model wrote it.')),
  createdAt: z.iso.datetime().check(z.describe('When it was made (ISO-8601 UTC).')),
  model: z.string().check(z.describe('The model that wrote it.')),
  basedOn: z
    .int()
    .check(
      z.minimum(0),
      z.describe('The throughSeq of the summary it folded in; 0 when it was made from the messages alone.'),
    ),
  usage: z.optional(
    z.object({
      inputTokens: z.optional(z.int()),
      outputTokens: z.optional(z.int()),
      totalTokens: z.optional(z.int()),
    }),
  ),
});

export const summariesSchema = z.object({
  conversationId: z.string(),
  version,
  summaries: z
    .array(summarySchema)
    .check(
      z.describe(
        "The conversation's current summary, the one turns use (at most one: each new summary folds in the " +
          'previous one and replaces it); empty while there is none yet, or after an edit removed messages it ' +
          'covered (the compactor then makes a new one).',
      ),
    ),
  messages: z
    .array(storedMessageSchema)
    .check(z.describe('The newest `recent` messages after the summary, ascending (empty without `recent`).')),
});

export const healthSchema = z.object({ status: z.literal('ok') });

export const errorBodySchema = z.object({
  error: z.looseObject({
    code: errorCodeSchema,
    message: z.string().check(z.describe('A human sentence.')),
    currentVersion: z.optional(
      z
        .int()
        .check(
          z.minimum(0),
          z.describe(
            'version_conflict, suffix_mismatch, no_pending_tool_calls: the version of the conversation now.',
          ),
        ),
    ),
    currentRevision: z.optional(
      z.int().check(z.minimum(0), z.describe('revision_conflict: the revision of title and metadata now.')),
    ),
    requestId: z.optional(z.string().check(z.describe('internal: quote it when reporting the failure.'))),
    missing: z.optional(
      z.array(z.string()).check(z.describe('tool_results_mismatch: pending tool call ids without a result.')),
    ),
    unknown: z.optional(
      z.array(z.string()).check(z.describe('tool_results_mismatch: result ids that name no pending call.')),
    ),
    duplicate: z.optional(
      z.array(z.string()).check(z.describe('tool_results_mismatch: ids with more than one result.')),
    ),
  }),
});

export type AppendMessagesResponse = z.infer<typeof appendMessagesResponseSchema>;
export type TurnResponse = z.infer<typeof turnResponseSchema>;
export type EditHistoryResponse = z.infer<typeof editHistoryResponseSchema>;
export type MessagePage = z.infer<typeof messagePageSchema>;
export type ConversationResponse = z.infer<typeof conversationSchema>;
export type ConversationPageResponse = z.infer<typeof conversationPageSchema>;
export type SummariesResponse = z.infer<typeof summariesSchema>;
export type HealthResponse = z.infer<typeof healthSchema>;
export type CreateUploadResponse = z.infer<typeof createUploadResponseSchema>;
export type ErrorBody = z.infer<typeof errorBodySchema>;
