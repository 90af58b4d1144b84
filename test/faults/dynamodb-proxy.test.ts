import {
  DynamoDBClient,
  GetItemCommand,
  InternalServerError,
  ProvisionedThroughputExceededException,
  PutItemCommand,
  ThrottlingException,
  TransactionCanceledException,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localClientConfig } from '../../local/dynamodb-local.js';
import { createTestTable } from '../support/dynamodb.js';
import { type DynamoDbError, DynamoDbProxy, dynamoDbErrors, type ProxiedRequest } from './dynamodb-proxy.js';

type Table = Awaited<ReturnType<typeof createTestTable>>;

/** What the SDK makes of an error: the facts its retry strategy and our store classify by. */
function classification(error: unknown) {
  const e = error as {
    constructor: unknown;
    name: string;
    $fault?: string;
    $retryable?: unknown;
    $metadata?: { httpStatusCode?: number; attempts?: number };
    code?: string;
  };
  return {
    class: e.constructor,
    name: e.name,
    fault: e.$fault,
    retryable: e.$retryable,
    status: e.$metadata?.httpStatusCode,
    attempts: e.$metadata?.attempts,
    code: e.code,
  };
}

describe('DynamoDbProxy', () => {
  let table: Table;
  let proxy: DynamoDbProxy;
  /** The SDK's default retry strategy, held to 2 attempts: one retry shows the SDK's verdict, fast. */
  let client: DynamoDBClient;
  const sdkAttempts = 2;
  let sequence = 0;
  const key = () => ({ pk: { S: `proxy-${++sequence}` }, sk: { S: 'item' } });
  const put = (item = key()) =>
    new PutItemCommand({ TableName: table.tableName, Item: { ...item, value: { S: 'x' } } });
  const transaction = (item = key(), condition = 'attribute_not_exists(pk)') =>
    new TransactWriteItemsCommand({
      TransactItems: [
        { Put: { TableName: table.tableName, Item: item, ConditionExpression: condition } },
        { Put: { TableName: table.tableName, Item: { ...item, sk: { S: 'second' } } } },
      ],
    });
  const stored = async (item: ReturnType<typeof key>) =>
    (
      await table.raw.send(
        new GetItemCommand({ TableName: table.tableName, Key: item, ConsistentRead: true }),
      )
    ).Item;

  beforeAll(async () => {
    table = await createTestTable('proxy');
    proxy = await DynamoDbProxy.start(table.endpoint);
    client = new DynamoDBClient({ ...localClientConfig(proxy.endpoint), maxAttempts: sdkAttempts });
  });
  afterAll(async () => {
    client.destroy();
    await proxy.stop();
  });

  describe('synthetic errors are classified by the SDK as real ones', () => {
    it.each<[string, DynamoDbError, unknown, 'client' | 'server']>([
      ['ThrottlingException', dynamoDbErrors.throttling(), ThrottlingException, 'client'],
      [
        'ProvisionedThroughputExceededException',
        dynamoDbErrors.provisionedThroughputExceeded(),
        ProvisionedThroughputExceededException,
        'client',
      ],
      ['InternalServerError', dynamoDbErrors.internalServerError(), InternalServerError, 'server'],
    ])(
      '%s: the modeled class and fault, retried by the SDK until its attempts run out',
      async (name, reply, type, fault) => {
        // Prepare
        const seen: ProxiedRequest[] = [];
        proxy.rule = (request) => {
          seen.push(request);
          return { reply };
        };
        const item = key();

        // Act
        const error = await client.send(put(item)).catch((e: unknown) => e);

        // Assess: what a real one gives (the modeled exception class, its fault, no retryable trait).
        const real = new (type as new (o: object) => object)({ message: reply.message, $metadata: {} });
        expect(classification(error)).toEqual({
          class: type,
          name,
          fault,
          retryable: (real as { $retryable?: unknown }).$retryable,
          status: reply.status,
          attempts: sdkAttempts,
          code: undefined,
        });
        expect((error as Error).message).toBe(reply.message);
        expect(seen).toHaveLength(sdkAttempts);
        expect(await stored(item)).toBeUndefined();
      },
    );

    it('TransactionCanceledException with a TransactionConflict: the same shape as a real cancellation, not retried by the SDK', async () => {
      // Prepare: a real cancellation, from DynamoDB's own failed condition.
      proxy.rule = () => 'forward';
      const real = (await client
        .send(transaction(key(), 'attribute_exists(pk)'))
        .catch((e: unknown) => e)) as TransactionCanceledException;
      proxy.rule = (request) => ({ reply: dynamoDbErrors.transactionConflict(request) });
      const item = key();

      // Act
      const synthetic = (await client
        .send(transaction(item))
        .catch((e: unknown) => e)) as TransactionCanceledException;

      // Assess
      expect(real).toBeInstanceOf(TransactionCanceledException);
      expect(classification(synthetic)).toEqual({ ...classification(real), attempts: 1 });
      expect(Object.keys(synthetic).sort()).toEqual(Object.keys(real).sort());
      expect(real.CancellationReasons?.map((reason) => reason.Code)).toEqual([
        'ConditionalCheckFailed',
        'None',
      ]);
      expect(synthetic.CancellationReasons).toEqual([
        { Code: 'TransactionConflict', Message: 'Transaction is ongoing for the item' },
        { Code: 'None' },
      ]);
      expect(synthetic.message).toBe(
        'Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict, None]',
      );
      expect(await stored(item)).toBeUndefined();
    });
  });

  describe('faults', () => {
    it('drop-answer: DynamoDB applies the request, the client gets a reset connection and the SDK retries', async () => {
      // Prepare
      const item = key();
      proxy.rule = (request) => (request.sequence % 2 === 1 ? 'drop-answer' : 'forward');
      const before = proxy.requests.get('PutItem') ?? 0;
      const single = new DynamoDBClient({ ...localClientConfig(proxy.endpoint), maxAttempts: 1 });

      // Act
      const error = await single.send(put(item)).catch((e: unknown) => e);
      single.destroy();

      // Assess
      expect(classification(error)).toMatchObject({ code: 'ECONNRESET', attempts: 1 });
      expect(await stored(item)).toMatchObject({ value: { S: 'x' } });
      expect((proxy.requests.get('PutItem') ?? 0) - before).toBe(1);
    });

    it('drop-request: nothing reaches DynamoDB', async () => {
      const item = key();
      proxy.rule = () => 'drop-request';

      const error = await client.send(put(item)).catch((e: unknown) => e);

      expect(classification(error)).toMatchObject({ code: 'ECONNRESET', attempts: sdkAttempts });
      expect(await stored(item)).toBeUndefined();
    });

    it('marks a transaction sent again with a token it forwarded before, and can answer it with a conflict', async () => {
      // Prepare: the first send is applied and its answer lost; every resend is cancelled as a conflict.
      const item = key();
      const seen: ProxiedRequest[] = [];
      proxy.rule = (request) => {
        seen.push(request);
        return request.resend ? { reply: dynamoDbErrors.transactionConflict(request) } : 'drop-answer';
      };

      // Act
      const error = await client.send(transaction(item)).catch((e: unknown) => e);

      // Assess: the SDK's retry carried the same token; the transaction is stored once.
      expect(error).toBeInstanceOf(TransactionCanceledException);
      expect(classification(error).attempts).toBe(2);
      expect(seen.map((request) => request.resend)).toEqual([false, true]);
      expect(seen[1]?.token).toBe(seen[0]?.token);
      expect(await stored(item)).toBeDefined();
    });

    it('delays a request by the given time, then forwards it', async () => {
      proxy.rule = () => ({ delayMs: 300 });
      const started = performance.now();

      await client.send(put());

      expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    });

    it('answers an error after forwarding: applied, yet answered 500', async () => {
      const item = key();
      const single = new DynamoDBClient({ ...localClientConfig(proxy.endpoint), maxAttempts: 1 });
      proxy.rule = () => ({ reply: dynamoDbErrors.internalServerError(), afterForwarding: true });

      const error = await single.send(put(item)).catch((e: unknown) => e);
      single.destroy();

      expect(error).toBeInstanceOf(InternalServerError);
      expect(await stored(item)).toBeDefined();
      expect(proxy.faults.get('InternalServerError after forwarding')).toBeGreaterThanOrEqual(1);
    });
  });
});
