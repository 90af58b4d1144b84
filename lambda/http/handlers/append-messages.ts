import {
  type AppendMessagesResponse,
  appendBodyMaxDepth,
  appendMessagesBodySchema,
  appendMessagesHeadersSchema,
} from '../api-schemas.js';
import { conversationHandler } from '../conversation-handler.js';
import { countAppend } from '../observability.js';
import { parseHeaders, parseJsonBody } from '../request.js';
import { writeResponse } from '../responses.js';
import { store } from '../store.js';

/** POST /v1/conversations/{conversationId}/messages */
export const handler = conversationHandler(
  'AppendMessages',
  async ({ event, tenant, conversationId, annotate }) => {
    const { 'idempotency-key': idempotencyKey } = parseHeaders(event, appendMessagesHeadersSchema);
    const { messages, expectedVersion } = parseJsonBody(event, appendMessagesBodySchema, {
      maxDepth: appendBodyMaxDepth,
    });
    const result = await store.append(tenant, conversationId, messages, { expectedVersion, idempotencyKey });
    countAppend(result);
    annotate({ version: result.version, replayed: result.replayed, messageCount: result.messages.length });
    const body: AppendMessagesResponse = {
      conversationId,
      version: result.version,
      messages: result.messages,
    };
    return writeResponse(result.replayed, 201, body);
  },
);
