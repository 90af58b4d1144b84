import type { ActiveStream, ChatStreamLog } from '../memory/chat-stream-log.js';
import { encodeChunks, streamEnd } from './ui-message-stream.js';

/*
 * Resumable chat streams on DynamoDB, without Redis. The turn that writes a reply records what it sends in
 * batches (StreamRecording): the chat's pointer to the running stream first, then one item per batch, the
 * last one marked done, then the pointer is removed. A client that reconnects (useChat's `resume`,
 * DefaultChatTransport's GET {api}/{chatId}/stream) reads the pointer, gets every batch so far and follows the
 * new ones until the done batch (replayStream): a full replay, as DefaultChatTransport expects by default.
 *
 * Batching is the price/latency trade: one write per `flushMs` of output (not per token), so a reply that
 * streams for 10 s costs about 20 small writes plus 2 for the pointer, and a resumed client runs at most
 * `flushMs` + `pollMs` (+ the reads' latency) behind the live one. The live client is never slowed: recording
 * runs beside the stream, one write in flight at a time.
 */

/** How a turn records its stream. */
export const recordingDefaults = {
  /** A batch is written this long after its first chunk. */
  flushMs: 500,
  /** ... or as soon as it holds this many bytes (an item holds at most 400 KB). */
  maxBatchBytes: 64 * 1024,
  /** A resumed client looks for new batches this often. */
  pollMs: 250,
} as const;

export interface StreamRecordingOptions {
  readonly log: ChatStreamLog;
  readonly tenant: string;
  readonly chatId: string;
  readonly stream: ActiveStream;
  /** @default recordingDefaults.flushMs */
  readonly flushMs?: number;
  /** @default recordingDefaults.maxBatchBytes */
  readonly maxBatchBytes?: number;
  /** A write failed: recording stops (the live stream goes on); called once. */
  readonly onError: (error: unknown) => void;
}

/** Records one stream: `record` what is sent, in order, then `finish`. */
export class StreamRecording {
  private readonly options: StreamRecordingOptions;
  private readonly flushMs: number;
  private readonly maxBatchBytes: number;
  private buffer = '';
  private index = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** The writes, one after the other. */
  private writes: Promise<void>;
  private failed = false;

  /** Starts recording: the pointer is written at once, without waiting for it. */
  constructor(options: StreamRecordingOptions) {
    this.options = options;
    this.flushMs = options.flushMs ?? recordingDefaults.flushMs;
    this.maxBatchBytes = options.maxBatchBytes ?? recordingDefaults.maxBatchBytes;
    const { log, tenant, chatId, stream } = options;
    this.writes = this.guarded(() => log.start(tenant, chatId, stream));
  }

  record(text: string): void {
    if (this.failed || text.length === 0) return;
    this.buffer += text;
    if (Buffer.byteLength(this.buffer) >= this.maxBatchBytes) this.flush(false);
    else this.timer ??= setTimeout(() => this.flush(false), this.flushMs);
  }

  /** Writes what is left as the done batch and removes the pointer; resolves when every write has ended. */
  async finish(): Promise<void> {
    this.flush(true);
    const { log, tenant, chatId, stream } = this.options;
    // Even after a failed write: a pointer left behind would send resuming clients to a broken record.
    await this.writes;
    await log.finish(tenant, chatId, stream.streamId).catch((error: unknown) => this.fail(error));
  }

  private flush(done: boolean): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.buffer.length === 0 && !done) return;
    const batch = { index: this.index++, chunks: this.buffer, done };
    this.buffer = '';
    const { log, tenant, chatId, stream } = this.options;
    this.writes = this.writes.then(() =>
      this.failed ? undefined : this.guarded(() => log.write(tenant, chatId, stream.streamId, batch)),
    );
  }

  private async guarded(write: () => Promise<void>): Promise<void> {
    try {
      await write();
    } catch (error) {
      this.fail(error);
    }
  }

  private fail(error: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.options.onError(error);
  }
}

export interface ReplayOptions {
  /** @default recordingDefaults.pollMs */
  readonly pollMs?: number;
  /** Aborted when the reader must end (its function's deadline): the stream ends with an error chunk. */
  readonly signal?: AbortSignal;
  /** Epoch milliseconds. @default Date.now */
  readonly now?: () => number;
}

/**
 * The recorded stream from its first batch, then each new batch as it is written, until the done batch. A stream
 * still not done past its writer's deadline was abandoned (its turn died): it ends with an error chunk, and so
 * does a replay cut short by `signal`.
 */
export async function* replayStream(
  log: ChatStreamLog,
  tenant: string,
  chatId: string,
  stream: ActiveStream,
  options: ReplayOptions = {},
): AsyncGenerator<string, void, undefined> {
  const pollMs = options.pollMs ?? recordingDefaults.pollMs;
  const now = options.now ?? Date.now;
  let after = -1;
  for (;;) {
    for (const batch of await log.batches(tenant, chatId, stream.streamId, after)) {
      after = batch.index;
      if (batch.chunks.length > 0) yield batch.chunks;
      if (batch.done) return;
    }
    if (now() > stream.deadline) {
      yield interrupted('The reply stopped before it was complete: reload the chat.');
      return;
    }
    if (options.signal?.aborted) {
      yield interrupted('The reply is still being written: reconnect to follow it.');
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

function interrupted(message: string): string {
  const errorText = JSON.stringify({ error: { code: 'unavailable', message } });
  return encodeChunks([{ type: 'error', errorText }]) + streamEnd;
}
