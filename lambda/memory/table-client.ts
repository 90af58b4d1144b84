import { createHash } from 'node:crypto';
import {
  type CancellationReason,
  ConditionalCheckFailedException,
  type ConsumedCapacity,
  DynamoDBServiceException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { MemoryError, PayloadTooLargeError, StoreFailureError, UnavailableError } from './errors.js';
import type {
  ConditionalDeleteRequest,
  IndexQueryRequest,
  ItemKey,
  QueryRequest,
  UpdateRequest,
  WriteItem,
} from './requests.js';
import type { RetryBudget } from './retry-budget.js';

/**
 * What DynamoDB answered a transaction: applied, refused on a condition, or no answer to rely on. `unsure`:
 * an earlier send of the same transaction (an SDK retry, a lost answer) may have committed it.
 */
export type CommitOutcome =
  | { readonly status: 'committed'; readonly capacity: number }
  | {
      readonly status: 'rejected';
      readonly reasons: CancellationReason[];
      readonly error: TransactionCanceledException;
      readonly unsure: boolean;
    }
  | { readonly status: 'unknown'; readonly error: unknown };

/**
 * The store's one door to DynamoDB: every call goes through here, and every error leaves as a MemoryError.
 *
 * Retries are split by kind. The SDK's retry strategy, configured where the client is built
 * (./dynamodb-client.ts), resends what failed on the way: network errors, 5xx answers, throttling. What still
 * fails when the SDK gives up is not sent again here: a read answers UnavailableError, a transaction its
 * outcome. The store retries only what DynamoDB decided: a transaction cancelled without its conditions being
 * evaluated (a conflict with another transaction), here, and lost races, in the operations, both within one
 * budget per write (./retry-budget.ts).
 */
export class TableClient {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  /** One item, strongly consistent. */
  async get<T>(key: ItemKey): Promise<{ item: T | undefined; capacity: number }> {
    const output = await this.call(() =>
      this.client.send(
        new GetCommand({
          TableName: this.tableName,
          Key: key,
          ConsistentRead: true,
          ReturnConsumedCapacity: 'TOTAL',
        }),
      ),
    );
    return { item: output.Item as T | undefined, capacity: sumCapacity(output.ConsumedCapacity) };
  }

  /**
   * One page of a Query: strongly consistent on the table; on a global secondary index (`IndexName`) eventually
   * consistent, the only way DynamoDB reads one.
   */
  async query(
    request: QueryRequest | IndexQueryRequest,
    page: { readonly limit?: number; readonly startKey?: Record<string, unknown> } = {},
  ) {
    const output = await this.call(() =>
      this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          ...request,
          ...('IndexName' in request ? {} : { ConsistentRead: true }),
          ...(page.limit === undefined ? {} : { Limit: page.limit }),
          ExclusiveStartKey: page.startKey,
          ReturnConsumedCapacity: 'TOTAL',
        }),
      ),
    );
    return {
      items: output.Items ?? [],
      nextKey: output.LastEvaluatedKey,
      capacity: sumCapacity(output.ConsumedCapacity),
    };
  }

  /** Writes one item whole, unconditionally: the same Put sent again changes nothing. */
  async put(item: Record<string, unknown>): Promise<void> {
    await this.call(() => this.client.send(new PutCommand({ TableName: this.tableName, Item: item })));
  }

  /** Deletes one item if its condition holds; false when it does not. */
  async deleteIf(request: ConditionalDeleteRequest): Promise<boolean> {
    try {
      await this.client.send(new DeleteCommand({ TableName: this.tableName, ...request }));
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw isTransient(error) ? unavailable(error) : translate(error);
    }
  }

  /**
   * Up to 100 items by key, strongly consistent, with only `attributes`; in no particular order. Keys DynamoDB
   * leaves unprocessed (over a partition's throughput) are asked for again a few times, then UnavailableError.
   */
  async batchGet(
    keys: readonly ItemKey[],
    attributes: readonly string[],
  ): Promise<{ items: Record<string, unknown>[]; capacity: number }> {
    const names = Object.fromEntries(attributes.map((name, index) => [`#a${index}`, name]));
    const items: Record<string, unknown>[] = [];
    let capacity = 0;
    let pending = [...keys];
    for (let round = 0; pending.length > 0; round++) {
      if (round >= 5) throw unavailable(new Error(`${pending.length} keys stayed unprocessed`));
      if (round > 0) await new Promise((resolve) => setTimeout(resolve, Math.random() * 50 * 2 ** round));
      const request = pending;
      const output = await this.call(() =>
        this.client.send(
          new BatchGetCommand({
            RequestItems: {
              [this.tableName]: {
                Keys: request,
                ConsistentRead: true,
                ProjectionExpression: Object.keys(names).join(', '),
                ExpressionAttributeNames: names,
              },
            },
            ReturnConsumedCapacity: 'TOTAL',
          }),
        ),
      );
      items.push(...(output.Responses?.[this.tableName] ?? []));
      capacity += sumCapacity(output.ConsumedCapacity);
      pending = (output.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as ItemKey[];
    }
    return { items, capacity };
  }

  /**
   * An idempotent conditional update: the item as written, or undefined when its condition failed. A refusal
   * for contention (a transaction holds the item) goes again within the budget.
   */
  async update<T>(request: UpdateRequest, budget: RetryBudget): Promise<T | undefined> {
    for (;;) {
      try {
        const output = await this.client.send(new UpdateCommand({ TableName: this.tableName, ...request }));
        return output.Attributes as T;
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return undefined;
        if (error instanceof Error && error.name === 'TransactionConflictException' && (await budget.again()))
          continue;
        throw isTransient(error) ? unavailable(error) : translate(error);
      }
    }
  }

  /**
   * Sends a transaction until DynamoDB decides it; a cancellation on a condition is an answer, not an error.
   * The token is a digest of the transaction, so every send of the same transaction (the SDK's resends and
   * these) is one request to DynamoDB, applied at most once. Whether an earlier send may have committed
   * unseen is reported with the answer: a cancellation proves only that the send it answers wrote nothing.
   * The SDK resends inside one call, so a middleware on the command watches each of its sends.
   */
  async commit(items: readonly WriteItem[], budget: RetryBudget): Promise<CommitOutcome> {
    const input = {
      TransactItems: items.map((item) => withTable(item, this.tableName)),
      ReturnConsumedCapacity: 'TOTAL' as const,
    };
    const token = createHash('sha256').update(JSON.stringify(input)).digest('base64url').slice(0, 36);
    let unsure = false;
    for (;;) {
      const command = new TransactWriteCommand({ ...input, ClientRequestToken: token });
      let watched = 0;
      command.middlewareStack.add(
        (next) => async (args) => {
          watched++;
          try {
            return await next(args);
          } catch (error) {
            unsure ||= mayHaveCommitted(error);
            throw error;
          }
        },
        { step: 'deserialize', priority: 'high', name: 'agentMemoryWatchSends', override: true },
      );
      try {
        const output = await this.client.send(command);
        return { status: 'committed', capacity: sumCapacity(output.ConsumedCapacity) };
      } catch (error) {
        // Sends the watch did not see (a client that bypasses the command's middleware) count as unsure.
        const sends = (error as { $metadata?: { attempts?: number } }).$metadata?.attempts ?? 1;
        unsure ||= mayHaveCommitted(error) || sends > Math.max(watched, 1);
        const reasons = error instanceof TransactionCanceledException ? error.CancellationReasons : undefined;
        if (reasons?.some(conditionFailed)) {
          return { status: 'rejected', reasons, error: error as TransactionCanceledException, unsure };
        }
        const contended = undecided(reasons);
        if (!contended && !isTransient(error)) throw translate(error);
        if (contended && (await budget.again())) continue;
        // Failed on the way after the SDK's resends, or contended past the budget.
        if (unsure) return { status: 'unknown', error };
        throw unavailable(error);
      }
    }
  }

  /** Runs one call; what failed on the way after the SDK's own resends is UnavailableError. */
  private async call<T>(send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw isTransient(error) ? unavailable(error) : translate(error);
    }
  }
}

/** The failure of a request DynamoDB could not be reached for, or refused under load, after every resend. */
export function unavailable(cause: unknown): UnavailableError {
  return new UnavailableError('DynamoDB is throttling or unreachable. Retry shortly.', 1, { cause });
}

export function conditionFailed(reason: CancellationReason | undefined): reason is CancellationReason {
  return reason?.Code === 'ConditionalCheckFailed';
}

/** The item a failed condition returned, as the store reads items. */
export function itemOf<T>(reason: CancellationReason | undefined): T | undefined {
  return reason?.Item ? (unmarshall(reason.Item) as T) : undefined;
}

function withTable(item: WriteItem, tableName: string) {
  const [[action, body]] = Object.entries(item) as [[keyof WriteItem, object]];
  return { [action]: { TableName: tableName, ...body } };
}

function sumCapacity(consumed: ConsumedCapacity | ConsumedCapacity[] | undefined): number {
  const list = Array.isArray(consumed) ? consumed : consumed ? [consumed] : [];
  return list.reduce((sum, entry) => sum + (entry.CapacityUnits ?? 0), 0);
}

/**
 * A cancellation without a decision: DynamoDB did not evaluate the conditions because another transaction
 * held an item, or it throttled one. Nothing was written by that send; the same transaction may go again.
 */
function undecided(reasons: CancellationReason[] | undefined): boolean {
  const codes = (reasons ?? []).map((reason) => reason.Code ?? 'None');
  return (
    codes.some((code) => code === 'TransactionConflict' || code === 'ThrottlingError') &&
    codes.every((code) => code === 'None' || code === 'TransactionConflict' || code === 'ThrottlingError')
  );
}

/**
 * Whether the send that got this error may have been applied: unless DynamoDB refused it outright (a client
 * error, a refused connection), its answer may simply have been lost.
 */
function mayHaveCommitted(error: unknown): boolean {
  if (error instanceof DynamoDBServiceException) {
    return error.$fault !== 'client' || error.name === 'TransactionInProgressException';
  }
  return (error as { code?: string }).code !== 'ECONNREFUSED';
}

/** Failures on the way (the SDK's resends of them ran out): the network, DynamoDB's 5xx, its throttling. */
const TRANSIENT_ERRORS = new Set([
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'TransactionConflictException',
  'TransactionInProgressException',
  'InternalServerError',
  'ServiceUnavailable',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);
const NETWORK_ERRORS = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
]);

function isTransient(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (TRANSIENT_ERRORS.has(error.name)) return true;
  if (error instanceof DynamoDBServiceException)
    return error.$fault === 'server' || error.$retryable !== undefined;
  const code = (error as { code?: string }).code;
  return code !== undefined && NETWORK_ERRORS.has(code);
}

/** The one place where an SDK error becomes a domain error. */
function translate(error: unknown): MemoryError {
  if (error instanceof MemoryError) return error;
  const name = error instanceof Error ? error.name : 'unknown';
  const message = error instanceof Error ? error.message : String(error);
  // Size limits surface as a ValidationException or as a cancelled transaction whose reason says so.
  if (
    (name === 'ValidationException' || name === 'TransactionCanceledException') &&
    /size|too large|larger than/i.test(message)
  ) {
    return new PayloadTooLargeError(
      'The messages exceed a DynamoDB size limit (400 KB per item, 4 MB per append).',
      { cause: error },
    );
  }
  if (name === 'ResourceNotFoundException') {
    return new StoreFailureError('The conversation table does not exist.', { cause: error });
  }
  return new StoreFailureError('DynamoDB failed unexpectedly.', { cause: error });
}
