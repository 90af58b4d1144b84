import { chatOperation } from '../chats/chat-operation.js';
import { streamingHttpHandler } from '../pipeline/http-handler.js';

/** POST /v1/chats on the streaming REST API: useChat's endpoint (../chat-operation.ts). */
export const handler = streamingHttpHandler('Chat', chatOperation);
