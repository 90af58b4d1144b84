import { requests } from '../contract/request-schemas.js';
import type { ConversationResponse } from '../contract/response-schemas.js';
import { conversationHandler } from '../pipeline/conversation-handler.js';
import { parseWrite } from '../pipeline/request.js';
import { writeResponse } from '../pipeline/responses.js';
import { countPatch } from '../runtime/observability.js';
import { store } from '../runtime/store.js';

/** PATCH /v1/conversations/{conversationId}: title and metadata; messages and version stay as they are. */
export const handler = conversationHandler(
  'PatchConversation',
  async ({ event, tenant, conversationId, annotate }) => {
    const { headers, body } = parseWrite(event, requests.patchConversation);
    const { expectedVersion, expectedRevision, ...patch } = body;
    const result = await store.patchConversation(tenant, conversationId, patch, {
      expectedVersion,
      expectedRevision,
      idempotencyKey: headers['idempotency-key'],
    });
    countPatch(result);
    annotate({ revision: result.revision, replayed: result.replayed });
    const { replayed, consumedCapacity, ...answer } = result;
    return writeResponse(replayed, 200, answer satisfies ConversationResponse);
  },
);
