import { requests } from '../contract/request-schemas.js';
import type { AppendMessagesResponse } from '../contract/response-schemas.js';
import { conversationHandler } from '../pipeline/conversation-handler.js';
import { parseWrite } from '../pipeline/request.js';
import { writeResponse } from '../pipeline/responses.js';
import { countAppend } from '../runtime/observability.js';
import { answerAttachments, messagesBodyBytes, store } from '../runtime/store.js';

/** POST /v1/conversations/{conversationId}/messages */
export const handler = conversationHandler('AppendMessages', async (request) => {
  const { tenant, conversationId, annotate } = request;
  const { headers, body } = parseWrite(request.event, requests.appendMessages, messagesBodyBytes);
  const result = await store.append(tenant, conversationId, body.messages, {
    expectedVersion: body.expectedVersion,
    idempotencyKey: headers['idempotency-key'],
    attachments: answerAttachments,
    title: body.title,
  });
  countAppend(result);
  annotate({ version: result.version, replayed: result.replayed, messageCount: result.messages.length });
  const answer: AppendMessagesResponse = {
    conversationId,
    version: result.version,
    messages: result.messages,
  };
  return writeResponse(result.replayed, 201, answer);
});
