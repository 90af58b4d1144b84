import { randomBytes } from 'node:crypto';
import { attachRecords } from './attachments/loaded-records.js';
import type { AttachmentRecord } from './attachments/offload.js';
import type { MessageInput, StoredMessage } from './message.js';
import { newMessageId } from './message-id.js';
import type { AppendResult } from './store-types.js';
import type { Head } from './table.js';

/**
 * One logical write (an append, an edit). Every attempt of it (SDK retries, retries after cancellations,
 * after lost races) writes the same messages, with the same ids and createdAt, and the same op id on the
 * head; only the seqs follow the base. So an attempt whose answer was lost can be recognised in the table.
 */
export interface Operation {
  readonly id: string;
  readonly nowMs: number;
  readonly createdAt: string;
  /** Epoch seconds after which what it writes expires (retention), if any. */
  readonly expiresAt: number | undefined;
  /**
   * The messages it adds, as stored (a value moved to S3 is `null`), each with its id: the caller's, or one
   * generated once for every attempt.
   */
  readonly messages: ReadonlyArray<MessageInput & { id: string }>;
  /** Per message, the values it moved to S3 (./attachments/offload.ts), written with it as the item's `att`. */
  readonly attachments?: ReadonlyArray<readonly AttachmentRecord[] | undefined>;
}

/** One transaction of an operation, as sent: what a lost answer may have committed. */
export interface Attempt {
  readonly op: Operation;
  /** The version the head condition expects (0: no live head). */
  readonly base: number;
  /** The seq before the first message: the base, or a dead head's version a new life continues above. */
  readonly start: number;
  /** The dead head a new life is started over, if any. */
  readonly restartOver: Head | undefined;
  /** The version it writes: every change raises it, even one that only removes, so versions never repeat. */
  readonly version: number;
  readonly stored: StoredMessage[];
}

/** A new operation: its time, expiry, op id and message ids, fixed for every attempt. */
export function newOperation(
  messages: ReadonlyArray<{ message: MessageInput }>,
  nowMs: number,
  ttlSeconds: number | undefined,
): Operation {
  return {
    id: randomBytes(12).toString('base64url'),
    nowMs,
    createdAt: new Date(nowMs).toISOString(),
    expiresAt: ttlSeconds === undefined ? undefined : Math.floor(nowMs / 1000) + ttlSeconds,
    messages: messages.map(({ message }) => ({ ...message, id: message.id ?? newMessageId(nowMs) })),
  };
}

/**
 * The attempt of `op` on `base`, given the head as last read: over a dead head, a new life continues its seqs;
 * with none read, the first attempt assumes no head at all.
 */
export function attemptOn(op: Operation, base: number, restartOver: Head | undefined): Attempt {
  const start = restartOver?.version ?? base;
  const stored = storedMessages(op, start);
  return { op, base, start, restartOver, version: start + Math.max(stored.length, 1), stored };
}

/** The operation's messages as stored after seq `start`: the same items on every attempt but for the seq. */
export function storedMessages(op: Operation, start: number): StoredMessage[] {
  return op.messages.map((message, index) =>
    attachRecords({ ...message, seq: start + index + 1, createdAt: op.createdAt }, op.attachments?.[index]),
  );
}

/** The result of an attempt that committed (answered now, or found in the table after a lost answer). */
export function applied(
  conversationId: string,
  attempt: Pick<Attempt, 'version' | 'stored'>,
  consumedCapacity: number,
): AppendResult {
  return {
    conversationId,
    version: attempt.version,
    messages: attempt.stored,
    replayed: false,
    consumedCapacity,
  };
}
