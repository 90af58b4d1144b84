/**
 * `npm run chaos -- --seed N --ops N [--fault-rate R] [--clients N] [--conversations N]`: one randomized history
 * run (chaos-run.ts) on its own DynamoDB Local, with progress, a summary, and the history written to a file
 * when the checker finds a violation. Exits 1 then.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startDynamoDbLocal } from '../../local/dynamodb-local.js';
import { stopAllServers } from '../e2e/server-process.js';
import { formatSummary, runChaos } from './chaos-run.js';

const usage = `npm run chaos -- [options]

  --seed N            what every client does and which faults are drawn (default: random)
  --ops N             operations over all clients (default 1000)
  --fault-rate R      share of DynamoDB requests tampered with, 0-1 (default 0.1)
  --clients N         concurrent clients (default 8)
  --conversations N   conversations they share (default 3)`;

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    ops: { type: 'string', default: '1000' },
    'fault-rate': { type: 'string', default: '0.1' },
    clients: { type: 'string', default: '8' },
    conversations: { type: 'string', default: '3' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(usage);
  process.exit(0);
}
const number = (name: string, text: string | undefined, valid: (n: number) => boolean): number => {
  const value = Number(text);
  if (text === undefined || !valid(value)) {
    console.error(`--${name} ${text} is not valid.\n\n${usage}`);
    process.exit(2);
  }
  return value;
};
const seed = number('seed', values.seed ?? String(Math.floor(Math.random() * 2 ** 31)), Number.isSafeInteger);
const ops = number('ops', values.ops, (n) => Number.isInteger(n) && n > 0);
const faultRate = number('fault-rate', values['fault-rate'], (n) => n >= 0 && n <= 1);
const clients = number('clients', values.clients, (n) => Number.isInteger(n) && n > 0);
const conversations = number('conversations', values.conversations, (n) => Number.isInteger(n) && n > 0);

const log = (line: string) => console.log(`[chaos] ${line}`);
log(`seed ${seed}: ${ops} ops, fault rate ${faultRate}, ${clients} clients, ${conversations} conversations`);
const dynamo = await startDynamoDbLocal({ inMemory: true });
log(`DynamoDB Local (in memory) at ${dynamo.endpoint}; starting two servers`);
let exitCode = 1;
try {
  const result = await runChaos({
    seed,
    ops,
    faultRate,
    clients,
    conversations,
    dynamoDbEndpoint: dynamo.endpoint,
    progress: log,
  });
  console.log(`\n${formatSummary(result)}`);
  if (result.violations.length > 0) {
    const file = join(tmpdir(), `agent-memory-chaos-${seed}.json`);
    writeFileSync(file, JSON.stringify(result.history, null, 1));
    console.log(`\nThe whole history is in ${file}`);
  } else {
    exitCode = 0;
  }
} finally {
  await stopAllServers();
  await dynamo.stop();
}
process.exit(exitCode);
