import { conversationOperation } from '../pipeline/conversation-handler.js';
import { streamingHttpHandler } from '../pipeline/http-handler.js';
import { turnOperation } from '../turns/turn-operation.js';

/**
 * POST /v1/conversations/{conversationId}/turns on the streaming REST API (response streaming): the same turn as
 * ./run-turn.ts, whose event stream reaches the client while the model writes.
 */
export const handler = streamingHttpHandler('AgentTurns', conversationOperation(turnOperation));
