import { summariesQuerySchema } from '../contract/request-schemas.js';
import type { SummariesResponse } from '../contract/response-schemas.js';
import { conversationHandler } from '../pipeline/conversation-handler.js';
import { parseQuery } from '../pipeline/request.js';
import { jsonResponse } from '../pipeline/responses.js';
import { countLoad } from '../runtime/observability.js';
import { store } from '../runtime/store.js';

/** GET /v1/conversations/{conversationId}/summaries: the summary turns use, and with `recent` the messages after it. */
export const handler = conversationHandler(
  'GetSummaries',
  async ({ event, tenant, conversationId, annotate }) => {
    const { recent } = parseQuery(event, summariesQuerySchema);
    const context = await store.loadContext(tenant, conversationId, { limit: recent });
    countLoad(context);
    annotate({ version: context.version, summaryThroughSeq: context.summary?.throughSeq });
    const body: SummariesResponse = {
      conversationId,
      version: context.version,
      summaries: context.summary === undefined ? [] : [context.summary],
      messages: context.messages,
    };
    return jsonResponse(200, body);
  },
);
