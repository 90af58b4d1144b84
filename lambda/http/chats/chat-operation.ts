import type { RunTurnInput } from '../../agent/run-turn.js';
import { streamTurn, type TurnEvent } from '../../agent/turn-events.js';
import { chatTurnOf, continuedMessage } from '../../chat/chat-turn.js';
import { StreamRecording } from '../../chat/resumable-stream.js';
import { isUIMessageForm } from '../../chat/ui-message.js';
import {
  encodeChunks,
  replayChunksOf,
  streamEnd,
  TurnChunks,
  uiMessageStreamHeaders,
} from '../../chat/ui-message-stream.js';
import { NoPendingToolCallsError } from '../../memory/errors.js';
import { newMessageId } from '../../memory/message-id.js';
import { requests } from '../contract/request-schemas.js';
import type { HttpOperation } from '../pipeline/http-handler.js';
import { parseWrite } from '../pipeline/request.js';
import type { StreamingHttpResponse } from '../pipeline/responses.js';
import { tenantOf } from '../pipeline/tenancy.js';
import { config } from '../runtime/config.js';
import { agentConfig, model } from '../runtime/model.js';
import { logger, timeModelCalls } from '../runtime/observability.js';
import { chatStreams, messagesBodyBytes, store } from '../runtime/store.js';
import { functionDeadline } from '../turns/turn-deadline.js';
import { turnRecorder } from '../turns/turn-operation.js';

/** Lambda's longest function timeout: no stream without a Lambda context outlives it. */
const maxFunctionMs = 15 * 60 * 1000;

/**
 * POST /v1/chats, the AI SDK's `useChat` endpoint (streaming front only): the last message of the request as one
 * agent turn (lambda/chat/chat-turn.ts), answered in the UI message stream protocol while the model writes and
 * recorded for clients that resume it (lambda/chat/resumable-stream.ts). A request that fails before the model
 * says anything answers with its status and the contract's error body, as a turn does.
 */
export const chatOperation: HttpOperation = async (request) => {
  const { event, context, annotate } = request;
  const tenant = tenantOf(event, config.tenantClaim);
  annotate({ tenant });
  const { headers, body } = parseWrite(event, requests.chat, messagesBodyBytes);
  const idempotencyKey = headers['idempotency-key'];
  const chatId = body.id;
  annotate({ conversationId: chatId });
  const turn = chatTurnOf({ ...body, chatId, idempotencyKey });

  // A continuation's record begins with the message it continues, as stored, with the browser's outputs.
  let prefix = '';
  if (turn.outputs !== undefined) {
    const { messages, version } = await store.load(tenant, chatId, { limit: 1 });
    const newest = messages.at(-1);
    if (newest?.id !== turn.messageId) throw new NoPendingToolCallsError(version);
    if (isUIMessageForm(newest))
      prefix = encodeChunks(replayChunksOf(continuedMessage(newest, turn.outputs)));
  }

  const timed = timeModelCalls(model);
  const input: RunTurnInput = {
    store,
    model: timed.model,
    tenant,
    conversationId: chatId,
    ...turn.input,
    tools: body.tools,
    toolChoice: body.toolChoice,
    system: body.system,
    policy: agentConfig.context,
    modelTimeoutMs: agentConfig.modelTimeoutMs,
    signal: functionDeadline(context),
  };
  const record = turnRecorder(timed.calls, annotate, event.requestContext?.requestId);
  const events = streamTurn(input);
  const first = (await events.next()).value as TurnEvent;
  if (first.type === 'error') {
    record.failed(first.error);
    throw first.error;
  }

  const startedAt = Date.now();
  const recording = new StreamRecording({
    log: chatStreams,
    tenant,
    chatId,
    stream: {
      streamId: newMessageId(startedAt),
      messageId: turn.messageId,
      startedAt,
      deadline: startedAt + (context?.getRemainingTimeInMillis() ?? maxFunctionMs),
    },
    // The reply still reaches this client and is stored; only a resumed client would miss it.
    onError: (error) => logger.warn('chat stream recording failed', { error, conversationId: chatId }),
  });
  const chunks = new TurnChunks(turn.messageId);
  const encode = (event: TurnEvent): string => {
    if (event.type === 'done') record.done(event.result);
    const text = encodeChunks(chunks.of(event, (error) => record.failedInStream(error).body ?? '{}'));
    return event.type === 'done' || event.type === 'error' ? text + streamEnd : text;
  };
  const response: StreamingHttpResponse = {
    statusCode: 200,
    headers: uiMessageStreamHeaders,
    pieces: (async function* () {
      recording.record(prefix);
      const opening = encodeChunks(chunks.begin()) + encode(first);
      recording.record(opening);
      yield opening;
      for await (const event of events) {
        const text = encode(event);
        recording.record(text);
        yield text;
      }
      await recording.finish();
    })(),
  };
  return response;
};
