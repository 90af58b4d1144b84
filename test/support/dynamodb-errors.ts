import { type CancellationReason, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';

/** A cancelled transaction as DynamoDB sends it: one reason per item, `Item` in DynamoDB's wire format. */
export const cancelled = (...reasons: Array<{ Code: string; Item?: Record<string, unknown> }>) =>
  new TransactionCanceledException({
    message: 'Transaction cancelled',
    $metadata: {},
    CancellationReasons: reasons.map(
      (reason): CancellationReason => ({
        Code: reason.Code,
        ...(reason.Item ? { Item: marshall(reason.Item) } : {}),
      }),
    ),
  });
