import { loadMessagesQuerySchema, type MessagePage } from '../api-schemas.js';
import { conversationHandler } from '../conversation-handler.js';
import { countLoad } from '../observability.js';
import { parseQuery } from '../request.js';
import { jsonResponse } from '../responses.js';
import { store } from '../store.js';

/** GET /v1/conversations/{conversationId}/messages */
export const handler = conversationHandler(
  'LoadMessages',
  async ({ event, tenant, conversationId, annotate }) => {
    const page = await store.load(tenant, conversationId, parseQuery(event, loadMessagesQuerySchema));
    countLoad(page);
    annotate({ version: page.version, messagesLoaded: page.messages.length });
    const { consumedCapacity, ...body } = page;
    return jsonResponse(200, body satisfies MessagePage);
  },
);
