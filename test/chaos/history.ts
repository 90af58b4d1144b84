/*
 * What a chaos run records: every operation each client sent, every HTTP exchange of it (time, server, status,
 * body), and the final state of each conversation. The checker (history-checker.ts) proves its properties
 * over this record alone. Times are milliseconds since the run started, from one monotonic clock.
 */

/** One HTTP exchange: the request's start, the answer's end, and the answer (none: the connection failed). */
export interface Exchange {
  readonly server: string;
  readonly start: number;
  readonly end: number;
  readonly status?: number;
  /** A network error: no answer came (a killed server, a timeout). */
  readonly error?: string;
  readonly retryAfter?: string | null;
  readonly replayed?: boolean;
  /** The JSON body as received. */
  readonly body?: unknown;
}

export type WriteKind = 'append' | 'turn' | 'edit';

/** A write, with every attempt a client made of it (one without a key; a keyed one retries with the same key). */
export interface WriteRecord {
  readonly type: 'write';
  readonly op: string;
  readonly client: number;
  readonly conversation: string;
  readonly kind: WriteKind;
  readonly keyed: boolean;
  readonly expectedVersion?: number;
  /** The tags of the messages it adds, in order (a turn: its user message, then the reply). */
  readonly adds: readonly string[];
  /** An edit: the tags of the messages it expects to remove. */
  readonly expectedSuffix: readonly string[];
  readonly exchanges: readonly Exchange[];
}

export interface ReadRecord {
  readonly type: 'read';
  readonly op: string;
  readonly client: number;
  readonly conversation: string;
  readonly exchange: Exchange;
}

export type OperationRecord = WriteRecord | ReadRecord;

/** A conversation as read at the end, with faults off: every message of it. */
export interface FinalState {
  readonly version: number;
  readonly messages: readonly unknown[];
}

export interface History {
  readonly conversations: readonly string[];
  readonly records: readonly OperationRecord[];
  readonly final: Readonly<Record<string, FinalState>>;
  /** When the final state was read: after every operation ended. */
  readonly finalAt: number;
}

/**
 * The tag of a stored message: its content, which the workload makes unique (`c3.17#0`), or for an offline
 * model's reply (`[offline] ..., you said: c3.17#0`) the tag after its user message's (`c3.17#1`).
 */
export function tagOf(message: unknown): string {
  const content = (message as { content?: unknown }).content;
  const text = typeof content === 'string' ? content : JSON.stringify(content);
  const reply = /you said: (\S+)#0$/.exec(text);
  return reply ? `${reply[1]}#1` : text;
}
