import type { ConversationResponse } from '../api-schemas.js';
import { conversationHandler } from '../conversation-handler.js';
import { HttpError } from '../http-errors.js';
import { jsonResponse } from '../responses.js';
import { store } from '../store.js';

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
