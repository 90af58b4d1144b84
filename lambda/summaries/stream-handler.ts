import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { logger, metrics, publishMetrics } from '../http/runtime/observability.js';
import { conversationOfPartition } from '../memory/table.js';
import { compact } from './compactor.js';

/*
 * The compactor function: DynamoDB Streams invoke it with the table's changes, filtered by the event source mapping
 * to head images marked `summaryDue` (lib/agent-memory.ts): the writes that carried a conversation across a
 * multiple of 10 seqs, or removed messages. Each conversation of the batch is compacted once (./compaction.ts: only
 * if it is due). A failure, or a compaction the deadline cut short, is reported for that conversation's first
 * record, so Lambda goes on from it (retries, then the on-failure queue); a compaction is safe to repeat, since
 * each summary replaces only the one it read, and one cut short goes on from the last summary it stored.
 */

/** Conversations compacted at once within one invocation. */
const parallel = 4;
/** Time kept back for answering Lambda: no model call starts later than this before the timeout. */
const reserveMs = 25_000;

export async function handler(event: DynamoDBStreamEvent, context: Context): Promise<DynamoDBBatchResponse> {
  logger.addContext(context);
  const deadline = Date.now() + context.getRemainingTimeInMillis() - reserveMs;
  // The first record of each conversation: where Lambda resumes if its compaction fails.
  const conversations = new Map<string, { tenant: string; conversationId: string; first: string }>();
  for (const record of event.Records) {
    const pk = record.dynamodb?.Keys?.pk?.S;
    const sequence = record.dynamodb?.SequenceNumber;
    const conversation = pk === undefined ? undefined : conversationOfPartition(pk);
    if (conversation === undefined || sequence === undefined || conversations.has(pk as string)) continue;
    conversations.set(pk as string, { ...conversation, first: sequence });
  }
  const queue = [...conversations.values()];
  const failures: string[] = [];
  const worker = async () => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      const { tenant, conversationId, first } = next;
      if (Date.now() >= deadline) {
        failures.push(first);
        continue;
      }
      try {
        const result = await compact(tenant, conversationId, deadline);
        if (result.status === 'compacted') {
          metrics.addMetric('summariesStored', MetricUnit.Count, result.stored);
          metrics.addMetric('summaryModelCalls', MetricUnit.Count, result.modelCalls);
          // Stopped at the deadline: reported as failed, Lambda goes on from here at once.
          if (!result.complete) failures.push(first);
        }
        if (result.status === 'lost') metrics.addMetric('compactionsLost', MetricUnit.Count, 1);
        logger.info('compaction', { tenant, conversationId, ...result });
      } catch (error) {
        failures.push(first);
        logger.error('compaction failed', { tenant, conversationId, error });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, queue.length) }, worker));
  publishMetrics();
  return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
}
