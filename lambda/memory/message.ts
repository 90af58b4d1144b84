import { describeIssues } from '../validation/issues.js';
import * as z from '../validation/zod.js';
import { InvalidRequestError, PayloadTooLargeError } from './errors.js';

/** Limits of the HTTP contract, enforced by the store itself so that embedders get them too. */
export const limits = {
  messagesPerAppend: 50,
  /** A message as stored in its item (with attachments: after its large values moved to S3). */
  messageBytes: 256 * 1024,
  /**
   * A request body of the routes that take messages, with attachments: Lambda takes at most 6 MB (6,291,456
   * bytes) per invocation, API Gateway's event around the body included; this leaves that envelope ~290 KB.
   */
  contentRequestBytes: 6_000_000,
  /** An upload (S3 takes at most 5 GiB in one PUT). */
  uploadBytes: 5 * 1024 ** 3,
  /** DynamoDB refuses a transaction over 4 MB; stay clearly below it with keys and attributes counted. */
  appendBytes: 4_000_000,
  jsonDepth: 32,
  idLength: 128,
  /** Messages per page of a load: the default and the maximum. */
  pageSize: 50,
  maxPageSize: 1000,
  /** A summary's text: it is read with every turn, so it stays small. */
  summaryBytes: 32 * 1024,
} as const;

export const conversationIdSchema = z
  .string()
  .check(z.regex(/^[A-Za-z0-9._:@-]{1,256}$/, 'must be 1-256 characters of A-Z a-z 0-9 . _ : @ -'));

export const idempotencyKeySchema = z
  .string()
  .check(z.regex(/^[\x20-\x7e]{1,255}$/, 'must be 1-255 printable ASCII characters'));

const contentPartSchema = z.looseObject({ type: z.string() });

const toolCallSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  arguments: z.union([z.string(), z.record(z.string(), z.unknown())]),
});

export const roleSchema = z.enum(['system', 'developer', 'user', 'assistant', 'tool']);

export const messageInputSchema = z.strictObject({
  id: z.optional(z.string().check(z.minLength(1), z.maxLength(limits.idLength))),
  role: roleSchema,
  content: z.union([z.string(), z.array(contentPartSchema)]),
  name: z.optional(z.string()),
  toolCalls: z.optional(z.array(toolCallSchema)),
  toolCallId: z.optional(z.string()),
  metadata: z.optional(z.record(z.string(), z.unknown())),
});

export type MessageInput = z.infer<typeof messageInputSchema>;

/** A message as stored and returned: the input exactly, plus its place in the conversation. */
export type StoredMessage = MessageInput & { id: string; seq: number; createdAt: string };

/** JSON nesting depth: a scalar is 0, `{}` or `[]` is 1. Iterative, so hostile input cannot overflow the stack. */
export function jsonDepth(value: unknown): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (node === null || typeof node !== 'object') continue;
    max = Math.max(max, depth + 1);
    if (max > 1000) return max;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return max;
}

/**
 * Validates a batch for append and returns each message as plain JSON (what will be stored, byte for byte)
 * with its serialized size. The original objects are kept, not zod's output, so unknown keys inside
 * content parts, tool calls and metadata, and their order, survive the round trip.
 */
export function parseMessages(
  messages: unknown,
  options: {
    allowEmpty?: boolean;
    /** Larger messages are 413. @default limits.messageBytes */
    maxMessageBytes?: number;
    /** Larger batches are 413. @default limits.appendBytes */
    maxTotalBytes?: number;
  } = {},
): Array<{ message: MessageInput; bytes: number }> {
  const maxMessageBytes = options.maxMessageBytes ?? limits.messageBytes;
  const maxTotalBytes = options.maxTotalBytes ?? limits.appendBytes;
  const min = options.allowEmpty ? 0 : 1;
  if (!Array.isArray(messages) || messages.length < min || messages.length > limits.messagesPerAppend) {
    throw new InvalidRequestError(
      `messages must be an array of ${min} to ${limits.messagesPerAppend} messages.`,
    );
  }
  let total = 0;
  const parsed = messages.map((input, index) => {
    // Depth first: it is iterative, while JSON.stringify would overflow the stack on hostile nesting.
    if (jsonDepth(input) > limits.jsonDepth) {
      throw new InvalidRequestError(`messages.${index} is nested deeper than ${limits.jsonDepth} levels.`);
    }
    const json = JSON.stringify(input);
    const bytes = Buffer.byteLength(json ?? '');
    if (bytes > maxMessageBytes) {
      throw new PayloadTooLargeError(
        `messages.${index} is ${bytes} bytes of JSON; the limit is ${maxMessageBytes}${
          maxMessageBytes === limits.messageBytes ? ' (256 KiB)' : ''
        }.`,
      );
    }
    const message: unknown = json === undefined ? undefined : JSON.parse(json);
    const result = messageInputSchema.safeParse(message);
    if (!result.success) {
      throw new InvalidRequestError(`messages.${index}: ${describeIssues(result.error)}`);
    }
    total += bytes;
    return { message: message as MessageInput, bytes };
  });
  if (total > maxTotalBytes) {
    throw new PayloadTooLargeError(
      `The messages add up to ${total} bytes; one append holds at most ${maxTotalBytes} bytes.`,
    );
  }
  return parsed;
}
