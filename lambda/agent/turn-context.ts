/*
 * What a turn reports about its context. Types only (no store, no SDK), so the HTTP client shares them.
 */

/** What the model was given of the stored conversation. */
export interface TurnContext {
  /** Stored messages given as they are (after the summary). */
  readonly messages: number;
  /** The summary given in place of the older messages: the seqs it covers and how many messages; null: none. */
  readonly summary: {
    readonly fromSeq: number;
    readonly throughSeq: number;
    readonly messageCount: number;
  } | null;
  /**
   * Stored messages the model saw neither way: newer than the summary but outside the window (the compactor had
   * not caught up, or the window's budget was small for them). 0 when the summary keeps up.
   */
  readonly omitted: number;
}
