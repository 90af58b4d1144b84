import { afterAll, describe, expect, inject, it } from 'vitest';
import { stopAllServers } from '../e2e/server-process.js';
import { formatSummary, runChaos } from './chaos-run.js';

/** CI's fixed run; `npm run chaos -- --seed N --ops N --fault-rate R` runs others. */
const seed = 20261130;
const ops = 400;

describe('randomized history under faults', () => {
  afterAll(stopAllServers);

  it(`keeps every promise: ${ops} operations, 10% of DynamoDB requests faulty, a server SIGKILLed mid-run (seed ${seed})`, async () => {
    // Act
    const result = await runChaos({
      seed,
      ops,
      faultRate: 0.1,
      dynamoDbEndpoint: inject('dynamoDbEndpoint'),
    });
    console.log(formatSummary(result));

    // Assess: the checker found nothing...
    expect(result.violations).toEqual([]);
    // ...over a run that did what it claims: faults of every kind, a restart, each kind of write applied.
    const { summary, history } = result;
    expect(Object.keys(summary.faults).length).toBeGreaterThanOrEqual(6);
    expect(summary.faults['drop-answer']).toBeGreaterThan(0);
    expect(summary.restartMs).toBeGreaterThan(0);
    const applied = new Set(
      history.records.flatMap((record) =>
        record.type === 'write' && (record.exchanges.at(-1)?.status ?? 500) < 300
          ? [
              `${record.kind}${record.keyed ? ' keyed' : ''}${record.expectedVersion === undefined ? '' : ' conditional'}`,
            ]
          : [],
      ),
    );
    expect([...applied].sort()).toEqual(
      expect.arrayContaining(['append', 'append conditional', 'append keyed', 'edit', 'turn', 'turn keyed']),
    );
  }, 150_000);
});
