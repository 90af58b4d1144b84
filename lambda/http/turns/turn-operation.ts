import { type RunTurnInput, runTurn, type TurnResult } from '../../agent/run-turn.js';
import { streamTurn, type TurnEvent } from '../../agent/turn-events.js';
import { VersionConflictError } from '../../memory/errors.js';
import { encodeServerSentEvent } from '../../streaming/server-sent-events.js';
import { requests } from '../contract/request-schemas.js';
import type { TurnResponse } from '../contract/response-schemas.js';
import type { ConversationRequest } from '../pipeline/conversation-handler.js';
import type { HttpOperation } from '../pipeline/http-handler.js';
import { parseWrite } from '../pipeline/request.js';
import { errorResponse, type StreamingHttpResponse, writeResponse } from '../pipeline/responses.js';
import { agentConfig, model } from '../runtime/model.js';
import {
  countConflict,
  countFailedTurn,
  countTurn,
  type ModelCallTimes,
  timeModelCalls,
} from '../runtime/observability.js';
import { answerAttachments, messagesBodyBytes, store } from '../runtime/store.js';
import { functionDeadline } from './turn-deadline.js';

/**
 * POST /v1/conversations/{conversationId}/turns, for both fronts (../handlers/run-turn.ts on the HTTP API,
 * ../handlers/stream-turn.ts on the streaming REST API): one agent turn (lambda/agent/run-turn.ts), answered as
 * JSON once committed, or, with `Accept: text/event-stream`, as Server-Sent Events while the model writes.
 */
export const turnOperation: HttpOperation<ConversationRequest> = async (request) => {
  const { event, context, tenant, conversationId, annotate } = request;
  const { headers, body } = parseWrite(event, requests.turn, messagesBodyBytes);
  const { 'idempotency-key': idempotencyKey, accept } = headers;
  const timed = timeModelCalls(model);
  const input: RunTurnInput = {
    store,
    model: timed.model,
    tenant,
    conversationId,
    message: body.message,
    toolResults: body.toolResults,
    tools: body.tools,
    toolChoice: body.toolChoice,
    system: body.system,
    title: body.title,
    expectedVersion: body.expectedVersion,
    idempotencyKey,
    policy: agentConfig.context,
    modelTimeoutMs: agentConfig.modelTimeoutMs,
    signal: functionDeadline(context),
    attachments: answerAttachments,
  };
  const record = turnRecorder(timed.calls, annotate, event.requestContext?.requestId);
  if (accept?.includes('text/event-stream')) return streamedTurn(input, record);
  try {
    const result = await runTurn(input);
    record.done(result);
    return writeResponse(result.replayed, 201, turnResponse(result));
  } catch (error) {
    record.failed(error);
    throw error;
  }
};

/**
 * The turn as an event stream. Its status and headers wait for the first event: a turn that fails before the
 * model reports anything (a bad continuation, a stale version, a model error) answers with its own status and
 * the contract's error body, like the JSON request; after that, a failure is the stream's `error` event.
 */
async function streamedTurn(input: RunTurnInput, record: TurnRecorder): Promise<StreamingHttpResponse> {
  const events = streamTurn(input);
  const first = (await events.next()).value as TurnEvent;
  if (first.type === 'error') {
    record.failed(first.error);
    throw first.error;
  }
  return {
    statusCode: 200,
    headers: { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache' },
    pieces: (async function* () {
      yield serverSentEvent(first, record);
      for await (const event of events) yield serverSentEvent(event, record);
    })(),
  };
}

/** One event on the wire: `delta` {text}, `tool_call` {id, name, arguments}, `restart` {}, `done`, `error`. */
function serverSentEvent(event: TurnEvent, record: TurnRecorder): string {
  switch (event.type) {
    case 'delta':
      return encodeServerSentEvent('delta', JSON.stringify({ text: event.text }));
    case 'tool_call':
      return encodeServerSentEvent('tool_call', JSON.stringify(event.toolCall));
    case 'restart':
      return encodeServerSentEvent('restart', '{}');
    case 'done':
      record.done(event.result);
      return encodeServerSentEvent('done', JSON.stringify(turnResponse(event.result)));
    case 'error':
      return encodeServerSentEvent('error', record.failedInStream(event.error).body ?? '{}');
  }
}

export function turnResponse(result: TurnResult): TurnResponse {
  return {
    conversationId: result.conversationId,
    version: result.version,
    messages: result.messages,
    reply: result.reply,
    awaitingToolResults: result.awaitingToolResults,
    contextMessages: result.contextMessages,
    context: result.context,
    model: result.model,
  };
}

export type TurnRecorder = ReturnType<typeof turnRecorder>;

/** Metrics and log fields of a turn, however it ends. */
export function turnRecorder(
  calls: ModelCallTimes,
  annotate: ConversationRequest['annotate'],
  requestId: string | undefined,
) {
  const failed = (error: unknown): void => {
    countFailedTurn(error, calls);
    annotate({ modelCalls: calls.started, modelDurationsMs: calls.durationsMs });
  };
  return {
    done(result: TurnResult): void {
      countTurn(result, calls);
      annotate({
        version: result.version,
        replayed: result.replayed,
        awaitingToolResults: result.awaitingToolResults,
        model: result.model,
        modelCalls: result.modelCalls,
        modelDurationsMs: calls.durationsMs,
        contextMessages: result.contextMessages,
        summaryThroughSeq: result.context.summary?.throughSeq,
        contextOmitted: result.context.omitted,
      });
    },
    /** A failure the handler throws: the one error mapper answers it. */
    failed,
    /**
     * A failure after the stream began (its status is 200 already): counted and logged as a thrown one would be,
     * with the status it would have had; returns the contract's error response for the `error` event.
     */
    failedInStream(error: unknown) {
      failed(error);
      if (error instanceof VersionConflictError) countConflict();
      const failure = errorResponse(error, requestId);
      annotate(
        failure.statusCode >= 500
          ? { error, eventStreamStatus: failure.statusCode }
          : { errorMessage: (error as Error).message, eventStreamStatus: failure.statusCode },
      );
      return failure;
    },
  };
}
