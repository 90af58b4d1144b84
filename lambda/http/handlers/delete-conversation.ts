import { conversationHandler } from '../conversation-handler.js';
import { noContent } from '../responses.js';
import { store } from '../store.js';

/** DELETE /v1/conversations/{conversationId}: 204 whether or not anything existed. */
export const handler = conversationHandler('DeleteConversation', async ({ tenant, conversationId }) => {
  await store.deleteConversation(tenant, conversationId);
  return noContent();
});
