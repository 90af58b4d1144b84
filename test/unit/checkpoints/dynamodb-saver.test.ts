import { DynamoDBClient, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DynamoDBDocumentClient,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoDBSaver } from '../../../lambda/checkpoints/dynamodb-saver.js';
import { threadKeys } from '../../../lambda/checkpoints/thread-keys.js';
import { InvalidRequestError, StoreFailureError, UnavailableError } from '../../../lambda/memory/errors.js';
import { cancelled } from '../../support/dynamodb-errors.js';

const dynamo = mockClient(DynamoDBDocumentClient);
const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'local' }));
const saver = () => new DynamoDBSaver({ client, tableName: 'table', tenant: 'acme' });
const config = { configurable: { thread_id: 'thread', checkpoint_ns: '' } };
const checkpoint = (values: Record<string, unknown> = { a: 1 }) => ({
  v: 4,
  id: '1f0c0000-0000-6000-8000-000000000000',
  ts: '2026-01-01T00:00:00.000Z',
  channel_values: values,
  channel_versions: Object.fromEntries(Object.keys(values).map((key) => [key, 1])),
  versions_seen: {},
});
const metadata = { source: 'input' as const, step: -1, parents: {} };

describe('DynamoDBSaver (mocked DynamoDB)', () => {
  beforeEach(() => dynamo.reset());

  describe('bad input', () => {
    it('rejects a tenant that is empty or too long when built', () => {
      expect(() => new DynamoDBSaver({ client, tableName: 'table', tenant: '' })).toThrow(
        InvalidRequestError,
      );
      expect(() => new DynamoDBSaver({ client, tableName: 'table', tenant: 'x'.repeat(513) })).toThrow(
        InvalidRequestError,
      );
    });

    it('rejects ids that cannot be keys, sending nothing', async () => {
      // Act
      const loneSurrogate = saver().put({ configurable: { thread_id: '\ud800' } }, checkpoint(), metadata, {
        a: 1,
      });
      const longNamespace = saver().putWrites(
        { configurable: { thread_id: 'thread', checkpoint_ns: 'n'.repeat(1100), checkpoint_id: 'c' } },
        [['a', 1]],
        'task',
      );

      // Assess
      await expect(loneSurrogate).rejects.toBeInstanceOf(InvalidRequestError);
      await expect(longNamespace).rejects.toBeInstanceOf(InvalidRequestError);
      expect(dynamo.calls()).toHaveLength(0);
    });

    it('rejects a negative or fractional ttlSeconds', () => {
      expect(() => new DynamoDBSaver({ client, tableName: 't', tenant: 'a', ttlSeconds: -1 })).toThrow(
        RangeError,
      );
      expect(() => new DynamoDBSaver({ client, tableName: 't', tenant: 'a', ttlSeconds: 1.5 })).toThrow(
        RangeError,
      );
    });
  });

  describe('put', () => {
    it('writes the checkpoint, its changed values and the thread index entry in one transaction', async () => {
      // Prepare
      dynamo.on(TransactWriteCommand).resolves({});

      // Act
      await saver().put(config, checkpoint({ a: 1, b: 'two' }), metadata, { a: 1, b: 1 });

      // Assess
      const input = dynamo.commandCalls(TransactWriteCommand)[0]?.args[0].input;
      const keys = input?.TransactItems?.map((action) => `${action.Put?.Item?.pk} ${action.Put?.Item?.sk}`);
      const pk = threadKeys.thread('acme', 'thread');
      expect(keys).toEqual([
        `${pk} CP##1f0c0000-0000-6000-8000-000000000000`,
        `${pk} CV##1f0c0000-0000-6000-8000-000000000000#a`,
        `${pk} CV##1f0c0000-0000-6000-8000-000000000000#b`,
        `${threadKeys.threadIndex('acme')} thread`,
      ]);
      expect(input?.ClientRequestToken).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('sends a transaction cancelled by conflicts again, with a new token, and gives up with UnavailableError', async () => {
      // Prepare
      dynamo.on(TransactWriteCommand).rejects(cancelled({ Code: 'TransactionConflict' }, { Code: 'None' }));

      // Act
      const put = saver().put(config, checkpoint(), metadata, { a: 1 });

      // Assess
      await expect(put).rejects.toBeInstanceOf(UnavailableError);
      const tokens = dynamo
        .commandCalls(TransactWriteCommand)
        .map((call) => call.args[0].input.ClientRequestToken);
      expect(tokens).toHaveLength(8);
      expect(new Set(tokens).size).toBe(8);
    });

    it('does not retry a transaction cancelled for another reason', async () => {
      // Prepare
      dynamo.on(TransactWriteCommand).rejects(cancelled({ Code: 'ValidationError' }, { Code: 'None' }));

      // Act
      const put = saver().put(config, checkpoint(), metadata, { a: 1 });

      // Assess
      await expect(put).rejects.toBeInstanceOf(StoreFailureError);
      expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(1);
    });
  });

  describe('reads', () => {
    it('says the table is missing', async () => {
      // Prepare
      dynamo.on(QueryCommand).rejects(new ResourceNotFoundException({ message: 'no table', $metadata: {} }));

      // Act
      const read = saver().getTuple(config);

      // Assess
      await expect(read).rejects.toThrow('The checkpoint table does not exist.');
    });

    it('asks again for the keys a BatchGetItem left unprocessed', async () => {
      // Prepare: the newest checkpoint locates two values; the first answer leaves one out.
      const pk = threadKeys.thread('acme', 'thread');
      const id = '1f0c0000-0000-6000-8000-000000000000';
      const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
      const record = json({ v: 4, id, ts: 'x', channel_versions: { a: 1, b: 1 }, versions_seen: {} });
      const meta = json(metadata);
      dynamo.on(QueryCommand).callsFake((input) =>
        input.ExpressionAttributeValues[':from'] === 'CP##'
          ? {
              Items: [
                {
                  pk,
                  sk: `CP##${id}`,
                  parts: [
                    { t: 'json', n: record.byteLength },
                    { t: 'json', n: meta.byteLength },
                  ],
                  data: Buffer.concat([record, meta]),
                  loc: { a: { v: 1, at: id }, b: { v: 1, at: id } },
                },
              ],
            }
          : { Items: [] },
      );
      const value = (channel: string, content: unknown) => ({
        pk,
        sk: `CV##${id}#${channel}`,
        parts: [{ t: 'json', n: json(content).byteLength }],
        data: json(content),
      });
      dynamo
        .on(BatchGetCommand)
        .resolvesOnce({
          Responses: { table: [value('a', 'A')] },
          UnprocessedKeys: { table: { Keys: [{ pk, sk: `CV##${id}#b` }] } },
        })
        .resolvesOnce({ Responses: { table: [value('b', 'B')] } });

      // Act
      const tuple = await saver().getTuple(config);

      // Assess
      expect(tuple?.checkpoint.channel_values).toEqual({ a: 'A', b: 'B' });
      expect(dynamo.commandCalls(BatchGetCommand)).toHaveLength(2);
      expect(dynamo.commandCalls(BatchGetCommand)[1]?.args[0].input.RequestItems?.table?.ConsistentRead).toBe(
        true,
      );
    });
  });

  describe('deleteThread', () => {
    it('writes again the deletes a BatchWriteItem left unprocessed', async () => {
      // Prepare
      const pk = threadKeys.thread('acme', 'thread');
      dynamo
        .on(QueryCommand)
        .resolvesOnce({
          Items: [
            { pk, sk: 'CP##1' },
            { pk, sk: 'CP##2' },
          ],
        })
        .resolves({});
      dynamo
        .on(BatchWriteCommand)
        .resolvesOnce({ UnprocessedItems: { table: [{ DeleteRequest: { Key: { pk, sk: 'CP##1' } } }] } })
        .resolves({});

      // Act
      await saver().deleteThread('thread');

      // Assess: the older checkpoint (twice: once unprocessed), then the newest, then the index entry.
      const deleted = dynamo
        .commandCalls(BatchWriteCommand)
        .map((call) =>
          call.args[0].input.RequestItems?.table?.map((request) => request.DeleteRequest?.Key?.sk),
        );
      expect(deleted).toEqual([['CP##1'], ['CP##1'], ['CP##2'], ['thread']]);
    });
  });
});
