import { requests } from '../contract/request-schemas.js';
import type { CreateUploadResponse } from '../contract/response-schemas.js';
import { conversationHandler } from '../pipeline/conversation-handler.js';
import { parseJsonBody } from '../pipeline/request.js';
import { jsonResponse } from '../pipeline/responses.js';
import { store } from '../runtime/store.js';

/**
 * POST /v1/conversations/{conversationId}/uploads: a presigned PUT for a file too large for a request; a message
 * then references it by `uploadId` (ConversationStore.createUpload).
 */
export const handler = conversationHandler(
  'CreateUpload',
  async ({ event, tenant, conversationId, annotate }) => {
    const upload = parseJsonBody(event, requests.createUpload.body);
    const ticket = await store.createUpload(tenant, conversationId, upload);
    annotate({ uploadBytes: upload.bytes, mediaType: upload.mediaType });
    return jsonResponse(201, ticket satisfies CreateUploadResponse);
  },
);
