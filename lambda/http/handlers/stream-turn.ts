import { conversationOperation } from '../conversation-handler.js';
import { streamingHttpHandler } from '../http-handler.js';
import { turnOperation } from '../turn-operation.js';

/**
 * POST /v1/conversations/{conversationId}/turns on the streaming REST API (response streaming): the same turn as
 * ./run-turn.ts, whose event stream reaches the client while the model writes.
 */
export const handler = streamingHttpHandler('AgentTurns', conversationOperation(turnOperation));
