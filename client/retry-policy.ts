/** How the client retries what is safe to retry. */
export interface RetryOptions {
  /** Attempts in all, the first included; 1 disables retries. @default 5 */
  readonly maxAttempts?: number;
  /** The first backoff ceiling; it doubles per attempt. @default 100 */
  readonly baseDelayMs?: number;
  /** The largest backoff ceiling. @default 5000 */
  readonly maxDelayMs?: number;
  /** A Retry-After longer than this is not waited for: the error is thrown at once. @default 60000 */
  readonly maxRetryAfterMs?: number;
}

export type RetryPolicy = Required<RetryOptions>;

export function retryPolicy(options: RetryOptions = {}): RetryPolicy {
  const policy = {
    maxAttempts: options.maxAttempts ?? 5,
    baseDelayMs: options.baseDelayMs ?? 100,
    maxDelayMs: options.maxDelayMs ?? 5000,
    maxRetryAfterMs: options.maxRetryAfterMs ?? 60_000,
  };
  if (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1) {
    throw new RangeError(`retry.maxAttempts must be an integer >= 1, got ${policy.maxAttempts}`);
  }
  for (const name of ['baseDelayMs', 'maxDelayMs', 'maxRetryAfterMs'] as const) {
    if (!(policy[name] >= 0)) throw new RangeError(`retry.${name} must be >= 0, got ${policy[name]}`);
  }
  return policy;
}

/**
 * Full-jitter exponential backoff before attempt `attempt + 1`: uniform in [0, min(maxDelay, base * 2^(attempt-1))),
 * so clients that failed together do not retry together.
 */
export function backoffDelay(
  attempt: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random() * ceiling);
}

/** A Retry-After header in milliseconds: delay-seconds or an HTTP date. Undefined when absent or unreadable. */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
