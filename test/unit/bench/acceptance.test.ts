import { describe, expect, it } from 'vitest';
import { checkAcceptance, checkCheckpointAcceptance } from '../../../bench/acceptance.js';
import type { CheckpointCostResults, CheckpointSample } from '../../../bench/checkpoint-cost.js';
import type { CostResults, TurnSample } from '../../../bench/cost-vs-history.js';

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
