import { type ContextPolicy, estimateTokens, selectContext } from '../agent/context-policy.js';
import type { ConversationStore } from '../memory/conversation-store.js';
import type { StoredMessage } from '../memory/message.js';
import type { ConversationSummary } from '../memory/store-types.js';
import type { Summarizer } from './summarizer.js';

/*
 * Compaction: keeping a conversation's summary far enough ahead that a turn's context (the summary and the newest
 * messages after it, lambda/agent/run-turn.ts) never leaves a message out.
 *
 * A turn gives the model the messages after the summary that fit the window (the context policy: 20 messages,
 * 8,000 estimated tokens by default, less the summary's share). The compaction keeps the newest half of that window
 * out of the summary and summarizes everything before it: so after a compaction the messages after the summary fill
 * half a window, and the window holds every one of them until the conversation has grown by another half. It runs
 * when the messages after the summary no longer fit in half a window, which the compactor checks each time a write
 * crosses a multiple of 10 seqs (the head's `summaryDue`): with the default window, every 10 messages.
 *
 * Each model call folds the previous summary and a chunk of the messages after it (at most `chunkTokens`), and each
 * result is stored at once, conditionally (ConversationStore.storeSummary): a compaction that dies leaves the last
 * summary it stored, whole, and the next one goes on from there; one that loses a race to another stores nothing.
 * Without a valid summary (none yet, a new life, or an edit removed messages it covered, which deletes it) the
 * summary is made again from the first message.
 */

export interface CompactionSettings {
  /** The turns' context policy: the window the summary is kept ahead of. */
  readonly policy: ContextPolicy;
  /** A summary's size, in estimated tokens; part of every turn's budget. @default 1000 */
  readonly summaryMaxTokens?: number;
  /** Estimated tokens of messages per model call. @default 6000 */
  readonly chunkTokens?: number;
}

export const defaultSummaryMaxTokens = 1000;
const defaultChunkTokens = 6000;
/** Messages read per page while folding. */
const foldPageSize = 200;

export type CompactionResult =
  /** The id reads as unknown: nothing to summarize. */
  | { readonly status: 'gone' }
  /** The messages after the summary still fit in half a window. */
  | { readonly status: 'not due'; readonly summary?: ConversationSummary }
  /** Summaries were stored; `summary` is the last. `complete`: it reaches as far as was due (else the deadline came). */
  | {
      readonly status: 'compacted';
      readonly summary: ConversationSummary;
      readonly modelCalls: number;
      readonly stored: number;
      readonly complete: boolean;
    }
  /** Another compaction, or an edit, got in first: nothing of this one was stored (after `stored` earlier steps). */
  | { readonly status: 'lost'; readonly reason: 'stale' | 'superseded'; readonly stored: number };

export interface CompactionInput {
  readonly store: Pick<ConversationStore, 'readSummaryState' | 'storeSummary' | 'load'>;
  readonly summarizer: Summarizer;
  readonly tenant: string;
  readonly conversationId: string;
  readonly settings: CompactionSettings;
  /** Each model call's deadline. @default 20000 */
  readonly modelTimeoutMs?: number;
  /** No new model call starts after this (epoch ms): the summaries stored by then stand. */
  readonly deadline?: number;
}

/** One compaction of one conversation, if it is due. */
export async function compactConversation(input: CompactionInput): Promise<CompactionResult> {
  const { store, tenant, conversationId, settings } = input;
  const policy = settings.policy;
  const summaryMaxTokens = settings.summaryMaxTokens ?? defaultSummaryMaxTokens;
  // References: whether it is due depends on the messages' sizes, not on bytes in S3.
  const state = await store.readSummaryState(tenant, conversationId, {
    limit: policy.maxMessages,
    attachments: 'reference',
  });
  const { floor, basis, context } = state;
  if (floor === undefined || basis === undefined) return { status: 'gone' };

  let base = context.summary;
  let next = basis;
  const after = context.messages;

  // Is it due: do the messages after the summary still fit in half a window? A full read means there may be more.
  const half: ContextPolicy = {
    maxMessages: Math.max(1, Math.floor(policy.maxMessages / 2)),
    maxTokens: Math.max(1, Math.floor((policy.maxTokens - summaryMaxTokens) / 2)),
  };
  const kept = keptSuffix(after, half);
  if (after.length < policy.maxMessages && kept.length === after.length) {
    return { status: 'not due', ...(base === undefined ? {} : { summary: base }) };
  }
  const through = (after[after.length - kept.length - 1] as StoredMessage).seq;

  // Fold (base, through] into the summary, chunk by chunk, storing each step.
  let cursor = base?.throughSeq ?? floor;
  let stored = 0;
  let modelCalls = 0;
  let last = base;
  while (cursor < through) {
    if (input.deadline !== undefined && Date.now() >= input.deadline) break;
    const page = await store.load(tenant, conversationId, {
      after: cursor,
      before: through + 1,
      limit: foldPageSize,
      // Large values kept in S3 (images, files, very long texts) stay references: a summary is of what was said.
      attachments: 'reference',
    });
    const chunk = chunkOf(page.messages, settings.chunkTokens ?? defaultChunkTokens);
    if (chunk.length === 0) break;
    const { text, usage } = await input.summarizer.summarize({
      ...(base === undefined ? {} : { previous: base.text }),
      messages: chunk,
      maxTokens: summaryMaxTokens,
      signal: AbortSignal.timeout(input.modelTimeoutMs ?? 20_000),
    });
    modelCalls++;
    const draft = {
      text,
      fromSeq: base?.fromSeq ?? floor + 1,
      throughSeq: (chunk.at(-1) as StoredMessage).seq,
      messageCount: (base?.messageCount ?? 0) + chunk.length,
      basedOn: base?.throughSeq ?? 0,
      model: input.summarizer.modelId,
      ...(usage === undefined ? {} : { usage }),
    };
    const outcome = await store.storeSummary(tenant, conversationId, draft, next);
    if (outcome.status !== 'stored') return { status: 'lost', reason: outcome.status, stored };
    stored++;
    next = outcome.next;
    base = outcome.summary;
    last = outcome.summary;
    cursor = draft.throughSeq;
  }
  if (last === undefined || stored === 0) {
    return { status: 'not due', ...(last === undefined ? {} : { summary: last }) };
  }
  return { status: 'compacted', summary: last, modelCalls, stored, complete: cursor >= through };
}

/**
 * The newest messages a compaction leaves out of the summary: the newest half window, never starting on a tool
 * result (selectContext's rule), and at least the newest message with the results of its calls, so that a turn
 * always sees how the conversation ends.
 */
export function keptSuffix(after: readonly StoredMessage[], half: ContextPolicy): StoredMessage[] {
  const kept = selectContext(after, half);
  if (kept.length > 0) return kept;
  const lastCaller = after.findLastIndex((message) => message.role !== 'tool');
  return after.slice(Math.max(0, lastCaller));
}

/**
 * The messages one model call folds: from the first, until the next would pass `chunkTokens` (at least one), and
 * never ending just before a tool result (a summary that stops between a call and its result would leave the
 * result to a window that cannot start on it).
 */
export function chunkOf(messages: readonly StoredMessage[], chunkTokens: number): StoredMessage[] {
  let end = 0;
  let tokens = 0;
  while (end < messages.length) {
    const cost = estimateTokens(messages[end] as StoredMessage);
    if (end > 0 && tokens + cost > chunkTokens) break;
    tokens += cost;
    end++;
  }
  while (end < messages.length && messages[end]?.role === 'tool') end++;
  return messages.slice(0, end);
}
