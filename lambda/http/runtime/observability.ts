import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { ChatModel } from '../../agent/chat-model.js';
import { ModelError, ModelTimeoutError } from '../../agent/model-errors.js';
import type { TurnResult } from '../../agent/run-turn.js';
import type {
  AppendResult,
  ConversationPage,
  EditResult,
  HistoryPage,
  PatchResult,
} from '../../memory/store-types.js';

/*
 * Powertools' logger and metrics, set up once per process. The usual POWERTOOLS_* variables still apply (log
 * level, namespace, service name). Outside Lambda (local server, tests) metrics are dropped instead of printed:
 * nothing collects EMF from a local process's stdout. Tracing is Lambda's own (active tracing: each
 * invocation's segment, with its init and its duration); the X-Ray SDK, whose per-call subsegments cost a
 * third of every cold start, is not loaded (README, benchmarks).
 */
const serviceName = 'agent-memory';
/** Set by the Lambda runtime only (the local server passes handlers a Lambda context, so that cannot tell). */
const lambdaFunctionName = process.env.AWS_LAMBDA_FUNCTION_NAME;

export const logger = new Logger({ serviceName });
export const metrics = new Metrics({
  serviceName,
  // An explicit option would override the stack's POWERTOOLS_METRICS_NAMESPACE, so it is only the fallback.
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE || 'AgentMemory',
});

export function countAppend(result: AppendResult): void {
  countWrite(result, { replays: 'replays', writes: 'appends' });
}

export function countEdit(result: EditResult): void {
  countWrite(result, { replays: 'editReplays', writes: 'edits' }, { messagesRemoved: result.removed.length });
}

/** A write: a replay, or what it wrote (`counts`, then the messages it appended); its capacity either way. */
function countWrite(
  result: AppendResult,
  names: { readonly replays: string; readonly writes: string },
  counts: Readonly<Record<string, number>> = {},
): void {
  if (result.replayed) {
    metrics.addMetric(names.replays, MetricUnit.Count, 1);
  } else {
    metrics.addMetric(names.writes, MetricUnit.Count, 1);
    for (const [name, value] of Object.entries(counts)) metrics.addMetric(name, MetricUnit.Count, value);
    metrics.addMetric('messagesAppended', MetricUnit.Count, result.messages.length);
  }
  metrics.addMetric('consumedCapacity', MetricUnit.Count, result.consumedCapacity);
}

export function countLoad(page: Pick<HistoryPage, 'messages' | 'consumedCapacity'>): void {
  metrics.addMetric('messagesLoaded', MetricUnit.Count, page.messages.length);
  metrics.addMetric('consumedCapacity', MetricUnit.Count, page.consumedCapacity);
}

export function countList(page: ConversationPage): void {
  metrics.addMetric('conversationsListed', MetricUnit.Count, page.conversations.length);
  metrics.addMetric('consumedCapacity', MetricUnit.Count, page.consumedCapacity);
}

export function countPatch(result: PatchResult): void {
  metrics.addMetric(result.replayed ? 'patchReplays' : 'patches', MetricUnit.Count, 1);
  metrics.addMetric('consumedCapacity', MetricUnit.Count, result.consumedCapacity);
}

/** A turn: its model calls (none on a replay), their latencies and the size of the context it sent. */
export function countTurn(result: TurnResult, modelCalls: ModelCallTimes): void {
  if (result.replayed) {
    metrics.addMetric('turnReplays', MetricUnit.Count, 1);
  } else {
    metrics.addMetric('turns', MetricUnit.Count, 1);
    metrics.addMetric('contextMessages', MetricUnit.Count, result.contextMessages);
    // Messages the model saw neither as messages nor in the summary: above 0, the compactor is behind.
    metrics.addMetric('contextOmitted', MetricUnit.Count, result.context.omitted);
  }
  countModelCalls(modelCalls);
}

/** A turn that failed: its model calls, and whether the model was the reason (502 / 504). */
export function countFailedTurn(error: unknown, modelCalls: ModelCallTimes): void {
  countModelCalls(modelCalls);
  if (error instanceof ModelError) metrics.addMetric('modelErrors', MetricUnit.Count, 1);
  if (error instanceof ModelTimeoutError) metrics.addMetric('modelTimeouts', MetricUnit.Count, 1);
}

function countModelCalls(modelCalls: ModelCallTimes): void {
  metrics.addMetric('modelCalls', MetricUnit.Count, modelCalls.started);
  for (const durationMs of modelCalls.durationsMs) {
    metrics.addMetric('modelLatency', MetricUnit.Milliseconds, durationMs);
  }
}

/** The model calls of one request: how many started, and how long each that settled took. */
export interface ModelCallTimes {
  started: number;
  readonly durationsMs: number[];
}

/**
 * The model, wrapped to time its calls for one request (a wrapper per request, so that concurrent requests in
 * the local server never share their figures).
 */
export function timeModelCalls(model: ChatModel): { model: ChatModel; calls: ModelCallTimes } {
  const calls: ModelCallTimes = { started: 0, durationsMs: [] };
  const timed: ChatModel = {
    modelId: model.modelId,
    async reply(request) {
      calls.started++;
      const started = performance.now();
      try {
        return await model.reply(request);
      } finally {
        calls.durationsMs.push(Math.round(performance.now() - started));
      }
    },
  };
  return { model: timed, calls };
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
