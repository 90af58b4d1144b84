import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import type { AppendResult, HistoryPage } from '../memory/conversation-store.js';

/*
 * Powertools, set up once per process. The usual POWERTOOLS_* variables still apply (log level, namespace,
 * service name). Outside Lambda (local server, tests) the Tracer switches itself off (no AWS_EXECUTION_ENV),
 * and metrics are dropped instead of printed: nothing collects EMF from a local process's stdout.
 */
const serviceName = 'agent-memory';
/** Set by the Lambda runtime only (the local server passes handlers a Lambda context, so that cannot tell). */
const lambdaFunctionName = process.env.AWS_LAMBDA_FUNCTION_NAME;

export const logger = new Logger({ serviceName });
export const tracer = new Tracer({ serviceName });
export const metrics = new Metrics({
  serviceName,
  // An explicit option would override the stack's POWERTOOLS_METRICS_NAMESPACE, so it is only the fallback.
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE || 'AgentMemory',
});

export function countAppend(result: AppendResult): void {
  if (result.replayed) {
    metrics.addMetric('replays', MetricUnit.Count, 1);
  } else {
    metrics.addMetric('appends', MetricUnit.Count, 1);
    metrics.addMetric('messagesAppended', MetricUnit.Count, result.messages.length);
  }
  metrics.addMetric('consumedCapacity', MetricUnit.Count, result.consumedCapacity);
}

export function countLoad(page: HistoryPage): void {
  metrics.addMetric('messagesLoaded', MetricUnit.Count, page.messages.length);
  metrics.addMetric('consumedCapacity', MetricUnit.Count, page.consumedCapacity);
}

export function countConflict(): void {
  metrics.addMetric('conflicts', MetricUnit.Count, 1);
}

/**
 * Flushes this invocation's metrics as EMF, with the cold-start metric on the first one. An invocation without
 * metrics (health, 4xx) publishes nothing, where Powertools would warn.
 */
export function publishMetrics(): void {
  if (lambdaFunctionName === undefined) {
    metrics.clearMetrics();
    return;
  }
  metrics.captureColdStartMetric(lambdaFunctionName);
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
}
