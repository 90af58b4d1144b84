import { InvalidRequestError, PayloadTooLargeError } from '../memory/errors.js';
import { type MessageInput, messageInputSchema, parseMessages } from '../memory/message.js';
import * as z from '../validation/zod.js';
import { hasContent } from './message-content.js';

/**
 * A turn's `message` as the contract allows it: a non-blank string, or a message of role `user` with
 * non-empty content. For request schemas (and the OpenAPI document); runTurn checks it again itself.
 */
export const turnMessageSchema = z.union([
  z.string().check(z.refine((text) => text.trim().length > 0, 'must not be empty')),
  // One check per call, not `.check(a, b)`: a schema whose direct parent is the named MessageInput becomes a
  // `$ref` to it in docs/openapi.json, while the document has always spelled this message out in full.
  messageInputSchema
    .check(
      z.refine((message) => message.role === 'user', { message: 'must have role "user"', path: ['role'] }),
    )
    .check(
      z.refine((message) => hasContent(message.content), { message: 'must not be empty', path: ['content'] }),
    ),
]);

export type TurnMessage = string | MessageInput;

/**
 * The turn's user message as it will be stored: a string becomes `{ role: 'user', content }`, a message is
 * kept exactly as given. Checked against the store's own limits (size, depth, schema) up front, so that a
 * message the store would refuse never costs a model call. Throws InvalidRequestError/PayloadTooLargeError.
 */
export function userMessageOf(message: unknown, maxMessageBytes?: number): MessageInput {
  const candidate = typeof message === 'string' ? { role: 'user', content: message } : message;
  let parsed: MessageInput;
  try {
    const options = maxMessageBytes === undefined ? {} : { maxMessageBytes, maxTotalBytes: Infinity };
    parsed = (parseMessages([candidate], options)[0] as { message: MessageInput }).message;
  } catch (error) {
    // The store names the message `messages.0`; the turn's field is `message`.
    const text = error instanceof Error ? error.message.replace(/^messages\.0:?/, 'message') : '';
    if (error instanceof InvalidRequestError) throw new InvalidRequestError(text, { cause: error });
    if (error instanceof PayloadTooLargeError) throw new PayloadTooLargeError(text, { cause: error });
    throw error;
  }
  if (parsed.role !== 'user') throw new InvalidRequestError('message must have role "user".');
  if (!hasContent(parsed.content)) throw new InvalidRequestError('message content must not be empty.');
  return parsed;
}
