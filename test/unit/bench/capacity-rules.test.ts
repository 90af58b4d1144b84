import { describe, expect, it } from 'vitest';
import { modeledWriteUnits } from '../../../bench/capacity-model.js';
import { itemSize, readUnits, writeUnits } from '../../../bench/item-size.js';

describe('bench capacity rules', () => {
  describe('itemSize', () => {
    it('counts attribute names, UTF-8 strings, numbers and the overhead of maps and lists', () => {
      // Prepare
      const item = {
        pk: { S: 'é' }, // 2 + 2
        n: { N: '12345' }, // 1 + 4
        l: { L: [{ S: 'ab' }, { BOOL: true }] }, // 1 + 3 + (1 + 2) + (1 + 1)
        m: { M: { k: { S: 'v' } } }, // 1 + 3 + (1 + 1 + 1)
      };

      // Act
      const size = itemSize(item);

      // Assess
      expect(size).toBe(4 + 5 + 9 + 7);
    });
  });

  describe('readUnits and writeUnits', () => {
    it('round reads up per 4 KB, halve eventually consistent ones, and round writes up per 1 KB', () => {
      expect(readUnits(4096, true)).toBe(1);
      expect(readUnits(4097, true)).toBe(2);
      expect(readUnits(4097, false)).toBe(1);
      expect(readUnits(0, false)).toBe(0.5);
      expect(writeUnits(1024)).toBe(1);
      expect(writeUnits(1025)).toBe(2);
    });
  });

  describe('modeledWriteUnits', () => {
    it('charges each item on the larger of before and after, twice in a transaction', () => {
      // Prepare: an update that shrinks a 3 KB item, and two new 300-byte items.
      const before = [3000, 0, 0];
      const after = [200, 300, 300];

      // Act
      const plain = modeledWriteUnits(before, after, false);
      const transactional = modeledWriteUnits(before, after, true);

      // Assess
      expect(plain).toBe(3 + 1 + 1);
      expect(transactional).toBe(10);
    });
  });
});
