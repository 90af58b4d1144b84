import type { ConversationResponse } from '../contract/response-schemas.js';
import { conversationHandler } from '../pipeline/conversation-handler.js';
import { HttpError } from '../pipeline/http-errors.js';
import { jsonResponse } from '../pipeline/responses.js';
import { store } from '../runtime/store.js';

/** GET /v1/conversations/{conversationId} */
export const handler = conversationHandler(
  'GetConversation',
  async ({ tenant, conversationId, annotate }) => {
    const conversation = await store.getConversation(tenant, conversationId);
    if (!conversation) throw new HttpError('not_found', `Conversation '${conversationId}' does not exist.`);
    annotate({ version: conversation.version });
    return jsonResponse(200, conversation satisfies ConversationResponse);
  },
);
