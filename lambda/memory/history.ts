import type { StoredMessage } from './message.js';

/*
 * What the store's reads take and return. Kept apart from conversation-store.ts, which imports the AWS SDK,
 * so that the HTTP client shares these types without its users installing the SDK.
 */

export interface LoadOptions {
  /** 1-1000. @default 50 */
  readonly limit?: number;
  /** Exclusive upper seq bound. */
  readonly before?: number;
  /** Exclusive lower seq bound; pages go forward (oldest first) when set. */
  readonly after?: number;
}

export interface HistoryPage {
  readonly conversationId: string;
  readonly version: number;
  /** Ascending by seq. */
  readonly messages: StoredMessage[];
  /** Backward pages: the `before` of the next older page, null when none is left. */
  readonly nextBefore?: number | null;
  /** Forward pages: the `after` of the next newer page, null when none is left. */
  readonly nextAfter?: number | null;
  readonly consumedCapacity: number;
}

export interface ConversationInfo {
  readonly conversationId: string;
  readonly version: number;
  readonly messageCount: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly expiresAt?: string;
}
