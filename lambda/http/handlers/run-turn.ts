import { conversationOperation } from '../conversation-handler.js';
import { httpHandler } from '../http-handler.js';
import { turnOperation } from '../turn-operation.js';

/**
 * POST /v1/conversations/{conversationId}/turns on the HTTP API: one agent turn (../turn-operation.ts). An event
 * stream (`Accept: text/event-stream`) is answered whole, once the turn is committed: the HTTP API cannot stream.
 */
export const handler = httpHandler('AgentTurns', conversationOperation(turnOperation));
