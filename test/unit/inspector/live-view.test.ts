import { describe, expect, it } from 'vitest';
import { afterForwardRead, compareHead } from '../../../inspector/page/live-view.js';

const head = (version: number, messageCount: number) => ({
  conversationId: 'c',
  version,
  messageCount,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  revision: 0,
});

describe('inspector live view', () => {
  describe('compareHead', () => {
    it('is unchanged at the same version and count, and learns the count when it was unknown', () => {
      expect(compareHead({ version: 5, messageCount: 5 }, head(5, 5))).toEqual({
        kind: 'unchanged',
        shown: { version: 5, messageCount: 5 },
      });
      expect(compareHead({ version: 5, messageCount: undefined }, head(5, 4))).toEqual({
        kind: 'unchanged',
        shown: { version: 5, messageCount: 4 },
      });
    });

    it('sees an edit that left the version where it was shown: another count', () => {
      expect(compareHead({ version: 5, messageCount: 5 }, head(5, 3))).toMatchObject({ kind: 'rewritten' });
    });

    it('sees a delete (no head) and a conversation written again after one (a lower version)', () => {
      expect(compareHead({ version: 5, messageCount: 5 }, undefined)).toEqual({ kind: 'gone' });
      expect(compareHead({ version: 5, messageCount: 5 }, head(2, 2))).toMatchObject({ kind: 'rewritten' });
    });

    it('reads on when the version grew', () => {
      expect(compareHead({ version: 5, messageCount: 5 }, head(7, 7))).toEqual({ kind: 'appended' });
    });
  });

  describe('afterForwardRead', () => {
    it('takes appended messages: the head counts exactly the shown ones plus the new ones up to its version', () => {
      const next = afterForwardRead(
        { version: 5, messageCount: 5 },
        head(7, 7),
        [{ seq: 6 }, { seq: 7 }, { seq: 8 }],
        8,
      );
      expect(next).toEqual({ version: 8, messageCount: 8 });
    });

    it('sees an edit that replaced shown messages: the replacement has new seqs, the head counts fewer', () => {
      // Shown 1-5; an edit removed 4 and 5 and appended 6: version 6, 4 messages.
      expect(afterForwardRead({ version: 5, messageCount: 5 }, head(6, 4), [{ seq: 6 }], 6)).toMatchObject({
        kind: 'rewritten',
      });
    });

    it('cannot check without a known count, and leaves it unknown', () => {
      expect(afterForwardRead({ version: 5, messageCount: undefined }, head(6, 4), [{ seq: 6 }], 6)).toEqual({
        version: 6,
        messageCount: undefined,
      });
    });
  });
});
