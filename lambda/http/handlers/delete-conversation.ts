import { conversationHandler } from '../pipeline/conversation-handler.js';
import { noContent } from '../pipeline/responses.js';
import { store } from '../runtime/store.js';

/** DELETE /v1/conversations/{conversationId}: 204 whether or not anything existed. */
export const handler = conversationHandler('DeleteConversation', async ({ tenant, conversationId }) => {
  await store.deleteConversation(tenant, conversationId);
  return noContent();
});
