import { createHash, randomBytes } from 'node:crypto';
import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/*
 * One local server per data folder: two DynamoDB Locals on one SQLite file stall each other's requests for
 * minutes. The lock is `<data folder>/server.lock`, a JSON file naming its owner: the server's pid, its
 * DynamoDB Local's pid and endpoint, its URL. It is created exclusively and complete (written aside, then
 * hard-linked into place). A lock whose processes are all gone (a SIGKILLed server) is stale: the next server
 * takes it over, and only one server can, even when several start at once.
 */

export interface DataFolderOwner {
  /** The server process. */
  readonly pid: number;
  /** A random id of this lock, so that two locks of the same pid never look alike. */
  readonly lockId: string;
  readonly startedAt: string;
  /** Its DynamoDB Local, once started: it must be gone too before the folder is free. */
  readonly dynamoDbLocalPid?: number;
  readonly dynamoDbEndpoint?: string;
  /** Its s3rver, once started (in the server's process). */
  readonly s3Endpoint?: string;
  readonly url?: string;
}

export class DataFolderInUseError extends Error {
  override readonly name = 'DataFolderInUseError';

  constructor(
    readonly dataDir: string,
    readonly owner: DataFolderOwner,
  ) {
    const lockFile = join(dataDir, lockFileName);
    const server = `a local server (pid ${owner.pid}${owner.url === undefined ? ', starting' : `, ${owner.url}`})`;
    const holder = processAlive(owner.pid)
      ? server
      : `the DynamoDB Local (pid ${owner.dynamoDbLocalPid}) of a local server that is gone; stop it (kill ${owner.dynamoDbLocalPid})`;
    super(
      [
        `The data folder ${dataDir} is in use by ${holder}: two DynamoDB Locals on one folder stall each other.`,
        'To run a second server:',
        owner.dynamoDbEndpoint === undefined
          ? `  on the same data, once that one is up: DYNAMODB_ENDPOINT=<its DynamoDB Local, in ${lockFile}> PORT=3001 npm start`
          : `  on the same data: DYNAMODB_ENDPOINT=${owner.dynamoDbEndpoint}${owner.s3Endpoint === undefined ? '' : ` S3_ENDPOINT=${owner.s3Endpoint}`} PORT=3001 npm start`,
        '  on data of its own: PORT=3001 DATA_DIR=.data-2 npm start',
        `If no such process is running, delete ${lockFile}.`,
      ].join('\n'),
    );
  }
}

const lockFileName = 'server.lock';

/** True while the process runs; a zombie (exited, not yet reaped) counts as gone. */
function processAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // No /proc (macOS): kill -0 answered, so it runs.
  }
}

function readIfPresent(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Creates `path` with `text`, complete, or fails with EEXIST: written aside, then linked into place. */
function createExclusively(path: string, text: string): void {
  const aside = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(aside, text);
  try {
    linkSync(aside, path);
  } finally {
    unlinkSync(aside);
  }
}

/**
 * Removes the stale lock whose text is `stale`, unless it changed. The claim file's name comes from the stale
 * text, so only one of the servers that found the same stale lock can create it; the claim is a hard link to
 * whatever the lock file is now, so reading it shows whether that is still the stale lock.
 */
export function removeStaleLock(path: string, stale: string): void {
  const claim = `${path}.stale-${createHash('sha256').update(stale).digest('hex').slice(0, 16)}`;
  try {
    linkSync(path, claim);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EEXIST') return; // gone already, or another server is removing it
    throw error;
  }
  try {
    if (readFileSync(claim, 'utf8') === stale) unlinkSync(path);
  } finally {
    unlinkSync(claim);
  }
}

export class DataFolderLock {
  private constructor(
    private readonly path: string,
    private owner: DataFolderOwner,
  ) {}

  /** Takes the data folder (which must exist), or throws DataFolderInUseError naming its owner. */
  static acquire(dataDir: string): DataFolderLock {
    const path = join(dataDir, lockFileName);
    const owner: DataFolderOwner = {
      pid: process.pid,
      lockId: randomBytes(8).toString('hex'),
      startedAt: new Date().toISOString(),
    };
    for (let attempt = 0; attempt < 10; attempt++) {
      try {
        createExclusively(path, JSON.stringify(owner));
        return new DataFolderLock(path, owner);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const text = readIfPresent(path);
      if (text === undefined) continue; // released meanwhile
      const current = parseOwner(text);
      if (current !== undefined && (processAlive(current.pid) || processAlive(current.dynamoDbLocalPid))) {
        throw new DataFolderInUseError(dataDir, current);
      }
      removeStaleLock(path, text);
    }
    throw new Error(`Could not take ${path}: it keeps changing. If no local server is running, delete it.`);
  }

  /** Adds what the owner learns while it starts (its DynamoDB Local, its URL), for a second server's message. */
  update(
    details: Pick<DataFolderOwner, 'dynamoDbLocalPid' | 'dynamoDbEndpoint' | 's3Endpoint' | 'url'>,
  ): void {
    this.owner = { ...this.owner, ...details };
    const aside = `${this.path}.${process.pid}.update`;
    writeFileSync(aside, JSON.stringify(this.owner));
    renameSync(aside, this.path);
  }

  /** Frees the folder, if the lock is still this one. */
  release(): void {
    const current = parseOwner(readIfPresent(this.path) ?? '');
    if (current?.lockId === this.owner.lockId) unlinkSync(this.path);
  }
}

function parseOwner(text: string): DataFolderOwner | undefined {
  try {
    const value = JSON.parse(text) as Partial<DataFolderOwner>;
    return typeof value.pid === 'number' && typeof value.lockId === 'string'
      ? (value as DataFolderOwner)
      : undefined;
  } catch {
    return undefined;
  }
}
