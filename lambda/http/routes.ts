/**
 * The API's routes, as data: the CDK stack makes one function and one API Gateway route per entry, and the
 * local server dispatches to the same handler modules. Paths use API Gateway's `{param}` syntax.
 */
/**
 * What a route's function may do on the table: `write` appends (conditional puts and updates), `edit` also
 * deletes single messages (history edits), `delete` removes whole conversations, `list` queries the listing
 * indexes and reads heads by key (never a message).
 */
export type TableAccess = 'read' | 'write' | 'edit' | 'delete' | 'list' | 'none';

/**
 * What a route's function may do in the attachments bucket (when the deployment has one): `read` presigns and reads
 * objects, `write` also writes them (and copies uploads, and deletes what a failed or editing write leaves),
 * `delete` deletes a conversation's, `upload` presigns uploads.
 */
export type AttachmentAccess = 'read' | 'write' | 'delete' | 'upload';

/** What every route says about itself (see RouteDefinition for its handler modules). */
export interface RouteFields {
  /** Stable construct id and function name part. */
  readonly id: string;
  readonly method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  readonly path: string;
  /** What the function may do on the table: least privilege per route. */
  readonly access: TableAccess;
  /** The function calls the model: it gets the agent's configuration and permission, and a turn's timeout. */
  readonly model?: boolean;
  /** The function's timeout in seconds unless routeOptions sets one. @default 10 (with `model`: 29) */
  readonly timeoutSeconds?: number;
  /**
   * The JSON body field that names the conversation, for a route whose path does not (the chat route, whose
   * URL useChat fixes): the local server fences the route's writes by it.
   */
  readonly conversationIdField?: string;
  /** What it may do in the attachments bucket. @default none */
  readonly attachments?: AttachmentAccess;
  /**
   * `messages`: the body carries messages, so with attachments it may be as large as Lambda takes (6,000,000
   * bytes, ../memory/message.ts contentRequestBytes); any other body stays within 1 MiB.
   */
  readonly body?: 'messages';
  /** Reachable without the authorizer (health only). */
  readonly public?: boolean;
}

/**
 * A route has a handler module for the HTTP API (`entry`, exporting `handler`: relative to lambda/http/handlers,
 * or an absolute path for a route an app adds with `AgentMemory.addRoute`, bundled at synth in the app's
 * project), a response-streaming one (`streamingEntry`: `awslambda.streamifyResponse`, REST API events), or both.
 * The stack serves `entry` on the HTTP API and `streamingEntry` on the streaming REST API; the local server
 * serves the streaming one when there is one.
 */
export type RouteDefinition = RouteFields &
  (
    | { readonly entry: string; readonly streamingEntry?: string }
    | { readonly entry?: undefined; readonly streamingEntry: string }
  );

export const routes: readonly RouteDefinition[] = [
  {
    id: 'AppendMessages',
    method: 'POST',
    path: '/v1/conversations/{conversationId}/messages',
    entry: 'append-messages.ts',
    access: 'write',
    attachments: 'write',
    body: 'messages',
  },
  {
    id: 'AgentTurns',
    method: 'POST',
    path: '/v1/conversations/{conversationId}/turns',
    entry: 'run-turn.ts',
    streamingEntry: 'stream-turn.ts',
    access: 'write',
    model: true,
    attachments: 'write',
    body: 'messages',
  },
  {
    id: 'EditHistory',
    method: 'POST',
    path: '/v1/conversations/{conversationId}/edits',
    entry: 'edit-history.ts',
    access: 'edit',
    attachments: 'write',
    body: 'messages',
  },
  {
    id: 'CreateUpload',
    method: 'POST',
    path: '/v1/conversations/{conversationId}/uploads',
    entry: 'create-upload.ts',
    access: 'none',
    attachments: 'upload',
  },
  {
    id: 'LoadMessages',
    method: 'GET',
    path: '/v1/conversations/{conversationId}/messages',
    entry: 'load-messages.ts',
    access: 'read',
    attachments: 'read',
  },
  {
    id: 'GetSummaries',
    method: 'GET',
    path: '/v1/conversations/{conversationId}/summaries',
    entry: 'get-summaries.ts',
    access: 'read',
  },
  {
    id: 'GetConversation',
    method: 'GET',
    path: '/v1/conversations/{conversationId}',
    entry: 'get-conversation.ts',
    access: 'read',
  },
  {
    id: 'DeleteConversation',
    method: 'DELETE',
    path: '/v1/conversations/{conversationId}',
    entry: 'delete-conversation.ts',
    access: 'delete',
    attachments: 'delete',
  },
  {
    // useChat's endpoint: a chat turn in the AI SDK's UI message stream protocol. It must stream, so only the
    // streaming front serves it. `edit`: a continuation replaces the message it continues.
    id: 'Chat',
    method: 'POST',
    path: '/v1/chats',
    streamingEntry: 'chat.ts',
    access: 'edit',
    attachments: 'write',
    body: 'messages',
    model: true,
    conversationIdField: 'id',
  },
  {
    // Where DefaultChatTransport reconnects: `{api}/{chatId}/stream`.
    id: 'ResumeChatStream',
    method: 'GET',
    path: '/v1/chats/{conversationId}/stream',
    streamingEntry: 'resume-chat-stream.ts',
    access: 'read',
    timeoutSeconds: 29,
  },
  {
    id: 'PatchConversation',
    method: 'PATCH',
    path: '/v1/conversations/{conversationId}',
    entry: 'patch-conversation.ts',
    access: 'write',
  },
  {
    id: 'ListConversations',
    method: 'GET',
    path: '/v1/conversations',
    entry: 'list-conversations.ts',
    access: 'list',
  },
  { id: 'Health', method: 'GET', path: '/health', entry: 'health.ts', access: 'none', public: true },
];

/** Any other method or path (API Gateway's `$default` route, the local server's fallback): 404 or 405. */
export const fallbackRoute = { id: 'NotFound', entry: 'not-found.ts', access: 'none' } as const;
