import { listConversationsQuerySchema } from '../contract/request-schemas.js';
import type { ConversationPageResponse } from '../contract/response-schemas.js';
import { tenantHandler } from '../pipeline/conversation-handler.js';
import { parseQuery } from '../pipeline/request.js';
import { jsonResponse } from '../pipeline/responses.js';
import { countList } from '../runtime/observability.js';
import { store } from '../runtime/store.js';

/** GET /v1/conversations: the caller's tenant's conversations (or one scope's), newest activity first. */
export const handler = tenantHandler('ListConversations', async ({ event, tenant, annotate }) => {
  const { limit, cursor, prefix } = parseQuery(event, listConversationsQuerySchema);
  const page = await store.listConversations(tenant, { limit, cursor, prefix });
  countList(page);
  annotate({ listed: page.conversations.length, ...(prefix === undefined ? {} : { prefix }) });
  const { consumedCapacity, ...body } = page;
  return jsonResponse(200, body satisfies ConversationPageResponse);
});
