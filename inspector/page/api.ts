import { AgentMemoryClient } from '../../client/agent-memory-client.js';
import { bearerAuth } from '../../client/bearer-auth.js';
import type { ConversationInfo, ConversationSummary, HistoryPage } from '../../client/conversation-memory.js';
import { NotFoundError } from '../../client/errors.js';
import { tenantHeaderAuth } from '../../client/tenant-header-auth.js';

/*
 * The page's only way to the data: the public HTTP API, through the project's own client (AgentMemoryClient).
 */

/** How the page authenticates: the local server's X-Tenant-Id, or a JWT deployment's bearer token. */
export type Credentials =
  | { readonly kind: 'tenant-header'; readonly tenant: string }
  | { readonly kind: 'bearer'; readonly token: string };

/** A conversation in the tenant's listing (`GET /v1/conversations`), or only its id (one opened recently). */
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

  constructor(baseUrl: URL, credentials: Credentials) {
    this.baseUrl = baseUrl;
    // Few retries: a person is waiting, and can retry.
    this.client = new AgentMemoryClient({
      baseUrl,
      auth:
        credentials.kind === 'bearer' ? bearerAuth(credentials.token) : tenantHeaderAuth(credentials.tenant),
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
   * One page of the tenant's conversations, newest activity first: all of them, or one scope's (`prefix`, the
   * part of an id before its first ':', with the ':'); `cursor`: the previous page's `nextCursor`.
   */
  async listConversations(
    options: { readonly prefix?: string; readonly cursor?: string },
    signal?: AbortSignal,
  ): Promise<ConversationListPage> {
    const page = await this.client.listPage({
      limit: pageSize,
      ...(options.prefix ? { prefix: options.prefix } : {}),
      ...(options.cursor ? { cursor: options.cursor } : {}),
      ...(signal ? { signal } : {}),
    });
    return {
      conversations: page.conversations.map(({ conversationId, ...conversation }) => ({
        ...conversation,
        id: conversationId,
      })),
      nextCursor: page.nextCursor,
    };
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
}
