import { requests } from '../contract/request-schemas.js';
import type { EditHistoryResponse } from '../contract/response-schemas.js';
import { conversationHandler } from '../pipeline/conversation-handler.js';
import { parseWrite } from '../pipeline/request.js';
import { writeResponse } from '../pipeline/responses.js';
import { countEdit } from '../runtime/observability.js';
import { answerAttachments, messagesBodyBytes, store } from '../runtime/store.js';

/** POST /v1/conversations/{conversationId}/edits: replaces the newest messages (ConversationStore.replaceSuffix). */
export const handler = conversationHandler(
  'EditHistory',
  async ({ event, tenant, conversationId, annotate }) => {
    const { headers, body } = parseWrite(event, requests.editHistory, messagesBodyBytes);
    const { expectedSuffix, replacement, expectedVersion } = body;
    const result = await store.replaceSuffix(
      tenant,
      conversationId,
      { expectedSuffix, replacement },
      { expectedVersion, idempotencyKey: headers['idempotency-key'], attachments: answerAttachments },
    );
    countEdit(result);
    const { version, removed, messages, replayed } = result;
    annotate({ version, replayed, removedCount: removed.length, messageCount: messages.length });
    const answer: EditHistoryResponse = { conversationId, version, removed, messages };
    return writeResponse(replayed, 200, answer);
  },
);
