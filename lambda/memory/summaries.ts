import { randomBytes } from 'node:crypto';
import { partitionOf, requireSeq } from './arguments.js';
import { presentMessages } from './attachments/presentation.js';
import type { SummaryBasis } from './beside-messages-requests.js';
import { summaryTransaction } from './beside-messages-requests.js';
import { InvalidRequestError, UnavailableError, WriteOutcomeUnknownError } from './errors.js';
import { floorOf, isLiveHead, isValidSummary, liveVersion } from './head.js';
import { newest } from './load.js';
import { limits } from './message.js';
import { nowSeconds, retryBudget, type StoreContext } from './store-context.js';
import type { ContextOptions, ConversationContext, ConversationSummary } from './store-types.js';
import { keys, type SummaryItem } from './table.js';

/*
 * Summaries: one item per conversation (`MSG#SUMMARY`, next to the head), written only by a compaction
 * (lambda/summaries/), read with the head and the newest messages in the one Query of a turn. A summary never
 * replaces a message. It is used only while it is valid (./head.ts, isValidSummary: same life, unexpired), and an
 * edit that removes messages it covers deletes it in the same write (./edit.ts). Storing one is a conditional,
 * idempotent transaction like an append: the head must still be that life with the edit count the compaction read
 * (an edit in between may have removed what it summarized), and the summary item must still be the one the
 * compaction read, so two compactions of one state store one summary; every attempt carries the same op id and
 * item, so one whose answer was lost finds itself in the table.
 */

/** A page of context stops before this many bytes of messages (as a page of messages does). */
const MAX_CONTEXT_BYTES = 1024 * 1024;

/** ConversationStore.loadContext: the valid summary and the newest `limit` messages after it, in one Query. */
export async function loadContext(
  store: StoreContext,
  tenant: string,
  conversationId: string,
  options: ContextOptions = {},
): Promise<ConversationContext> {
  return (await readSummaryState(store, tenant, conversationId, options)).context;
}

/** What a compaction reads: the context a turn would get, and what a new summary is stored on. */
export interface SummaryState {
  readonly context: ConversationContext;
  /** The live life's floor: its first seq is the next one; undefined when the id reads as unknown. */
  readonly floor?: number;
  /** What a summary made from this state is stored on (undefined when the id reads as unknown). */
  readonly basis?: SummaryBasis;
}

export async function readSummaryState(
  store: StoreContext,
  tenant: string,
  conversationId: string,
  options: ContextOptions = {},
): Promise<SummaryState> {
  const pk = partitionOf(tenant, conversationId);
  const limit = options.limit ?? 20;
  if (!Number.isInteger(limit) || limit < 0 || limit > limits.maxPageSize) {
    throw new InvalidRequestError(`limit must be an integer from 0 to ${limits.maxPageSize}.`);
  }
  const page = await newest(store, pk, limit, MAX_CONTEXT_BYTES, { afterSummary: true });
  const { head, summary: item } = page;
  const nowSec = nowSeconds(store);
  const valid = isValidSummary(item, head, nowSec);
  const context: ConversationContext = {
    conversationId,
    version: liveVersion(head, nowSec),
    messageCount: head !== undefined && isLiveHead(head, nowSec) ? head.messageCount : 0,
    ...(valid && item ? { summary: publicSummary(item) } : {}),
    messages: await presentMessages(
      store,
      { tenant, conversationId },
      page.messages.reverse(),
      options.attachments ?? 'inline',
    ),
    consumedCapacity: page.capacity,
  };
  if (head === undefined || !isLiveHead(head, nowSec)) return { context };
  return {
    context,
    floor: floorOf(head, nowSec),
    // The item is replaced whatever it holds: a past life's, an expired one, or the valid one.
    basis: { lifeCreatedAt: head.createdAt, rewrites: head.rewrites ?? 0, replacesOp: item?.op },
  };
}

/** A summary to store: what it covers and says, and who wrote it. */
export type SummaryDraft = Omit<ConversationSummary, 'createdAt'>;

/**
 * How a store attempt ended: `stored` (with the basis a following summary is stored on); `stale`, the head is no
 * longer the life or edit count it was made on; `superseded`, another compaction replaced the summary item first.
 * Either of the last two stored nothing.
 */
export type SummaryOutcome =
  | { readonly status: 'stored'; readonly summary: ConversationSummary; readonly next: SummaryBasis }
  | { readonly status: 'stale' | 'superseded' };

/**
 * ConversationStore.storeSummary: one conditional transaction (./requests.ts, summaryTransaction). When an attempt
 * may have committed unseen, the outcome is read from the table: the summary item carries this call's op id.
 * Throws WriteOutcomeUnknownError when DynamoDB kept failing with the write possibly on its way; storing it
 * again later is safe (the later store replaces only what it read).
 */
export async function storeSummary(
  store: StoreContext,
  tenant: string,
  conversationId: string,
  draft: SummaryDraft,
  basis: SummaryBasis,
): Promise<SummaryOutcome> {
  const pk = partitionOf(tenant, conversationId);
  checkDraft(draft);
  const nowMs = store.now();
  const nowSec = Math.floor(nowMs / 1000);
  const item: SummaryItem = {
    text: draft.text,
    fromSeq: draft.fromSeq,
    throughSeq: draft.throughSeq,
    messageCount: draft.messageCount,
    basedOn: draft.basedOn,
    createdAt: new Date(nowMs).toISOString(),
    model: draft.model,
    ...(draft.usage === undefined ? {} : { usage: draft.usage }),
    lifeCreatedAt: basis.lifeCreatedAt,
    op: randomBytes(12).toString('base64url'),
    ...(store.ttlSeconds === undefined ? {} : { expiresAt: nowSec + store.ttlSeconds }),
  };
  const outcome = await store.table.commit(summaryTransaction(pk, item, basis, nowSec), retryBudget(store));
  const stored: SummaryOutcome = {
    status: 'stored',
    summary: publicSummary(item),
    next: { ...basis, replacesOp: item.op },
  };
  if (outcome.status === 'committed') return stored;
  const unsure = outcome.status === 'unknown' || outcome.unsure;
  if (unsure) {
    let found: SummaryItem | undefined;
    try {
      found = (await store.table.get<SummaryItem>({ pk, sk: keys.summary })).item;
    } catch (error) {
      if (error instanceof UnavailableError) throw new WriteOutcomeUnknownError({ cause: error });
      throw error;
    }
    if (found?.op === item.op) return stored;
  }
  // Not there, DynamoDB kept failing: a send may still land later. It replaces only what this call read and
  // checks the head again, so it is harmless, but whether it landed is not known now.
  if (outcome.status === 'unknown') throw new WriteOutcomeUnknownError({ cause: outcome.error });
  const [headReason] = outcome.reasons;
  return { status: headReason?.Code === 'ConditionalCheckFailed' ? 'stale' : 'superseded' };
}

function checkDraft(draft: SummaryDraft): void {
  requireSeq('fromSeq', draft.fromSeq);
  requireSeq('throughSeq', draft.throughSeq);
  requireSeq('basedOn', draft.basedOn);
  requireSeq('messageCount', draft.messageCount);
  if (draft.fromSeq < 1 || draft.throughSeq < draft.fromSeq || draft.basedOn > draft.throughSeq) {
    throw new InvalidRequestError(
      'A summary covers fromSeq through throughSeq, with 1 <= fromSeq <= throughSeq.',
    );
  }
  if (typeof draft.text !== 'string' || draft.text.trim().length === 0) {
    throw new InvalidRequestError('A summary needs a text.');
  }
  const bytes = Buffer.byteLength(draft.text);
  if (bytes > limits.summaryBytes) {
    throw new InvalidRequestError(`A summary is at most ${limits.summaryBytes} bytes, got ${bytes}.`);
  }
  if (typeof draft.model !== 'string' || draft.model.length === 0) {
    throw new InvalidRequestError('A summary names the model that wrote it.');
  }
}

function publicSummary(item: SummaryItem): ConversationSummary {
  return {
    fromSeq: item.fromSeq,
    throughSeq: item.throughSeq,
    messageCount: item.messageCount,
    text: item.text,
    createdAt: item.createdAt,
    model: item.model,
    basedOn: item.basedOn,
    ...(item.usage === undefined ? {} : { usage: item.usage }),
  };
}
