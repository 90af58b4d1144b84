import { replayStream } from '../../chat/resumable-stream.js';
import { uiMessageStreamHeaders } from '../../chat/ui-message-stream.js';
import type { ConversationRequest } from '../pipeline/conversation-handler.js';
import type { HttpOperation } from '../pipeline/http-handler.js';
import { noContent } from '../pipeline/responses.js';
import { chatStreams } from '../runtime/store.js';
import { functionDeadline } from '../turns/turn-deadline.js';

/**
 * GET /v1/chats/{conversationId}/stream, where DefaultChatTransport reconnects (`useChat({ resume: true })`): the
 * chat's running reply from its first chunk, then as it is written, until it ends; `204` when no reply is running.
 */
export const chatStreamOperation: HttpOperation<ConversationRequest> = async (request) => {
  const { tenant, conversationId, context, annotate } = request;
  const active = await chatStreams.active(tenant, conversationId);
  if (active === undefined || Date.now() > active.deadline) return noContent();
  annotate({ streamId: active.streamId, messageId: active.messageId });
  return {
    statusCode: 200,
    headers: uiMessageStreamHeaders,
    pieces: replayStream(chatStreams, tenant, conversationId, active, { signal: functionDeadline(context) }),
  };
};
