import { InvalidRequestError } from '../memory/errors.js';

/*
 * Key schema of LangGraph threads, on the conversation table (../memory/table.ts) and never touching its
 * items: conversations live in `T#<tenant>#C#<id>` partitions, threads in `T#<tenant>#LG#<threadId>`.
 *
 *   pk = T#<tenant>#LG#<threadId>                 one partition per thread
 *   sk = CP#<ns>#<checkpointId>                   a checkpoint: record, metadata, parent, where its channel values are
 *        CV#<ns>#<checkpointId>#<channel>         a channel value, under the checkpoint that wrote it
 *        WR#<ns>#<checkpointId>#<taskId>#<slot>   a task's pending writes: slot R = its regular writes, -1..-4 special
 *        CH#<chunkSetId>#<n>                      a piece of a payload too large for its item
 *        ST#<operationId>                         a write staged over several requests until it commits
 *   pk = T#<tenant>#LG, sk = <threadId>           the tenant's thread index, for list() without a thread_id
 *
 * Every component is URI-encoded, so '#' only ever separates. Checkpoint ids are uuid6 (time-ordered, and
 * unchanged by the encoding), so a descending Query on `CP#<ns>#` returns the newest checkpoint first.
 */
export const threadKeys = {
  thread(tenant: string, threadId: string): string {
    return checkedPartition(`T#${encodeTenant(tenant)}#LG#${encodeOrThrow(threadId, 'thread_id')}`);
  },
  threadIndex: (tenant: string) => checkedPartition(`T#${encodeTenant(tenant)}#LG`),
  threadIndexEntry: (threadId: string) => encodeOrThrow(threadId, 'thread_id'),
  threadIdOfIndexEntry: (sk: string) => decodeURIComponent(sk),

  checkpointPrefix: (ns?: string) => (ns === undefined ? 'CP#' : `CP#${encodeOrThrow(ns, 'checkpoint_ns')}#`),
  checkpoint: (ns: string, checkpointId: string) =>
    checkedSort(`${threadKeys.checkpointPrefix(ns)}${encodeOrThrow(checkpointId, 'checkpoint_id')}`),
  /** The namespace and id of a checkpoint item, from its sort key. */
  parseCheckpoint(sk: string): { ns: string; checkpointId: string } {
    const [, ns = '', checkpointId = ''] = sk.split('#');
    return { ns: decodeURIComponent(ns), checkpointId: decodeURIComponent(checkpointId) };
  },

  value: (ns: string, checkpointId: string, channel: string) =>
    checkedSort(
      `CV#${encodeOrThrow(ns, 'checkpoint_ns')}#${encodeOrThrow(checkpointId, 'checkpoint_id')}#${encodeOrThrow(channel, 'channel')}`,
    ),

  writesPrefix: (ns: string, checkpointId: string) =>
    checkedSort(`WR#${encodeOrThrow(ns, 'checkpoint_ns')}#${encodeOrThrow(checkpointId, 'checkpoint_id')}#`),
  /** `slot`: 'R' for a task's regular writes, or the negative index of a special channel (WRITES_IDX_MAP). */
  writes: (ns: string, checkpointId: string, taskId: string, slot: 'R' | number) =>
    checkedSort(`${threadKeys.writesPrefix(ns, checkpointId)}${encodeOrThrow(taskId, 'task_id')}#${slot}`),

  chunkPrefix: (chunkSetId: string) => `CH#${chunkSetId}#`,
  chunk: (chunkSetId: string, n: number) => `CH#${chunkSetId}#${String(n).padStart(6, '0')}`,
  stagedPrefix: 'ST#',
  staged: (operationId: string) => `ST#${operationId}`,
} as const;

function encodeTenant(tenant: string): string {
  if (typeof tenant !== 'string' || tenant.length < 1 || tenant.length > 512) {
    throw new InvalidRequestError('The tenant must be 1-512 characters.');
  }
  return encodeOrThrow(tenant, 'tenant');
}

function encodeOrThrow(value: string, name: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    throw new InvalidRequestError(`${name} is not well-formed Unicode.`); // a lone surrogate
  }
}

// DynamoDB's key limits: 2048 bytes of partition key, 1024 of sort key.
function checkedPartition(pk: string): string {
  if (Buffer.byteLength(pk) > 2048) throw new InvalidRequestError('The tenant and thread_id are too long.');
  return pk;
}

function checkedSort(sk: string): string {
  if (Buffer.byteLength(sk) > 1024) {
    throw new InvalidRequestError('checkpoint_ns, checkpoint_id, task id or channel name is too long.');
  }
  return sk;
}
