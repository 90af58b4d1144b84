import { type Backoff, RetryBudget } from './retry-budget.js';
import type { TableClient } from './table-client.js';

/** What every operation of the store works with: its table, its settings and its clock. */
export interface StoreContext {
  readonly table: TableClient;
  /** Retention of every item after its conversation's last write; undefined: kept forever. */
  readonly ttlSeconds: number | undefined;
  /** The clock, in epoch milliseconds. */
  readonly now: () => number;
  readonly maxAttempts: number;
  readonly backoff: Backoff;
}

/** The time as the items' expiry attributes count it (epoch seconds). */
export function nowSeconds(store: StoreContext): number {
  return Math.floor(store.now() / 1000);
}

/** The retry budget of one write. */
export function retryBudget(store: StoreContext): RetryBudget {
  return new RetryBudget(store.maxAttempts, store.backoff);
}
