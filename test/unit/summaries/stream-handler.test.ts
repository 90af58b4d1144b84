import type { Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { keys } from '../../../lambda/memory/table.js';

/*
 * The compactor's stream handler: which conversations a batch wakes, and what it reports to Lambda. The compaction
 * itself is tested on DynamoDB Local (test/integration/summaries.test.ts, test/faults/summary-lost-answers.test.ts).
 */

const compact = vi.hoisted(() => vi.fn());
vi.mock('../../../lambda/summaries/compactor.js', () => ({ compact }));
const { handler } = await import('../../../lambda/summaries/stream-handler.js');

const headRecord = (tenant: string, conversationId: string, sequence: string): DynamoDBRecord => ({
  eventName: 'MODIFY',
  dynamodb: {
    Keys: { pk: { S: keys.partition(tenant, conversationId) }, sk: { S: keys.head } },
    NewImage: { summaryDue: { BOOL: true } },
    SequenceNumber: sequence,
  },
});
const context = (remainingMs: number) =>
  ({ getRemainingTimeInMillis: () => remainingMs, functionName: 'Compactor' }) as unknown as Context;
const compacted = {
  status: 'compacted',
  stored: 1,
  modelCalls: 1,
  complete: true,
  summary: { throughSeq: 30 },
};

describe('the compactor stream handler', () => {
  beforeEach(() => {
    compact.mockReset();
    compact.mockResolvedValue(compacted);
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('compacts each conversation of a batch once, whatever its number of records, and reports no failure', async () => {
    // Prepare
    const event: DynamoDBStreamEvent = {
      Records: [
        headRecord('acme', 'c1', '100'),
        headRecord('acme', 'c2', '101'),
        headRecord('acme', 'c1', '102'),
        headRecord('other tenant', 'c1', '103'),
        // Not a conversation's partition (a LangGraph thread): ignored.
        { eventName: 'MODIFY', dynamodb: { Keys: { pk: { S: 'T#acme#LG#t1' } }, SequenceNumber: '104' } },
      ],
    };

    // Act
    const result = await handler(event, context(300_000));

    // Assess
    expect(result).toEqual({ batchItemFailures: [] });
    expect(compact.mock.calls.map(([tenant, id]) => [tenant, id]).sort()).toEqual([
      ['acme', 'c1'],
      ['acme', 'c2'],
      ['other tenant', 'c1'],
    ]);
  });

  it("reports a conversation's first record when its compaction fails or stops at the deadline, so Lambda resumes there", async () => {
    // Prepare
    compact.mockImplementation(async (_tenant: string, id: string) => {
      if (id === 'broken') throw new Error('model down');
      if (id === 'long') return { ...compacted, complete: false };
      return compacted;
    });
    const event: DynamoDBStreamEvent = {
      Records: [
        headRecord('acme', 'fine', '200'),
        headRecord('acme', 'broken', '201'),
        headRecord('acme', 'long', '202'),
        headRecord('acme', 'broken', '203'),
      ],
    };

    // Act
    const result = await handler(event, context(300_000));

    // Assess
    expect(result.batchItemFailures.map((failure) => failure.itemIdentifier).sort()).toEqual(['201', '202']);
  });

  it('starts no compaction when too little time is left, reporting every conversation for a retry', async () => {
    // Act: 20 s left, below the 25 s the handler keeps for answering.
    const result = await handler(
      { Records: [headRecord('acme', 'c1', '300'), headRecord('acme', 'c2', '301')] },
      context(20_000),
    );

    // Assess
    expect(compact).not.toHaveBeenCalled();
    expect(result.batchItemFailures.map((failure) => failure.itemIdentifier).sort()).toEqual(['300', '301']);
  });
});
