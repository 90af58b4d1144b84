import { type SummariesResponse, summariesQuerySchema } from '../api-schemas.js';
import { conversationHandler } from '../conversation-handler.js';
import { countLoad } from '../observability.js';
import { parseQuery } from '../request.js';
import { jsonResponse } from '../responses.js';
import { store } from '../store.js';

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
