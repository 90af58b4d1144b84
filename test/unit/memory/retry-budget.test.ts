import { describe, expect, it } from 'vitest';
import { StoreFailureError, UnavailableError } from '../../../lambda/memory/errors.js';
import { RetryBudget } from '../../../lambda/memory/retry-budget.js';

const budget = (maxAttempts: number) => new RetryBudget(maxAttempts, { baseMs: 0, capMs: 0 });

describe('RetryBudget', () => {
  it('allows maxAttempts transactions in all, whatever made them go again', async () => {
    const shared = budget(3);

    const answers = [await shared.again(), await shared.again(), await shared.again()];

    expect(answers).toEqual([true, true, false]);
  });

  it('spends the budget on lost races, then answers Unavailable naming them', async () => {
    const shared = budget(2);
    await shared.again(); // a cancellation for contention

    const error = await shared.afterFailedCondition(true, 'cause').catch((e) => e);

    expect(error).toBeInstanceOf(UnavailableError);
    expect(error.message).toBe(
      'The conversation is under heavy concurrent writes; 1 attempts lost the race. Retry shortly.',
    );
  });

  it('lets a write learn the head three times at once, without spending the budget, then fails', async () => {
    const shared = budget(1);

    for (let lesson = 0; lesson < 3; lesson++) await shared.afterFailedCondition(false, 'cause');
    const error = await shared.afterFailedCondition(false, 'cause').catch((e) => e);

    expect(error).toBeInstanceOf(StoreFailureError);
  });
});
