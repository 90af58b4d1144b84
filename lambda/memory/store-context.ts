import type { AttachmentStorage } from './attachments/attachment-storage.js';
import { type Backoff, RetryBudget } from './retry-budget.js';
import type { TableClient } from './table-client.js';

/** Large values in S3 (./attachments/): absent, every message stays whole in its item, as before. */
export interface AttachmentSettings {
  readonly storage: AttachmentStorage;
  /** A content part (or string content) over this many bytes of JSON is moved to S3. */
  readonly thresholdBytes: number;
  /** How long a presigned URL of a read (or an upload) stays valid. */
  readonly urlExpiresSeconds: number;
  /** How long after a write began its uploads may still be committed; then a sweep removes them. */
  readonly pendingGraceSeconds: number;
}

/** What every operation of the store works with: its table, its settings and its clock. */
export interface StoreContext {
  readonly table: TableClient;
  /** Retention of every item after its conversation's last write; undefined: kept forever. */
  readonly ttlSeconds: number | undefined;
  /** The clock, in epoch milliseconds. */
  readonly now: () => number;
  readonly maxAttempts: number;
  readonly backoff: Backoff;
  readonly attachments: AttachmentSettings | undefined;
}

/** The time as the items' expiry attributes count it (epoch seconds). */
export function nowSeconds(store: StoreContext): number {
  return Math.floor(store.now() / 1000);
}

/** The retry budget of one write. */
export function retryBudget(store: StoreContext): RetryBudget {
  return new RetryBudget(store.maxAttempts, store.backoff);
}
