import { runTurn } from '../../agent/run-turn.js';
import { agentConfig, model } from '../agent.js';
import { type TurnResponse, turnBodyMaxDepth, turnBodySchema, turnHeadersSchema } from '../api-schemas.js';
import { conversationHandler } from '../conversation-handler.js';
import { countFailedTurn, countTurn, timeModelCalls } from '../observability.js';
import { parseHeaders, parseJsonBody } from '../request.js';
import { writeResponse } from '../responses.js';
import { store } from '../store.js';
import { functionDeadline } from '../turn-deadline.js';

/** POST /v1/conversations/{conversationId}/turns: one agent turn (lambda/agent/run-turn.ts). */
export const handler = conversationHandler(
  'AgentTurns',
  async ({ event, context, tenant, conversationId, annotate }) => {
    const { 'idempotency-key': idempotencyKey } = parseHeaders(event, turnHeadersSchema);
    const { message, expectedVersion, system } = parseJsonBody(event, turnBodySchema, {
      maxDepth: turnBodyMaxDepth,
    });
    const timed = timeModelCalls(model);
    try {
      const result = await runTurn({
        store,
        model: timed.model,
        tenant,
        conversationId,
        message,
        system,
        expectedVersion,
        idempotencyKey,
        policy: agentConfig.context,
        modelTimeoutMs: agentConfig.modelTimeoutMs,
        signal: functionDeadline(context),
      });
      countTurn(result, timed.calls);
      annotate({
        version: result.version,
        replayed: result.replayed,
        model: result.model,
        modelCalls: result.modelCalls,
        modelDurationsMs: timed.calls.durationsMs,
        contextMessages: result.contextMessages,
      });
      const body: TurnResponse = {
        conversationId,
        version: result.version,
        messages: result.messages,
        reply: result.reply,
        contextMessages: result.contextMessages,
        model: result.model,
      };
      return writeResponse(result.replayed, 201, body);
    } catch (error) {
      countFailedTurn(error, timed.calls);
      annotate({ modelCalls: timed.calls.started, modelDurationsMs: timed.calls.durationsMs });
      throw error;
    }
  },
);
