import { loadMessagesQuerySchema } from '../contract/request-schemas.js';
import type { MessagePage } from '../contract/response-schemas.js';
import { conversationHandler } from '../pipeline/conversation-handler.js';
import { parseQuery } from '../pipeline/request.js';
import { jsonResponse } from '../pipeline/responses.js';
import { countLoad } from '../runtime/observability.js';
import { answerAttachments, store } from '../runtime/store.js';

/** GET /v1/conversations/{conversationId}/messages */
export const handler = conversationHandler(
  'LoadMessages',
  async ({ event, tenant, conversationId, annotate }) => {
    const page = await store.load(tenant, conversationId, {
      ...parseQuery(event, loadMessagesQuerySchema),
      attachments: answerAttachments,
    });
    countLoad(page);
    annotate({ version: page.version, messagesLoaded: page.messages.length });
    const { consumedCapacity, ...body } = page;
    return jsonResponse(200, body satisfies MessagePage);
  },
);
