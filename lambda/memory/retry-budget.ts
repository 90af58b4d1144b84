import { StoreFailureError, UnavailableError } from './errors.js';

export interface Backoff {
  readonly baseMs: number;
  readonly capMs: number;
}

/**
 * The store's own retries of one write, beyond what the SDK resends (./table-client.ts): a transaction that
 * DynamoDB refused for contention goes again as it is, and one that lost a race (another writer moved the
 * version) goes again on the new version. Both spend one budget of `maxAttempts` transactions, with full-jitter
 * exponential backoff between them. A write that only learned the head's true state (a dead head to start a
 * new life over, a dead key record) goes again at once, a few times at most.
 */
export class RetryBudget {
  private attempts = 1;
  private races = 0;
  private lessons = 0;

  constructor(
    private readonly maxAttempts: number,
    private readonly backoff: Backoff,
  ) {}

  /** Whether another transaction fits the budget; if so, it may go after a jittered pause. */
  async again(): Promise<boolean> {
    if (this.attempts >= this.maxAttempts) return false;
    const ceiling = Math.min(this.backoff.capMs, this.backoff.baseMs * 2 ** this.attempts);
    await new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
    this.attempts++;
    return true;
  }

  /**
   * After an attempt whose condition failed without the caller's version to blame: a lost race waits and
   * spends the budget; a lesson (the head was not what the attempt assumed) goes again at once.
   */
  async afterFailedCondition(lostRace: boolean, cause: unknown): Promise<void> {
    if (!lostRace) {
      if (++this.lessons > 3)
        throw new StoreFailureError('The conversation head kept changing state.', { cause });
      return;
    }
    this.races++;
    if (!(await this.again())) {
      throw new UnavailableError(
        `The conversation is under heavy concurrent writes; ${this.races} attempts lost the race. Retry shortly.`,
        1,
        { cause },
      );
    }
  }
}
