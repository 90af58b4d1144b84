import { describe, expect, inject, it } from 'vitest';
import { checkItemSizeLimit } from '../../bench/item-size-limit.js';

describe('checkItemSizeLimit', () => {
  it("finds DynamoDB Local's 400 KB limit exactly where the benchmark's item-size rules put it", async () => {
    // Act
    const check = await checkItemSizeLimit(inject('dynamoDbEndpoint'));

    // Assess
    expect(check).toMatchObject({ limitBytes: 409_600, atLimitAccepted: true, overLimitRejected: true });
    expect(check.overLimitError).toMatch(/ValidationException/);
  });
});
