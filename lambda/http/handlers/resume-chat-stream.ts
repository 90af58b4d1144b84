import { chatStreamOperation } from '../chat-stream-operation.js';
import { conversationOperation } from '../conversation-handler.js';
import { streamingHttpHandler } from '../http-handler.js';

/** GET /v1/chats/{conversationId}/stream on the streaming REST API: a resumed chat stream (../chat-stream-operation.ts). */
export const handler = streamingHttpHandler('ResumeChatStream', conversationOperation(chatStreamOperation));
