import { describe, expect, it } from 'vitest';
import {
  checkAcceptance,
  checkCheckpointAcceptance,
  checkListingAcceptance,
} from '../../../bench/acceptance.js';
import type { CheckpointCostResults, CheckpointSample } from '../../../bench/checkpoint-cost.js';
import type { CostResults, TurnSample } from '../../../bench/cost-vs-history.js';
import type { ListingCostResults, ListingSample } from '../../../bench/listing-cost.js';

function sample(historyLength: number, totalUnits: number, calls = 2): TurnSample {
  const units = { readUnits: totalUnits - 6, writeUnits: 6, totalUnits };
  return {
    system: 'agent-memory',
    historyLength,
    callsPerTurn: { min: calls, max: calls },
    commands: ['QueryCommand', 'TransactWriteItemsCommand'],
    modeled: units,
    reported: units,
    totalUnitsRange: { min: totalUnits, max: totalUnits },
    itemBytesRead: 0,
    wireBytesRead: 0,
    latency: { samples: 1, medianMs: 1, p95Ms: 1, minMs: 1, maxMs: 1 },
    durationsMs: [1],
    medianCallMs: [0.5, 0.5],
  };
}

const results = (samples: TurnSample[]): CostResults => ({
  window: 20,
  processWarmupTurns: 0,
  warmupTurns: 1,
  measuredTurns: 1,
  samples,
  failures: [],
});

describe('checkAcceptance', () => {
  it('passes a flat turn in two calls, with a cheaper turn below the window', () => {
    // Prepare
    const cost = results([sample(10, 7), sample(20, 8), sample(10_000, 8)]);

    // Act
    const acceptance = checkAcceptance(cost);

    // Assess
    expect(acceptance.passed).toBe(true);
  });

  it('fails when capacity at the largest history grows by more than 10%', () => {
    const acceptance = checkAcceptance(results([sample(20, 8), sample(10_000, 9)]));

    expect(acceptance.passed).toBe(false);
    expect(acceptance.checks.find((check) => !check.passed)?.name).toMatch(/modeled capacity flat/);
  });

  it('fails when a turn takes other than two DynamoDB calls', () => {
    const acceptance = checkAcceptance(results([sample(20, 8), sample(10_000, 8, 3)]));

    expect(acceptance.passed).toBe(false);
    expect(acceptance.checks.find((check) => !check.passed)?.name).toMatch(/2 DynamoDB calls/);
  });

  it('fails when a history shorter than the window costs more than a full window', () => {
    const acceptance = checkAcceptance(results([sample(10, 12), sample(20, 8), sample(10_000, 8)]));

    expect(acceptance.passed).toBe(false);
  });
});

function checkpointSample(checkpoints: number, readUnits: number, putCalls = 1): CheckpointSample {
  const operation = (calls: number, units: number, commands: string[]) => ({
    calls: { min: calls, max: calls },
    commands,
    modeledUnits: units,
    modeledUnitsRange: { min: units, max: units },
    reportedUnits: units,
    itemBytes: 0,
    latency: { samples: 1, medianMs: 1, p95Ms: 1, minMs: 1, maxMs: 1 },
  });
  return {
    checkpoints,
    seedMs: 0,
    getTuple: operation(3, readUnits, ['QueryCommand', 'QueryCommand', 'BatchGetItemCommand']),
    put: operation(putCalls, 6, ['TransactWriteItemsCommand']),
  };
}

const checkpointResults = (samples: CheckpointSample[]): CheckpointCostResults => ({
  warmupSteps: 1,
  measuredSteps: 1,
  processWarmupSteps: 0,
  state: { carriedMessages: 10, messageBytes: 200 },
  samples,
});

describe('checkCheckpointAcceptance', () => {
  it('passes when getTuple and put cost the same from the shortest thread to the longest', () => {
    const checks = checkCheckpointAcceptance(
      checkpointResults([checkpointSample(10, 5), checkpointSample(10_000, 5)]),
    );

    expect(checks.every((check) => check.passed)).toBe(true);
    expect(checks).toHaveLength(6);
  });

  it('fails when getTuple reads more on a longer thread', () => {
    const checks = checkCheckpointAcceptance(
      checkpointResults([checkpointSample(10, 5), checkpointSample(10_000, 6)]),
    );

    expect(checks.filter((check) => !check.passed).map((check) => check.name)).toEqual([
      'getTuple: modeled capacity flat from 10 to 10000 checkpoints',
      "getTuple: DynamoDB Local's reported capacity flat from 10 to 10000 checkpoints",
    ]);
  });

  it('fails when put takes other calls on a longer thread', () => {
    const checks = checkCheckpointAcceptance(
      checkpointResults([checkpointSample(10, 5), checkpointSample(10_000, 5, 2)]),
    );

    expect(checks.find((check) => !check.passed)?.name).toBe(
      'put: the same DynamoDB calls at every thread length',
    );
  });

  it('fails without two thread lengths', () => {
    expect(checkCheckpointAcceptance(checkpointResults([checkpointSample(10, 5)]))[0]?.passed).toBe(false);
  });
});

describe('checkListingAcceptance', () => {
  const page = (conversations: number, calls: number, total: number, listed = 50): ListingSample => ({
    conversations,
    kind: 'tenant',
    page: 1,
    limit: 50,
    listed,
    calls: { min: calls, max: calls },
    commands: { Query: calls - 1, BatchGetItem: 1 },
    reported: { table: 50, indexes: total - 50, total },
    latency: { samples: 1, medianMs: 1, p95Ms: 1, minMs: 1, maxMs: 1 },
  });
  const listing = (samples: ListingSample[], sameMinuteIndexUnits = 0): ListingCostResults => ({
    measuredPages: 1,
    seedMs: {},
    samples,
    turns: [
      {
        case: 'turn in the same minute as the last write',
        reported: { table: 3, indexes: sameMinuteIndexUnits, total: 3 + sameMinuteIndexUnits },
      },
    ],
  });
  const passed = (results: ListingCostResults) =>
    checkListingAcceptance(results).map((check) => check.passed);

  it('passes a page that costs the same at 100 and 100,000 conversations, give or take a shard read', () => {
    expect(passed(listing([page(100, 19, 58), page(100_000, 22, 60.5)]))).toEqual([true, true]);
  });

  it('fails a page that reads more at the larger size, or lists fewer', () => {
    expect(passed(listing([page(100, 19, 58), page(100_000, 19, 70)]))[0]).toBe(false);
    expect(passed(listing([page(100, 19, 58), page(100_000, 30, 63)]))[0]).toBe(false);
    expect(passed(listing([page(100, 19, 58), page(100_000, 19, 58, 40)]))[0]).toBe(false);
  });

  it('fails when a turn in the minute of the last write writes an index, or without two sizes', () => {
    expect(passed(listing([page(100, 19, 58), page(100_000, 19, 58)], 2))[1]).toBe(false);
    expect(passed(listing([page(100, 19, 58)]))[0]).toBe(false);
  });
});
