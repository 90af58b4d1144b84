import { type MessageInput, parseMessages } from '../memory/message.js';
import { abortable } from './abortable.js';
import type { ChatModel, ChatRequest } from './chat-model.js';
import { ModelError, ModelTimeoutError } from './model-errors.js';
import type { TurnContext } from './turn-context.js';

/*
 * A turn's call to the model (./run-turn.ts): held to the turn's deadline, its failures as ModelError (502) or
 * ModelTimeoutError (504), its reply checked as the store would check it before anything is written.
 */

/** The turn's time for the model: its own timeout, or the caller's signal, whichever comes first. */
export interface Deadline {
  readonly signal: AbortSignal;
  /** Set when the turn's own timeout fired (rather than the caller's signal). */
  readonly timedOut: () => boolean;
  readonly timeoutMs: number;
}

export function startDeadline(timeoutMs: number, outer: AbortSignal | undefined): Deadline {
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = outer === undefined ? timeout : AbortSignal.any([timeout, outer]);
  return { signal, timedOut: () => timeout.aborted, timeoutMs };
}

/**
 * Calls the model, holding it to the deadline even if it ignores the signal; anything it throws leaves as a
 * ModelError or ModelTimeoutError, with the original as the cause.
 */
export async function generateReply(
  model: ChatModel,
  request: ChatRequest,
  deadline: Deadline,
): Promise<MessageInput> {
  try {
    return await abortable(
      Promise.resolve().then(() => model.reply(request)),
      request.signal,
    );
  } catch (error) {
    if (request.signal.aborted) {
      const cause = error instanceof ModelTimeoutError ? error.cause : error;
      throw new ModelTimeoutError(deadline.timedOut() ? deadline.timeoutMs : undefined, { cause });
    }
    if (error instanceof ModelError || error instanceof ModelTimeoutError) throw error;
    throw new ModelError('The model failed.', { cause: error });
  }
}

/**
 * The reply with the turn's facts added to its metadata. A reply the store would refuse (not an assistant
 * message, too large, malformed) is the model's failure, not the client's: a ModelError, nothing stored.
 */
export function storableReply(
  reply: MessageInput,
  facts: { model: string; contextMessages: number; context: TurnContext },
): MessageInput {
  if (reply?.role !== 'assistant') {
    throw new ModelError('The model returned an invalid reply.', {
      cause: new Error(`The reply has role ${JSON.stringify(reply?.role)}, not "assistant".`),
    });
  }
  const stamped = { ...reply, metadata: { ...reply.metadata, ...facts } };
  try {
    parseMessages([stamped]);
  } catch (error) {
    throw new ModelError('The model returned a reply that cannot be stored.', { cause: error });
  }
  return stamped;
}
