import { createHash } from 'node:crypto';
import type { RunTurnInput, TurnCommit, TurnToCommit } from '../agent/run-turn.js';
import type { ToolResult } from '../agent/tool-results.js';
import { InvalidRequestError, NoPendingToolCallsError } from '../memory/errors.js';
import type { MessageInput, StoredMessage } from '../memory/message.js';
import {
  isAnswered,
  isUIMessageForm,
  lastStepToolParts,
  replyParts,
  storedFormOf,
  type UIMessageJson,
  type UIPart,
  uiRecordOf,
} from './ui-message.js';

/*
 * A `useChat` request as an agent turn (lambda/agent/run-turn.ts): what DefaultChatTransport sends is the whole
 * `messages` array (or, with prepareSendMessagesRequest, only the new `message`); the turn takes only the last
 * message from it and loads the history itself:
 * - a user message is the turn's new message, stored as a UI message, and the reply is stored as a UI message
 *   with a server id (one step: its text and a `tool-<name>` part per call);
 * - an assistant message whose last step's tool parts carry outputs (the browser ran the tools: useChat's
 *   addToolOutput and sendAutomaticallyWhen) continues the turn with those outputs as tool results, and the
 *   continued message is replaced in place: its tool parts get the outputs and the reply is its next step, so
 *   the conversation keeps exactly one assistant message with that id.
 */

/** The request's part that a turn uses. */
export interface ChatTurnRequest {
  readonly chatId: string;
  /** The new message, as `prepareSendMessagesRequest` sends it... */
  readonly message?: UIMessageJson;
  /** ... or every message, as DefaultChatTransport sends by default: only the last one counts. */
  readonly messages?: readonly UIMessageJson[];
  readonly trigger?: string;
  /** The request's Idempotency-Key header; by default one is derived from the new message. */
  readonly idempotencyKey?: string;
}

export interface ChatTurn {
  /** The turn's new input, key and storage, for runTurn/streamTurn. */
  readonly input: Required<Pick<RunTurnInput, 'idempotencyKey' | 'commit'>> &
    Pick<RunTurnInput, 'message' | 'toolResults'>;
  /** The UI message the reply is written to (the stream's `start` chunk). */
  readonly messageId: string;
  /** A continuation: the tool parts that carry the browser's outputs, by tool call id. */
  readonly outputs?: ReadonlyMap<string, UIPart>;
}

export function chatTurnOf(request: ChatTurnRequest): ChatTurn {
  if (request.trigger === 'regenerate-message') {
    throw new InvalidRequestError(
      'This route does not regenerate replies: send a new message (or delete the reply with an edit).',
    );
  }
  const sent = request.message ?? request.messages?.at(-1);
  if (sent === undefined) throw new InvalidRequestError('The request holds no message.');
  if (sent.role === 'user') {
    const message = storedFormOf(sent);
    const idempotencyKey = request.idempotencyKey ?? `chat-message:${digest(sent.id)}`;
    const messageId = `msg-${digest(`reply\n${request.chatId}\n${idempotencyKey}`).slice(0, 24)}`;
    return {
      input: {
        message,
        idempotencyKey,
        commit: ({ newMessages, reply }) => ({
          append: [...newMessages, uiReply({ id: messageId, role: 'assistant', parts: [] }, reply)],
        }),
      },
      messageId,
    };
  }
  if (sent.role === 'assistant') {
    const outputs = new Map(
      lastStepToolParts(sent)
        .filter(isAnswered)
        .map((part) => [String(part.toolCallId), part] as const),
    );
    if (outputs.size === 0) {
      throw new InvalidRequestError(
        'The last message is an assistant message without tool outputs: send a user message, or the outputs ' +
          'of the tool calls of its last step.',
      );
    }
    const callIds = [...outputs.keys()].sort();
    const idempotencyKey =
      request.idempotencyKey ?? `chat-tool-outputs:${digest([sent.id, ...callIds].join('\n'))}`;
    return {
      input: {
        toolResults: [...outputs.values()].map(toolResultOf),
        idempotencyKey,
        commit: (turn) => continuation(turn, sent.id, outputs),
      },
      messageId: sent.id,
      outputs,
    };
  }
  throw new InvalidRequestError(
    'The new message must be a user message (or tool outputs in an assistant message).',
  );
}

/**
 * The stored message a continuation extends, with the browser's outputs in its tool parts (the record of the
 * continuation's stream begins with it, and the commit adds the reply's step to it).
 */
export function continuedMessage(stored: StoredMessage, outputs: ReadonlyMap<string, UIPart>): UIMessageJson {
  const parts = (typeof stored.content === 'string' ? [] : stored.content) as UIPart[];
  const last = parts.findLastIndex((part) => part.type === 'step-start');
  return {
    id: stored.id,
    role: 'assistant',
    ...(uiRecordOf(stored)?.metadata === undefined ? {} : { metadata: uiRecordOf(stored)?.metadata }),
    parts: parts.map((part, index) => {
      const answer = index > last ? outputs.get(String(part.toolCallId)) : undefined;
      if (answer === undefined || isAnswered(part)) return part;
      const { output: _output, errorText: _errorText, ...call } = part;
      return answer.state === 'output-available'
        ? { ...call, state: answer.state, output: answer.output }
        : answer.state === 'output-error'
          ? { ...call, state: answer.state, errorText: answer.errorText }
          : { ...call, state: answer.state };
    }),
  };
}

function continuation(
  turn: TurnToCommit,
  messageId: string,
  outputs: ReadonlyMap<string, UIPart>,
): TurnCommit {
  const { newest, newMessages, reply } = turn;
  // Tool results to a message written by other means (the /turns route): stored as the contract's messages.
  if (newest === undefined || !isUIMessageForm(newest)) return { append: [...newMessages, reply] };
  if (newest.id !== messageId) throw new NoPendingToolCallsError(turn.version);
  return { replaceNewest: [uiReply(continuedMessage(newest, outputs), reply)] };
}

/** The message with the model's reply as its next step; the reply's facts (model, usage) become the message's. */
function uiReply(message: UIMessageJson, reply: MessageInput): MessageInput {
  const { aiSdk: _record, ...facts } = reply.metadata ?? {};
  return storedFormOf({ ...message, parts: [...message.parts, ...replyParts(reply)] }, { metadata: facts });
}

/** A tool part's output as the turn's tool result: the output as text (JSON unless it is a string). */
function toolResultOf(part: UIPart): ToolResult {
  const toolCallId = String(part.toolCallId);
  if (part.state === 'output-available') {
    const content = typeof part.output === 'string' ? part.output : (JSON.stringify(part.output) ?? '');
    return { toolCallId, content };
  }
  if (part.state === 'output-error')
    return { toolCallId, content: String(part.errorText ?? ''), isError: true };
  return { toolCallId, content: 'The tool call was denied.', isError: true };
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}
