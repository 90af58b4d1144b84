import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  DynamoDBServiceException,
  ProvisionedThroughputExceededException,
  ResourceNotFoundException,
  ThrottlingException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { ConversationStore } from '../../../lambda/memory/conversation-store.js';
import {
  IdempotencyKeyReusedError,
  MemoryError,
  PayloadTooLargeError,
  StoreFailureError,
  UnavailableError,
  VersionConflictError,
  WriteOutcomeUnknownError,
} from '../../../lambda/memory/errors.js';
import { keys } from '../../../lambda/memory/table.js';
import { cancelled } from '../../support/dynamodb-errors.js';

const dynamo = mockClient(DynamoDBDocumentClient);
const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'local' }));
const pk = keys.partition('tenant', 'conv');
const message = { role: 'user', content: 'hi' };

const store = (maxAttempts = 3) =>
  new ConversationStore({ client, tableName: 'table', maxAttempts, backoff: { baseMs: 0, capMs: 0 } });

const serviceError = <T extends DynamoDBServiceException>(
  Type: new (options: { message: string; $metadata: object }) => T,
  message = 'boom',
) => new Type({ message, $metadata: {} });

const none = { Code: 'None' };
const headAt = (version: number) => ({
  Code: 'ConditionalCheckFailed',
  Item: { pk, sk: keys.head, version },
});

function sentTransactions(): TransactWriteCommandInput[] {
  return dynamo.commandCalls(TransactWriteCommand).map((call) => call.args[0].input);
}

/** The idempotency hash the store writes for a request, read off the transaction it sends. */
async function hashOf(messages: unknown[], expectedVersion?: number): Promise<string> {
  dynamo.reset();
  dynamo.on(TransactWriteCommand).resolves({});
  await store().append('tenant', 'conv', messages, {
    expectedVersion: expectedVersion ?? 0,
    idempotencyKey: 'k',
  });
  const items = sentTransactions()[0]?.TransactItems ?? [];
  const hash = items.at(-1)?.Put?.Item?.hash as string;
  dynamo.reset();
  return hash;
}

/**
 * What the store sees when the SDK resent a transaction whose first answer was lost: one call, failed on a
 * condition, after two sends (the mock bypasses the SDK's middleware, so only `$metadata.attempts` tells).
 */
const afterResend = (error: TransactionCanceledException) =>
  Object.assign(error, { $metadata: { attempts: 2 } });

/** The first send's answer is lost; the SDK's resend fails its condition on a head another operation wrote. */
function lostAnswerThenHeadAt(version: number): void {
  dynamo
    .on(TransactWriteCommand)
    .rejects(
      afterResend(
        cancelled(
          { Code: 'ConditionalCheckFailed', Item: { pk, sk: keys.head, version, op: 'other' } },
          none,
        ),
      ),
    );
}

describe('ConversationStore', () => {
  beforeEach(() => {
    dynamo.reset();
  });

  describe('append', () => {
    it('with expectedVersion commits in one transaction: head condition, message puts, idempotency record', async () => {
      // Prepare
      dynamo.on(TransactWriteCommand).resolves({ ConsumedCapacity: [{ CapacityUnits: 6 }] });

      // Act
      const result = await store().append('tenant', 'conv', [message, message], {
        expectedVersion: 4,
        idempotencyKey: 'key',
      });

      // Assess
      expect(dynamo).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
      expect(dynamo).not.toHaveReceivedCommand(GetCommand);
      const items = sentTransactions()[0]?.TransactItems ?? [];
      expect(items[0]?.Update).toMatchObject({
        Key: { pk, sk: keys.head },
        ConditionExpression: expect.stringContaining('version = :base'),
        ExpressionAttributeValues: expect.objectContaining({ ':base': 4, ':version': 6, ':count': 2 }),
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      });
      expect(items.slice(1, 3).map((item) => item.Put?.Item?.sk)).toEqual([keys.message(5), keys.message(6)]);
      expect(items[3]?.Put).toMatchObject({
        Item: { pk, sk: keys.idempotency('key'), version: 6, firstSeq: 5, lastSeq: 6 },
        ConditionExpression: expect.stringContaining('attribute_not_exists(pk)'),
      });
      expect(sentTransactions()[0]?.ClientRequestToken).toEqual(expect.any(String));
      expect(result).toMatchObject({ version: 6, replayed: false, consumedCapacity: 6 });
      expect(result.messages.map((m) => m.seq)).toEqual([5, 6]);
    });

    it('starts a conversation with a conditional Put of the head', async () => {
      dynamo.on(TransactWriteCommand).resolves({});

      await store().append('tenant', 'conv', [message], { expectedVersion: 0 });

      expect(sentTransactions()[0]?.TransactItems?.[0]?.Put).toMatchObject({
        Item: { pk, sk: keys.head, version: 1, messageCount: 1 },
        ConditionExpression: 'attribute_not_exists(pk)',
      });
    });

    it('without expectedVersion reads the head with a strongly consistent read first', async () => {
      dynamo.on(GetCommand).resolves({ Item: { pk, sk: keys.head, version: 9 } });
      dynamo.on(TransactWriteCommand).resolves({});

      const result = await store().append('tenant', 'conv', [message]);

      expect(dynamo).toHaveReceivedCommandWith(GetCommand, {
        Key: { pk, sk: keys.head },
        ConsistentRead: true,
      });
      expect(result.version).toBe(10);
    });

    it('rejects a stale expectedVersion with the current version from the failed condition', async () => {
      dynamo.on(TransactWriteCommand).rejects(cancelled(headAt(7), none));

      const error = await store()
        .append('tenant', 'conv', [message], { expectedVersion: 3 })
        .catch((e) => e);

      expect(error).toBeInstanceOf(VersionConflictError);
      expect(error.currentVersion).toBe(7);
      expect(error.cause).toBeInstanceOf(TransactionCanceledException);
      expect(dynamo).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
    });

    it('reports version 0 when the head that failed the condition has expired', async () => {
      dynamo
        .on(TransactWriteCommand)
        .rejects(
          cancelled(
            { Code: 'ConditionalCheckFailed', Item: { pk, sk: keys.head, version: 7, liveUntil: 1 } },
            none,
          ),
        );

      const error = await store()
        .append('tenant', 'conv', [message], { expectedVersion: 3 })
        .catch((e) => e);

      expect(error).toMatchObject({ name: 'VersionConflictError', currentVersion: 0 });
    });

    it('retries a lost race on the version the failed condition returned, as another transaction of the same messages', async () => {
      dynamo.on(GetCommand).resolves({ Item: { pk, sk: keys.head, version: 2 } });
      dynamo
        .on(TransactWriteCommand)
        .rejectsOnce(cancelled(headAt(5), none))
        .resolves({});

      const result = await store().append('tenant', 'conv', [message]);

      const [first, second] = sentTransactions();
      const head = (input?: TransactWriteCommandInput) =>
        input?.TransactItems?.[0]?.Update?.ExpressionAttributeValues;
      const messageOf = (input?: TransactWriteCommandInput) =>
        JSON.parse(String(input?.TransactItems?.[1]?.Put?.Item?.msg));
      expect(head(first)?.[':base']).toBe(2);
      expect(head(second)?.[':base']).toBe(5);
      expect(second?.TransactItems?.[1]?.Put?.Item?.sk).toBe(keys.message(6));
      expect(dynamo).toHaveReceivedCommandTimes(GetCommand, 1);
      expect(result.version).toBe(6);
      // Another transaction, another token; the same message id and createdAt, the same op id on the head.
      expect(second?.ClientRequestToken).not.toBe(first?.ClientRequestToken);
      expect(messageOf(second)).toEqual({ ...messageOf(first), seq: 6 });
      expect(head(second)?.[':op']).toEqual(head(first)?.[':op']);
      expect(result.messages[0]).toEqual(messageOf(second));
    });

    it('gives up with Unavailable after the bounded number of lost races', async () => {
      dynamo.on(GetCommand).resolves({ Item: { pk, sk: keys.head, version: 1 } });
      let winner = 1;
      dynamo.on(TransactWriteCommand).callsFake(() => {
        winner += 2; // another writer wins every round
        throw cancelled(headAt(winner), none);
      });

      const error = await store(4)
        .append('tenant', 'conv', [message])
        .catch((e) => e);

      expect(error).toBeInstanceOf(UnavailableError);
      expect(error.retryAfterSeconds).toBeGreaterThan(0);
      expect(dynamo).toHaveReceivedCommandTimes(TransactWriteCommand, 4);
    });

    it('replays from the idempotency record returned by the failed key condition', async () => {
      const hash = await hashOf([message], 0);
      const record = { pk, sk: keys.idempotency('k'), hash, version: 1, firstSeq: 1, lastSeq: 1 };
      const stored = { ...message, id: 'a', seq: 1, createdAt: '2026-01-01T00:00:00.000Z' };
      dynamo
        .on(TransactWriteCommand)
        .rejects(cancelled(headAt(3), none, { Code: 'ConditionalCheckFailed', Item: record }));
      dynamo.on(QueryCommand).resolves({ Items: [{ pk, sk: keys.message(1), msg: JSON.stringify(stored) }] });

      const result = await store().append('tenant', 'conv', [message], {
        expectedVersion: 0,
        idempotencyKey: 'k',
      });

      expect(result).toEqual({
        conversationId: 'conv',
        version: 1,
        messages: [stored],
        replayed: true,
        consumedCapacity: 0,
      });
      expect(dynamo).toHaveReceivedCommandWith(QueryCommand, {
        ConsistentRead: true,
        ExpressionAttributeValues: { ':pk': pk, ':lower': keys.message(1), ':upper': keys.message(1) },
      });
    });

    it('looks the key up when only the head condition is reported failed', async () => {
      const hash = await hashOf([message], 0);
      const stored = { ...message, id: 'a', seq: 1, createdAt: '2026-01-01T00:00:00.000Z' };
      dynamo.on(TransactWriteCommand).rejects(cancelled(headAt(3), none, none));
      dynamo.on(GetCommand).resolves({ Item: { hash, version: 1, firstSeq: 1, lastSeq: 1 } });
      dynamo.on(QueryCommand).resolves({ Items: [{ pk, sk: keys.message(1), msg: JSON.stringify(stored) }] });

      const result = await store().append('tenant', 'conv', [message], {
        expectedVersion: 0,
        idempotencyKey: 'k',
      });

      expect(result.replayed).toBe(true);
      expect(dynamo).toHaveReceivedCommandWith(GetCommand, { Key: { pk, sk: keys.idempotency('k') } });
    });

    it('rejects a reused key whose record holds another hash', async () => {
      const record = { pk, sk: keys.idempotency('k'), hash: 'other', version: 1, firstSeq: 1, lastSeq: 1 };
      dynamo
        .on(TransactWriteCommand)
        .rejects(cancelled(none, none, { Code: 'ConditionalCheckFailed', Item: record }));
      dynamo.on(GetCommand).resolves({ Item: { pk, sk: keys.head, version: 1 } });

      const error = await store()
        .append('tenant', 'conv', [message], { expectedVersion: 0, idempotencyKey: 'k' })
        .catch((e) => e);

      expect(error).toBeInstanceOf(IdempotencyKeyReusedError);
    });

    it('sends a transaction cancelled for contention again, the same transaction with the same token', async () => {
      dynamo
        .on(TransactWriteCommand)
        .rejectsOnce(cancelled({ Code: 'TransactionConflict' }, none))
        .rejectsOnce(cancelled(none, { Code: 'ThrottlingError' }))
        .resolves({});

      const result = await store().append('tenant', 'conv', [message], { expectedVersion: 0 });

      const sent = sentTransactions();
      expect(result.version).toBe(1);
      expect(sent).toHaveLength(3);
      expect(new Set(sent.map((input) => input.ClientRequestToken)).size).toBe(1);
      expect(sent[2]).toEqual(sent[0]);
    });

    it('settles a conflict that follows a lost answer from the head before calling it a conflict', async () => {
      // Prepare: the first send's answer is lost, the SDK's resend fails the condition on the version it moved.
      dynamo.on(TransactWriteCommand).callsFake((input: TransactWriteCommandInput) => {
        const op = input.TransactItems?.[0]?.Update?.ExpressionAttributeValues?.[':op'];
        throw afterResend(
          cancelled({ Code: 'ConditionalCheckFailed', Item: { pk, sk: keys.head, version: 5, op } }, none),
        );
      });

      // Act
      const result = await store().append('tenant', 'conv', [message], { expectedVersion: 4 });

      // Assess
      expect(result).toMatchObject({ version: 5, replayed: false });
      expect(dynamo).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
    });

    it('answers WriteOutcomeUnknownError, not a conflict, when a lost answer cannot be settled', async () => {
      // Prepare: after the lost answer another writer's edit took the version past it, and its seq is empty.
      lostAnswerThenHeadAt(9);
      dynamo.on(GetCommand).resolves({});

      // Act
      const error = await store()
        .append('tenant', 'conv', [message], { expectedVersion: 4 })
        .catch((e) => e);

      // Assess
      expect(error).toBeInstanceOf(WriteOutcomeUnknownError);
      expect(dynamo).toHaveReceivedCommandWith(GetCommand, {
        Key: { pk, sk: keys.message(5) },
        ConsistentRead: true,
      });
    });

    it('leaves resending a lost send to the SDK: once its resends ran out, the write is settled from the table', async () => {
      // Prepare: every send of the SDK's failed on the way; the first one had committed.
      const lost = Object.assign(new Error('socket hang up'), {
        code: 'ECONNRESET',
        $metadata: { attempts: 4 },
      });
      let op: unknown;
      dynamo.on(TransactWriteCommand).callsFake((input: TransactWriteCommandInput) => {
        op = input.TransactItems?.[0]?.Update?.ExpressionAttributeValues?.[':op'];
        throw lost;
      });
      dynamo.on(GetCommand).callsFake(() => ({ Item: { pk, sk: keys.head, version: 5, op } }));

      // Act
      const result = await store().append('tenant', 'conv', [message], { expectedVersion: 4 });

      // Assess: no second transaction from the store; the head's op id says it was applied.
      expect(result).toMatchObject({ version: 5, replayed: false });
      expect(dynamo).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
    });

    it('answers WriteOutcomeUnknownError, not "retry shortly", when the reads that would settle it fail', async () => {
      // Prepare: the answer is lost, the resend fails its condition, and DynamoDB then throttles every read.
      lostAnswerThenHeadAt(9);
      dynamo.on(GetCommand).rejects(serviceError(ThrottlingException));

      // Act
      const error = await store()
        .append('tenant', 'conv', [message], { expectedVersion: 4 })
        .catch((e) => e);

      // Assess
      expect(error).toBeInstanceOf(WriteOutcomeUnknownError);
      expect(error.cause).toBeInstanceOf(UnavailableError);
    });

    it.each([
      ['ThrottlingException', () => serviceError(ThrottlingException)],
      ['ProvisionedThroughputExceededException', () => serviceError(ProvisionedThroughputExceededException)],
      [
        'a refused connection',
        () => Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      ],
    ])(
      'answers %s that outlasted the SDK resends with Unavailable, sending nothing more',
      async (_name, makeError) => {
        dynamo.on(TransactWriteCommand).rejects(makeError());

        const error = await store(3)
          .append('tenant', 'conv', [message], { expectedVersion: 0 })
          .catch((e) => e);

        expect(error).toBeInstanceOf(UnavailableError);
        expect(error).not.toBeInstanceOf(DynamoDBServiceException);
        expect(dynamo).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
      },
    );

    it('sends a throttled transaction again within its budget, then answers Unavailable', async () => {
      dynamo.on(TransactWriteCommand).rejects(cancelled({ Code: 'ThrottlingError' }, none));

      const error = await store(3)
        .append('tenant', 'conv', [message], { expectedVersion: 0 })
        .catch((e) => e);

      expect(error).toBeInstanceOf(UnavailableError);
      expect(dynamo).toHaveReceivedCommandTimes(TransactWriteCommand, 3);
    });

    it.each([
      [
        'ValidationException on item size',
        'Item size has exceeded the maximum allowed size',
        PayloadTooLargeError,
      ],
      [
        'ValidationException on transaction size',
        'Transaction request cannot be larger than 4 MB',
        PayloadTooLargeError,
      ],
      ['another ValidationException', 'Invalid UpdateExpression', StoreFailureError],
    ])('translates %s', async (_name, text, errorType) => {
      const error = Object.assign(
        new DynamoDBServiceException({
          name: 'ValidationException',
          $fault: 'client',
          $metadata: {},
          message: text,
        }),
      );
      dynamo.on(TransactWriteCommand).rejects(error);

      const thrown = await store()
        .append('tenant', 'conv', [message], { expectedVersion: 0 })
        .catch((e) => e);

      expect(thrown).toBeInstanceOf(errorType);
      expect(thrown.cause).toBe(error);
    });

    it('translates a missing table and unknown errors into StoreFailure, keeping the cause for logs', async () => {
      dynamo
        .on(GetCommand)
        .rejectsOnce(serviceError(ResourceNotFoundException))
        .rejects(new TypeError('bug'));

      const missing = await store()
        .append('tenant', 'conv', [message])
        .catch((e) => e);
      const unknown = await store()
        .append('tenant', 'conv', [message])
        .catch((e) => e);

      expect(missing).toBeInstanceOf(StoreFailureError);
      expect(missing.message).toMatch(/table does not exist/);
      expect(unknown).toBeInstanceOf(StoreFailureError);
      expect(unknown.cause).toBeInstanceOf(TypeError);
    });

    it('lets no AWS error type escape', async () => {
      const errors = [
        serviceError(ConditionalCheckFailedException),
        serviceError(ThrottlingException),
        serviceError(ResourceNotFoundException),
        cancelled({ Code: 'ValidationError' }),
        new Error('anything'),
      ];
      for (const error of errors) {
        dynamo.reset();
        dynamo.on(TransactWriteCommand).rejects(error);

        const thrown = await store(2)
          .append('tenant', 'conv', [message], { expectedVersion: 0 })
          .catch((e) => e);

        expect(thrown).toBeInstanceOf(MemoryError);
        expect(thrown).not.toBeInstanceOf(DynamoDBServiceException);
      }
    });
  });

  describe('load', () => {
    it('reads the default window and the head in one strongly consistent descending Query', async () => {
      const stored = (seq: number) => ({
        pk,
        sk: keys.message(seq),
        msg: JSON.stringify({ ...message, seq }),
      });
      dynamo.on(QueryCommand).resolves({ Items: [{ pk, sk: keys.head, version: 3 }, stored(3), stored(2)] });

      const page = await store().load('tenant', 'conv', { limit: 2 });

      expect(dynamo).toHaveReceivedCommandTimes(QueryCommand, 1);
      expect(dynamo).toHaveReceivedCommandWith(QueryCommand, {
        ConsistentRead: true,
        ScanIndexForward: false,
        Limit: 4, // the head and the summary, which sort before the messages
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      });
      expect(page).toMatchObject({ version: 3, nextBefore: 2 });
      expect(page.messages.map((m) => m.seq)).toEqual([2, 3]);
    });

    it('turns throttled reads into Unavailable', async () => {
      dynamo.on(QueryCommand).rejects(serviceError(ProvisionedThroughputExceededException));

      await expect(store(2).load('tenant', 'conv')).rejects.toBeInstanceOf(UnavailableError);
    });
  });

  describe('deleteConversation', () => {
    it('tombstones the head, removes the past life in transactions checked on the tombstone, then the head', async () => {
      // Prepare
      dynamo.on(GetCommand).resolves({ Item: { pk, sk: keys.head, version: 150 } });
      dynamo.on(UpdateCommand).resolves({ Attributes: { pk, sk: keys.head, version: 150, deleted: true } });
      const items = [
        { sk: keys.idempotency('k'), version: 150 },
        ...Array.from({ length: 150 }, (_, i) => ({ sk: keys.message(i + 1) })),
        { sk: keys.head, version: 150 },
      ];
      dynamo.on(QueryCommand).resolves({ Items: items });
      dynamo.on(TransactWriteCommand).resolves({});

      // Act
      await store().deleteConversation('tenant', 'conv');

      // Assess
      expect(dynamo).toHaveReceivedCommandWith(UpdateCommand, {
        Key: { pk, sk: keys.head },
        UpdateExpression: expect.stringContaining('SET deleted = :true'),
        ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(deleted)',
      });
      const transactions = sentTransactions();
      expect(transactions.map((t) => t.TransactItems?.length)).toEqual([100, 53, 1]);
      const tombstone = {
        Key: { pk, sk: keys.head },
        ConditionExpression: 'deleted = :true AND version = :version',
        ExpressionAttributeValues: { ':true': true, ':version': 150 },
      };
      for (const t of transactions.slice(0, 2))
        expect(t.TransactItems?.[0]?.ConditionCheck).toMatchObject(tombstone);
      expect(transactions[2]?.TransactItems?.[0]?.Delete).toMatchObject(tombstone);
    });

    it('does nothing for a conversation that was never written', async () => {
      dynamo.on(GetCommand).resolves({});

      await store().deleteConversation('tenant', 'conv');

      expect(dynamo).not.toHaveReceivedCommand(QueryCommand);
      expect(dynamo).not.toHaveReceivedCommand(UpdateCommand);
      expect(dynamo).not.toHaveReceivedCommand(TransactWriteCommand);
    });

    it('finishes an earlier delete of a tombstone, sparing what a new life wrote above it', async () => {
      dynamo.on(GetCommand).resolves({ Item: { pk, sk: keys.head, version: 2, deleted: true } });
      dynamo.on(QueryCommand).resolves({
        Items: [
          { sk: keys.message(2) },
          { sk: keys.message(3) },
          { sk: keys.idempotency('new'), version: 3 },
        ],
      });
      dynamo.on(TransactWriteCommand).resolves({});

      await store().deleteConversation('tenant', 'conv');

      const [cleanup] = sentTransactions();
      expect(cleanup?.TransactItems?.slice(1).map((item) => item.Delete?.Key?.sk)).toEqual([keys.message(2)]);
      expect(dynamo).not.toHaveReceivedCommand(UpdateCommand); // already a tombstone
    });

    it('stops when the tombstone is no longer the one it cleans up', async () => {
      dynamo.on(GetCommand).resolves({ Item: { version: 2 } });
      dynamo.on(UpdateCommand).resolves({ Attributes: { version: 2, deleted: true } });
      dynamo.on(QueryCommand).resolves({ Items: [{ sk: keys.message(1) }, { sk: keys.message(2) }] });
      dynamo.on(TransactWriteCommand).rejects(cancelled({ Code: 'ConditionalCheckFailed' }, none, none));

      await expect(store().deleteConversation('tenant', 'conv')).resolves.toBeUndefined();

      expect(dynamo).toHaveReceivedCommandTimes(TransactWriteCommand, 1); // no head delete after it
    });
  });
});
