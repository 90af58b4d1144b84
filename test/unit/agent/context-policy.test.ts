import { describe, expect, it } from 'vitest';
import {
  type ContextPolicy,
  estimateTokens,
  selectContext,
  validateContextPolicy,
} from '../../../lambda/agent/context-policy.js';
import type { MessageInput, StoredMessage } from '../../../lambda/memory/message.js';
import { assistant, storedHistory, toolResult, user } from './stored-history.js';

const seqs = (messages: StoredMessage[]) => messages.map((message) => message.seq);
const generous: ContextPolicy = { maxMessages: 20, maxTokens: 1_000_000 };
/** A user message whose estimate is exactly `tokens` (its JSON is 4 characters per token). */
const userOfTokens = (tokens: number): MessageInput => {
  const overhead = JSON.stringify({ role: 'user', content: '' }).length;
  return user('x'.repeat(tokens * 4 - overhead));
};

describe('selectContext', () => {
  it('gives the last maxMessages messages, oldest first', () => {
    // Prepare
    const history = storedHistory(...Array.from({ length: 30 }, (_, i) => user(`m${i + 1}`)));

    // Act
    const window = selectContext(history, { ...generous, maxMessages: 20 });

    // Assess
    expect(seqs(window)).toEqual(Array.from({ length: 20 }, (_, i) => i + 11));
  });

  it('gives the whole history when it is shorter than maxMessages', () => {
    // Prepare
    const history = storedHistory(user('a'), assistant('b'));

    // Act
    const window = selectContext(history, generous);

    // Assess
    expect(seqs(window)).toEqual([1, 2]);
  });

  it('stops at the first message (from the newest) that does not fit the token budget', () => {
    // Prepare
    const history = storedHistory(userOfTokens(10), userOfTokens(100), userOfTokens(30), userOfTokens(30));
    expect(estimateTokens(history[1] as StoredMessage)).toBe(100);

    // Act
    const window = selectContext(history, { maxMessages: 20, maxTokens: 100 });

    // Assess: 30 + 30 fit, the 100 does not, the older 10 is not used to fill the gap
    expect(seqs(window)).toEqual([3, 4]);
  });

  it('leaves the budget that the system prompt and the new message reserve', () => {
    // Prepare
    const history = storedHistory(userOfTokens(30), userOfTokens(30), userOfTokens(30));

    // Act
    const window = selectContext(history, { maxMessages: 20, maxTokens: 100 }, 40);

    // Assess
    expect(seqs(window)).toEqual([2, 3]);
  });

  it('gives nothing when the newest message alone is over the budget', () => {
    // Prepare
    const history = storedHistory(userOfTokens(10), userOfTokens(500));

    // Act
    const window = selectContext(history, { maxMessages: 20, maxTokens: 100 });

    // Assess
    expect(window).toEqual([]);
  });

  it('counts what is sent (content, tool calls), not metadata', () => {
    // Prepare
    const plain = storedHistory(user('hello'))[0] as StoredMessage;
    const withMetadata = { ...plain, metadata: { big: 'x'.repeat(10_000) } };
    const withCalls = storedHistory(
      assistant('hello', [{ id: 'c', name: 'n', arguments: 'x'.repeat(400) }]),
    )[0];

    // Act
    const costs = [plain, withMetadata, withCalls as StoredMessage].map(estimateTokens);

    // Assess
    expect(costs[1]).toBe(costs[0]);
    expect(costs[2]).toBeGreaterThan(100);
  });

  describe('tool calls and results', () => {
    const history = storedHistory(
      user('weather?'), //                                                   1
      assistant('', [
        { id: 'c1', name: 'weather', arguments: '{}' },
        { id: 'c2', name: 'weather', arguments: '{}' },
      ]), //                                                                  2
      toolResult('c1', 'sun'), //                                             3
      toolResult('c2', 'rain'), //                                            4
      assistant('sun and rain'), //                                           5
    );

    it('does not start on tool results whose call is outside the window', () => {
      // Act
      const window = selectContext(history, { ...generous, maxMessages: 3 });

      // Assess: 3..5 would start on a result of the call in 2; both results go
      expect(seqs(window)).toEqual([5]);
    });

    it('keeps a call and all its results when the call fits', () => {
      // Act
      const window = selectContext(history, { ...generous, maxMessages: 4 });

      // Assess
      expect(seqs(window)).toEqual([2, 3, 4, 5]);
    });

    it('does not keep a result when the budget cut its call off', () => {
      // Prepare
      const budget = [3, 4, 5].reduce(
        (sum, seq) => sum + estimateTokens(history[seq - 1] as StoredMessage),
        0,
      );

      // Act
      const window = selectContext(history, { maxMessages: 20, maxTokens: budget });

      // Assess
      expect(seqs(window)).toEqual([5]);
    });

    it('drops a result inside the window that answers a call made before it', () => {
      // Prepare: an untidy history where the result does not directly follow its call
      const untidy = storedHistory(
        assistant('', [{ id: 'c9', name: 'lookup', arguments: '{}' }]),
        user('meanwhile'),
        toolResult('c9', 'found'),
        user('so?'),
      );

      // Act
      const window = selectContext(untidy, { ...generous, maxMessages: 3 });

      // Assess
      expect(seqs(window)).toEqual([4]);
    });
  });
});

describe('validateContextPolicy', () => {
  it.each([
    { maxMessages: 0, maxTokens: 10 },
    { maxMessages: 1001, maxTokens: 10 },
    { maxMessages: 2.5, maxTokens: 10 },
    { maxMessages: 20, maxTokens: 0 },
  ])('rejects %o', (policy) => {
    // Act
    const validate = () => validateContextPolicy(policy);

    // Assess
    expect(validate).toThrow(RangeError);
  });
});
