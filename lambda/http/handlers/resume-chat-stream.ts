import { chatStreamOperation } from '../chats/chat-stream-operation.js';
import { conversationOperation } from '../pipeline/conversation-handler.js';
import { streamingHttpHandler } from '../pipeline/http-handler.js';

/** GET /v1/chats/{conversationId}/stream on the streaming REST API: a resumed chat stream (../chat-stream-operation.ts). */
export const handler = streamingHttpHandler('ResumeChatStream', conversationOperation(chatStreamOperation));
