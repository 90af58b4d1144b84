/**
 * The API's routes, as data: the CDK stack makes one function and one API Gateway route per entry, and the
 * local server dispatches to the same handler modules. Paths use API Gateway's `{param}` syntax.
 */
/**
 * What a route's function may do on the table: `write` appends (conditional puts and updates), `edit` also
 * deletes single messages (history edits), `delete` removes whole conversations.
 */
export type TableAccess = 'read' | 'write' | 'edit' | 'delete' | 'none';

export interface RouteDefinition {
  /** Stable construct id and function name part. */
  readonly id: string;
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly path: string;
  /**
   * Handler module exporting `handler`: relative to lambda/http/handlers, or an absolute path (a route an app
   * adds with `AgentMemory.addRoute`, bundled at synth in the app's project).
   */
  readonly entry: string;
  /**
   * A response-streaming handler module for the same route (`awslambda.streamifyResponse`, REST API events):
   * the stack serves it on the streaming REST API, the local server on every request of the route.
   */
  readonly streamingEntry?: string;
  /** What the function may do on the table: least privilege per route. */
  readonly access: TableAccess;
  /** Reachable without the authorizer (health only). */
  readonly public?: boolean;
}

export const routes: readonly RouteDefinition[] = [
  {
    id: 'AppendMessages',
    method: 'POST',
    path: '/v1/conversations/{conversationId}/messages',
    entry: 'append-messages.ts',
    access: 'write',
  },
  {
    id: 'AgentTurns',
    method: 'POST',
    path: '/v1/conversations/{conversationId}/turns',
    entry: 'run-turn.ts',
    streamingEntry: 'stream-turn.ts',
    access: 'write',
  },
  {
    id: 'EditHistory',
    method: 'POST',
    path: '/v1/conversations/{conversationId}/edits',
    entry: 'edit-history.ts',
    access: 'edit',
  },
  {
    id: 'LoadMessages',
    method: 'GET',
    path: '/v1/conversations/{conversationId}/messages',
    entry: 'load-messages.ts',
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
  },
  { id: 'Health', method: 'GET', path: '/health', entry: 'health.ts', access: 'none', public: true },
];

/** Any other method or path (API Gateway's `$default` route, the local server's fallback): 404 or 405. */
export const fallbackRoute = { id: 'NotFound', entry: 'not-found.ts', access: 'none' } as const;
