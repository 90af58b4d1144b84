import { AgentMemoryClient } from '../../client/agent-memory-client.js';
import { bearerAuth } from '../../client/bearer-auth.js';
import type { ConversationInfo, ConversationSummary, HistoryPage } from '../../client/conversation-memory.js';
import { errorFromResponse, NotFoundError } from '../../client/errors.js';
import type { RequestAuth } from '../../client/request-auth.js';
import { tenantHeaderAuth } from '../../client/tenant-header-auth.js';

/*
 * The page's only way to the data: the public HTTP API, through the project's own client (AgentMemoryClient) for
 * the routes it has. Routes other issues are adding (the listing of issue 16) are read with `getJson` until the
 * client has methods for them, and are detected by answering: a server without the route answers 404 `not_found`
 * (no route matches), and the page then offers what works without it.
 */

/** How the page authenticates: the local server's X-Tenant-Id, or a JWT deployment's bearer token. */
export type Credentials =
  | { readonly kind: 'tenant-header'; readonly tenant: string }
  | { readonly kind: 'bearer'; readonly token: string };

/** A conversation in the tenant's listing (issue 16's `GET /v1/conversations`). */
export interface ListedConversation {
  readonly id: string;
  readonly title?: string;
  readonly metadata?: Record<string, unknown>;
  readonly version?: number;
  readonly messageCount?: number;
  readonly createdAt?: string;
  readonly updatedAt?: string;
  readonly expiresAt?: string;
}

export interface ConversationListPage {
  readonly conversations: readonly ListedConversation[];
  /** The `cursor` of the next page; null when none is left. */
  readonly nextCursor: string | null;
}

/** Messages per page: one request per page, whatever the length of the conversation. */
export const pageSize = 50;

export class InspectorApi {
  readonly baseUrl: URL;
  private readonly client: AgentMemoryClient;
  private readonly auth: RequestAuth;

  constructor(baseUrl: URL, credentials: Credentials) {
    this.baseUrl = baseUrl;
    this.auth =
      credentials.kind === 'bearer' ? bearerAuth(credentials.token) : tenantHeaderAuth(credentials.tenant);
    // Few retries: a person is waiting, and can retry.
    this.client = new AgentMemoryClient({
      baseUrl,
      auth: this.auth,
      timeoutMs: 15_000,
      retry: { maxAttempts: 2 },
      // Values kept in S3 stay attachment parts past the page's inline budget: the page shows images from the
      // bucket by their presigned URLs, and never downloads a file to show a conversation.
      attachments: 'reference',
    });
  }

  /** The head: version, messageCount, dates, retention; undefined when it does not exist (or not anymore). */
  getConversation(id: string, signal?: AbortSignal): Promise<ConversationInfo | undefined> {
    return this.client.getConversation(id, signal ? { signal } : {});
  }

  /** One page: the newest (no bounds), older (`before`) or newer (`after`). */
  loadPage(
    id: string,
    bounds: { readonly before?: number; readonly after?: number },
    signal?: AbortSignal,
  ): Promise<HistoryPage> {
    return this.client.load(id, { ...bounds, limit: pageSize, ...(signal ? { signal } : {}) });
  }

  deleteConversation(id: string): Promise<void> {
    return this.client.deleteConversation(id);
  }

  /**
   * Issue 16's listing, newest activity first; 'unsupported' while the server has no such route. Wiring: when the
   * client gains a listing method, call it here; `conversationListPage` is where the answer's shape is read.
   */
  async listConversations(
    options: { readonly prefix?: string; readonly cursor?: string; readonly limit?: number },
    signal?: AbortSignal,
  ): Promise<ConversationListPage | 'unsupported'> {
    const answer = await this.getJson(
      '/v1/conversations',
      { prefix: options.prefix || undefined, cursor: options.cursor, limit: String(options.limit ?? 50) },
      signal,
    );
    return answer === 'unsupported' ? answer : conversationListPage(answer);
  }

  /**
   * The conversation's summary, the one its turns are given (`GET .../summaries?recent=0`: the summary alone, one
   * read): none while it has none; 'unsupported' from a server older than the route (404 `not_found`).
   */
  async loadSummaries(
    id: string,
    signal?: AbortSignal,
  ): Promise<readonly ConversationSummary[] | 'unsupported'> {
    try {
      const { summary } = await this.client.loadContext(id, 0, signal ? { signal } : {});
      return summary === undefined ? [] : [summary];
    } catch (error) {
      if (error instanceof NotFoundError) return 'unsupported';
      throw error;
    }
  }

  /** A GET of a route the client has no method for yet; 404 `not_found` means the server lacks the route. */
  private async getJson(
    path: string,
    query: Readonly<Record<string, string | undefined>>,
    signal?: AbortSignal,
  ): Promise<unknown> {
    const url = new URL(this.baseUrl.href);
    url.pathname = `${url.pathname.replace(/\/+$/, '')}${path}`;
    for (const [name, value] of Object.entries(query))
      if (value !== undefined) url.searchParams.set(name, value);
    const headers = { accept: 'application/json' };
    const auth = await this.auth.headersFor({ method: 'GET', url, headers, body: undefined });
    const answer = await fetch(url, { headers: { ...headers, ...auth }, ...(signal ? { signal } : {}) });
    const text = await answer.text();
    let json: unknown;
    try {
      json = text.length > 0 ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (answer.ok) return json;
    const error = errorFromResponse(answer.status, json, {
      ...(answer.headers.get('apigw-requestid')
        ? { requestId: answer.headers.get('apigw-requestid') as string }
        : {}),
    });
    if (error instanceof NotFoundError) return 'unsupported';
    throw error;
  }
}

/** Issue 16's page: `{ conversations: [...], nextCursor }` (each item with `conversationId` or `id`). */
export function conversationListPage(json: unknown): ConversationListPage {
  const body = (typeof json === 'object' && json !== null ? json : {}) as Record<string, unknown>;
  const items = Array.isArray(body.conversations) ? body.conversations : [];
  return {
    conversations: items
      .filter((item): item is Record<string, unknown> => typeof item === 'object' && item !== null)
      .map((item) => ({ ...item, id: String(item.conversationId ?? item.id ?? '') }))
      .filter((item) => item.id.length > 0),
    nextCursor: typeof body.nextCursor === 'string' && body.nextCursor.length > 0 ? body.nextCursor : null,
  };
}
