import { dynamoDbErrors, type FaultRule, type ProxiedRequest } from './dynamodb-proxy.js';

/** The partition a transaction writes: its first item's (the store puts the head first). */
export function partitionOf(request: ProxiedRequest): string | undefined {
  const first = request.body?.TransactItems?.[0];
  const item = first?.Update?.Key ?? first?.Put?.Item ?? first?.Delete?.Key ?? first?.ConditionCheck?.Key;
  return item?.pk?.S;
}

export interface LostAnswerOptions {
  /** Only transactions on this partition are touched. */
  readonly partition: string;
  /**
   * How DynamoDB answers when the same transaction (same token) is sent again after its lost answer:
   * `conflict-once`: a TransactionConflict cancellation, then normally (DynamoDB recognises the token);
   * `conflict-always`: a TransactionConflict cancellation every time;
   * `as-new`: evaluated afresh (its condition fails: the first send moved the version).
   */
  readonly resends: 'conflict-once' | 'conflict-always' | 'as-new';
  /** Runs before the first resend is answered: another writer getting in between. */
  readonly beforeResend?: () => Promise<unknown>;
}

/**
 * The fault: the first transaction on the partition is applied by DynamoDB and its answer lost (the
 * connection drops), then its resends are answered as `resends` says. Other requests pass.
 */
export function lostAnswer(options: LostAnswerOptions): FaultRule {
  let lost = false;
  let resends = 0;
  return async (request) => {
    if (request.operation !== 'TransactWriteItems' || partitionOf(request) !== options.partition) {
      return 'forward';
    }
    if (!lost) {
      lost = true;
      return 'drop-answer';
    }
    if (!request.resend) return 'forward';
    resends++;
    if (resends === 1) await options.beforeResend?.();
    if (options.resends === 'as-new') return 'forward-as-new';
    if (options.resends === 'conflict-always' || resends === 1) {
      return { reply: dynamoDbErrors.transactionConflict(request) };
    }
    return 'forward';
  };
}
