import { conversationOperation } from '../pipeline/conversation-handler.js';
import { httpHandler } from '../pipeline/http-handler.js';
import { turnOperation } from '../turns/turn-operation.js';

/**
 * POST /v1/conversations/{conversationId}/turns on the HTTP API: one agent turn (../turns/turn-operation.ts). An event
 * stream (`Accept: text/event-stream`) is answered whole, once the turn is committed: the HTTP API cannot stream.
 */
export const handler = httpHandler('AgentTurns', conversationOperation(turnOperation));
