import type { CompactionResult } from '../lambda/summaries/compaction.js';

/**
 * The local server's stand-in for the stack's stream-triggered compactor (lambda/summaries/stream-handler.ts): the
 * same compaction, run in the background of the server process, never in a request. The server calls `wake` when
 * a write it answered left the head marked `summaryDue` (the write fence reads the head after every write anyway),
 * which is what the stack's stream filter wakes the compactor on. One compaction per conversation at a time (a wake
 * during one runs it once more afterwards), a few conversations at once.
 */
export class BackgroundCompactor {
  private readonly running = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private readonly waiting: Array<() => void> = [];
  private active = 0;
  private stopped = false;

  constructor(
    private readonly compact: (tenant: string, conversationId: string) => Promise<CompactionResult>,
    private readonly log: (line: string) => void,
    private readonly logError: (line: string, error: unknown) => void,
    private readonly concurrency = 2,
  ) {}

  wake(tenant: string, conversationId: string): void {
    if (this.stopped) return;
    const key = JSON.stringify([tenant, conversationId]);
    if (this.running.has(key)) {
      this.again.add(key);
      return;
    }
    const run = (async () => {
      do {
        this.again.delete(key);
        await this.slot();
        try {
          if (this.stopped) return;
          const started = performance.now();
          const result = await this.compact(tenant, conversationId);
          if (result.status === 'compacted' || result.status === 'lost') {
            this.log(
              `summary of ${conversationId} (tenant ${tenant}): ${describe(result)} in ${Math.round(performance.now() - started)} ms`,
            );
          }
        } catch (error) {
          this.logError(
            `summary of ${conversationId} (tenant ${tenant}) failed; the next wake tries again`,
            error,
          );
        } finally {
          this.release();
        }
      } while (this.again.has(key) && !this.stopped);
    })().finally(() => this.running.delete(key));
    this.running.set(key, run);
  }

  /** Starts no more compactions and waits for those running (each stores whole summaries or nothing). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const resolve of this.waiting.splice(0)) resolve();
    await Promise.allSettled([...this.running.values()]);
  }

  /** Resolves once nothing is running or waiting (tests). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()]);
  }

  private async slot(): Promise<void> {
    if (this.active >= this.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
  }

  private release(): void {
    this.active--;
    this.waiting.shift()?.();
  }
}

function describe(result: CompactionResult): string {
  if (result.status === 'compacted') {
    const { summary } = result;
    return `messages ${summary.fromSeq}-${summary.throughSeq} (${summary.messageCount}) by ${summary.model}, ${result.modelCalls} model call${result.modelCalls === 1 ? '' : 's'}${result.complete ? '' : ', more to do'}`;
  }
  return result.status === 'lost'
    ? `another compaction or an edit came first (${result.reason})`
    : result.status;
}
