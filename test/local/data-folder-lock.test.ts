import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataFolderInUseError, DataFolderLock, removeStaleLock } from '../../local/data-folder-lock.js';
import { projectRoot } from '../../local/local-server-config.js';

/** The pid of a process that has exited (and was reaped): what a SIGKILLed server leaves in its lock. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  });
  return Number(child.stdout);
}

const sha256Prefix = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 16);

const staleLock = (pid: number) =>
  JSON.stringify({ pid, lockId: 'stale', startedAt: '2026-01-01T00:00:00Z' });

/** Node processes that each try to take the folder at the same moment, then hold what they got for a while. */
async function contenders(dataDir: string, count: number): Promise<string[]> {
  // Each waits for the same instant, once loaded, so that the attempts overlap.
  const startAt = Date.now() + 3000;
  const script = `
    import { DataFolderLock } from ${JSON.stringify(join(projectRoot, 'local', 'data-folder-lock.ts'))};
    while (Date.now() < ${startAt}) {}
    try {
      DataFolderLock.acquire(${JSON.stringify(dataDir)});
      console.log('took it');
    } catch (error) {
      console.log(error.name);
    }
    setTimeout(() => {}, 1500);
  `;
  return Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<string>((resolve, reject) => {
          const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
            cwd: projectRoot,
            stdio: ['ignore', 'pipe', 'inherit'],
          });
          let output = '';
          child.stdout.on('data', (chunk: Buffer) => {
            output += chunk.toString();
          });
          child.on('error', reject);
          child.on('exit', () => resolve(output.trim()));
        }),
    ),
  );
}

describe('DataFolderLock', () => {
  let dataDir: string;

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'agent-memory-lock-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('takes a free folder, names its owner in server.lock, and frees it on release', () => {
    // Act
    const lock = DataFolderLock.acquire(dataDir);
    lock.update({
      dynamoDbLocalPid: 4242,
      dynamoDbEndpoint: 'http://127.0.0.1:8000',
      url: 'http://127.0.0.1:3000',
    });

    // Assess
    expect(JSON.parse(readFileSync(join(dataDir, 'server.lock'), 'utf8'))).toMatchObject({
      pid: process.pid,
      dynamoDbLocalPid: 4242,
      dynamoDbEndpoint: 'http://127.0.0.1:8000',
      url: 'http://127.0.0.1:3000',
    });
    lock.release();
    expect(readdirSync(dataDir)).toEqual([]);
  });

  it('refuses a folder a running server holds, saying how to run a second one', () => {
    // Prepare
    const lock = DataFolderLock.acquire(dataDir);
    lock.update({
      dynamoDbLocalPid: 4242,
      dynamoDbEndpoint: 'http://127.0.0.1:8123',
      url: 'http://127.0.0.1:3000',
    });

    // Act
    let refused: unknown;
    try {
      DataFolderLock.acquire(dataDir);
    } catch (error) {
      refused = error;
    }

    // Assess
    expect(refused).toBeInstanceOf(DataFolderInUseError);
    const message = (refused as Error).message;
    expect(message).toContain(`is in use by a local server (pid ${process.pid}, http://127.0.0.1:3000)`);
    expect(message).toContain('DYNAMODB_ENDPOINT=http://127.0.0.1:8123 PORT=3001 npm start');
    expect(message).toContain('PORT=3001 DATA_DIR=.data-2 npm start');
    lock.release();
  });

  it('takes over the lock of a server that is gone', () => {
    // Prepare
    writeFileSync(join(dataDir, 'server.lock'), staleLock(deadPid()));

    // Act
    const lock = DataFolderLock.acquire(dataDir);

    // Assess
    expect(JSON.parse(readFileSync(join(dataDir, 'server.lock'), 'utf8')).pid).toBe(process.pid);
    expect(readdirSync(dataDir)).toEqual(['server.lock']);
    lock.release();
  });

  it("refuses while a gone server's DynamoDB Local still runs on the folder", () => {
    // Prepare: the server died alone; its Java child (here: this process) lives on.
    writeFileSync(
      join(dataDir, 'server.lock'),
      JSON.stringify({ pid: deadPid(), lockId: 'orphan', startedAt: '', dynamoDbLocalPid: process.pid }),
    );

    // Act + Assess
    expect(() => DataFolderLock.acquire(dataDir)).toThrow(
      new RegExp(`in use by the DynamoDB Local \\(pid ${process.pid}\\) of a local server that is gone`),
    );
  });

  it('never lets a release free a lock that is not its own', () => {
    // Prepare: our lock was taken over (as if we had been stopped and declared stale).
    const lock = DataFolderLock.acquire(dataDir);
    const successor = JSON.stringify({ pid: process.pid, lockId: 'successor', startedAt: '' });
    writeFileSync(join(dataDir, 'server.lock'), successor);

    // Act
    lock.release();

    // Assess
    expect(readFileSync(join(dataDir, 'server.lock'), 'utf8')).toBe(successor);
  });

  describe('removeStaleLock, as two servers that found the same stale lock interleave', () => {
    it('leaves the lock the first one created in its place to the second', () => {
      // Prepare: both read the stale lock; the first removes it and takes the folder.
      const lockFile = join(dataDir, 'server.lock');
      const stale = staleLock(deadPid());
      writeFileSync(lockFile, stale);
      removeStaleLock(lockFile, stale);
      const first = DataFolderLock.acquire(dataDir);

      // Act: the second, late, removes what it read.
      removeStaleLock(lockFile, stale);

      // Assess
      expect(JSON.parse(readFileSync(lockFile, 'utf8')).pid).toBe(process.pid);
      expect(readdirSync(dataDir)).toEqual(['server.lock']);
      first.release();
    });

    it('lets only the one holding the claim remove it', () => {
      // Prepare: another server holds the claim on this stale lock, between its check and its removal.
      const lockFile = join(dataDir, 'server.lock');
      const stale = staleLock(deadPid());
      writeFileSync(lockFile, stale);
      const claimOfOther = join(dataDir, `server.lock.stale-${sha256Prefix(stale)}`);
      writeFileSync(claimOfOther, stale);

      // Act
      removeStaleLock(lockFile, stale);

      // Assess: it left the removal to the other.
      expect(readFileSync(lockFile, 'utf8')).toBe(stale);
    });
  });

  it.each([
    ['a free folder', () => {}],
    ['a stale lock', (folder: string) => writeFileSync(join(folder, 'server.lock'), staleLock(deadPid()))],
  ])('lets one of eight servers starting together take %s', async (_, prepare) => {
    // Prepare
    prepare(dataDir);

    // Act
    const outcomes = await contenders(dataDir, 8);

    // Assess
    expect(outcomes.filter((outcome) => outcome === 'took it')).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome === 'DataFolderInUseError')).toHaveLength(7);
    expect(readdirSync(dataDir)).toEqual(['server.lock']);
  });
});
