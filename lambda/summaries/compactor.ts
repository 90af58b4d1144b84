import { agentConfig, model } from '../http/runtime/model.js';
import { store } from '../http/runtime/store.js';
import { type CompactionResult, compactConversation } from './compaction.js';
import { summarizerFor } from './summarizer.js';

/*
 * The compactor's configuration, store and model, built once per process from the turn function's variables (the
 * same model and context policy as the turns, whose summaries it keeps): the stack's stream-triggered function
 * (./stream-handler.ts) and the local server's background task (local/background-compactor.ts) both call this.
 */
const summarizer = summarizerFor(model);

/** One compaction of one conversation, if it is due; no model call starts after `deadline` (epoch ms). */
export function compact(
  tenant: string,
  conversationId: string,
  deadline?: number,
): Promise<CompactionResult> {
  return compactConversation({
    store,
    summarizer,
    tenant,
    conversationId,
    settings: { policy: agentConfig.context, summaryMaxTokens: agentConfig.summaryMaxTokens },
    modelTimeoutMs: agentConfig.modelTimeoutMs,
    ...(deadline === undefined ? {} : { deadline }),
  });
}
