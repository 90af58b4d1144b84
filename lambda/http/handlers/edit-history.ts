import {
  type EditHistoryResponse,
  editBodyMaxDepth,
  editHistoryBodySchema,
  editHistoryHeadersSchema,
} from '../api-schemas.js';
import { conversationHandler } from '../conversation-handler.js';
import { countEdit } from '../observability.js';
import { parseHeaders, parseJsonBody } from '../request.js';
import { writeResponse } from '../responses.js';
import { store } from '../store.js';

/** POST /v1/conversations/{conversationId}/edits: replaces the newest messages (ConversationStore.replaceSuffix). */
export const handler = conversationHandler(
  'EditHistory',
  async ({ event, tenant, conversationId, annotate }) => {
    const { 'idempotency-key': idempotencyKey } = parseHeaders(event, editHistoryHeadersSchema);
    const { expectedSuffix, replacement, expectedVersion } = parseJsonBody(event, editHistoryBodySchema, {
      maxDepth: editBodyMaxDepth,
    });
    const result = await store.replaceSuffix(
      tenant,
      conversationId,
      { expectedSuffix, replacement },
      { expectedVersion, idempotencyKey },
    );
    countEdit(result);
    annotate({
      version: result.version,
      replayed: result.replayed,
      removedCount: result.removed.length,
      messageCount: result.messages.length,
    });
    const body: EditHistoryResponse = {
      conversationId,
      version: result.version,
      removed: result.removed,
      messages: result.messages,
    };
    return writeResponse(result.replayed, 200, body);
  },
);
