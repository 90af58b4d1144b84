import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConversationStore, type ConversationStoreOptions } from '../../lambda/memory/conversation-store.js';
import { dynamoDbRetries } from '../../lambda/memory/dynamodb-client.js';
import {
  RevisionConflictError,
  UnavailableError,
  VersionConflictError,
  WriteOutcomeUnknownError,
} from '../../lambda/memory/errors.js';
import type { MessageInput } from '../../lambda/memory/message.js';
import { keys } from '../../lambda/memory/table.js';
import { localClientConfig } from '../../local/dynamodb-local.js';
import { createTestTable } from '../support/dynamodb.js';
import { DynamoDbProxy, dynamoDbErrors, type FaultRule } from './dynamodb-proxy.js';
import { lostAnswer, partitionOf } from './fault-rules.js';

type Table = Awaited<ReturnType<typeof createTestTable>>;

const tenant = 't';
const user = (content: string): MessageInput => ({ role: 'user', content });
const texts = (messages: Array<{ content: unknown }>) => messages.map((message) => message.content);
let counter = 0;
const newId = () => `lost-${++counter}`;

describe('ConversationStore when DynamoDB answers are lost', () => {
  let table: Table;
  let proxy: DynamoDbProxy;
  /**
   * Talks to DynamoDB through the proxy, with the SDK's retries as the store ships them (dynamoDbRetries). Each
   * test gets a fresh client, as a fresh process would: the SDK's retry quota is per client, and the faults of
   * one test would otherwise drain it for the next.
   */
  let faulty: ConversationStore;
  /** Talks to DynamoDB directly: the other writer, and the one that reads what is really stored. */
  let direct: ConversationStore;
  let proxiedClients: DynamoDBClient[] = [];
  const storeThroughProxy = (options: Partial<ConversationStoreOptions> = {}) => {
    const client = new DynamoDBClient({ ...localClientConfig(proxy.endpoint), ...dynamoDbRetries });
    proxiedClients.push(client);
    return new ConversationStore({
      client: DynamoDBDocumentClient.from(client),
      tableName: table.tableName,
      backoff: { baseMs: 1, capMs: 20 },
      ...options,
    });
  };
  const stored = async (id: string) => (await direct.load(tenant, id, { limit: 1000 })).messages;
  const partition = (id: string) => keys.partition(tenant, id);

  beforeAll(async () => {
    table = await createTestTable('lost-answers');
    proxy = await DynamoDbProxy.start(table.endpoint);
    direct = new ConversationStore({ client: table.client, tableName: table.tableName });
  });
  beforeEach(() => {
    faulty = storeThroughProxy();
  });
  afterEach(() => {
    proxy.rule = () => 'forward';
    for (const client of proxiedClients) client.destroy();
    proxiedClients = [];
  });
  afterAll(async () => {
    await proxy.stop();
  });

  describe('append without a key', () => {
    it.each(['conflict-once', 'conflict-always', 'as-new'] as const)(
      'stores the batch once and answers it as written when resends meet %s',
      async (resends) => {
        // Prepare
        const id = newId();
        await direct.append(tenant, id, [user('before')]);
        proxy.rule = lostAnswer({ partition: partition(id), resends });

        // Act
        const result = await faulty.append(tenant, id, [user('a'), user('b')]);

        // Assess
        const messages = await stored(id);
        expect(texts(messages)).toEqual(['before', 'a', 'b']);
        expect(result).toMatchObject({ version: 3, replayed: false });
        expect(result.messages).toEqual(messages.slice(1));
      },
    );

    it('recognises its first message at its seq when another writer got in after it', async () => {
      // Prepare
      const id = newId();
      await direct.append(tenant, id, [user('before')]);
      proxy.rule = lostAnswer({
        partition: partition(id),
        resends: 'conflict-always',
        beforeResend: () => direct.append(tenant, id, [user('other')]),
      });

      // Act
      const result = await faulty.append(tenant, id, [user('a')]);

      // Assess
      const messages = await stored(id);
      expect(texts(messages)).toEqual(['before', 'a', 'other']);
      expect(result).toMatchObject({ version: 2, messages: [messages[1]] });
    });
  });

  describe('conditional append', () => {
    it('answers the commit, not a version conflict, when its resend fails the condition it had already moved', async () => {
      // Prepare
      const id = newId();
      await direct.append(tenant, id, [user('before')]);
      proxy.rule = lostAnswer({
        partition: partition(id),
        resends: 'as-new',
        beforeResend: () => direct.append(tenant, id, [user('other')]),
      });

      // Act
      const result = await faulty.append(tenant, id, [user('mine')], { expectedVersion: 1 });

      // Assess
      expect(texts(await stored(id))).toEqual(['before', 'mine', 'other']);
      expect(result).toMatchObject({ version: 2, replayed: false });
    });

    it('still answers a real conflict once its lost send is shown not to have committed', async () => {
      // Prepare: the first send never reaches DynamoDB; another writer moves the version before the resend.
      const id = newId();
      await direct.append(tenant, id, [user('before')]);
      let first = true;
      proxy.rule = async (request) => {
        if (request.operation !== 'TransactWriteItems' || partitionOf(request) !== partition(id))
          return 'forward';
        if (!first) return 'forward';
        first = false;
        await direct.append(tenant, id, [user('other')]);
        return 'drop-request';
      };

      // Act
      const error = await faulty.append(tenant, id, [user('mine')], { expectedVersion: 1 }).catch((e) => e);

      // Assess
      expect(error).toBeInstanceOf(VersionConflictError);
      expect(error.currentVersion).toBe(2);
      expect(texts(await stored(id))).toEqual(['before', 'other']);
    });
  });

  describe('replaceSuffix', () => {
    it('answers an edit that did commit with its result, not a suffix mismatch', async () => {
      // Prepare
      const id = newId();
      await direct.append(tenant, id, [user('a'), user('b')]);
      proxy.rule = lostAnswer({
        partition: partition(id),
        resends: 'conflict-always',
        beforeResend: () => direct.append(tenant, id, [user('after')]),
      });

      // Act
      const result = await faulty.replaceSuffix(tenant, id, {
        expectedSuffix: [user('b')],
        replacement: [user('B')],
      });

      // Assess
      expect(texts(await stored(id))).toEqual(['a', 'B', 'after']);
      expect(result).toMatchObject({ version: 3, replayed: false });
      expect(texts(result.removed)).toEqual(['b']);
      expect(texts(result.messages)).toEqual(['B']);
    });

    it('recognises an edit that only removed by its marker', async () => {
      // Prepare
      const id = newId();
      await direct.append(tenant, id, [user('a'), user('b')]);
      proxy.rule = lostAnswer({
        partition: partition(id),
        resends: 'as-new',
        beforeResend: () => direct.append(tenant, id, [user('after')]),
      });

      // Act
      const result = await faulty.replaceSuffix(tenant, id, { expectedSuffix: [user('b')], replacement: [] });

      // Assess
      expect(texts(await stored(id))).toEqual(['a', 'after']);
      expect(result).toMatchObject({ version: 3, messages: [], replayed: false });
      expect(texts(result.removed)).toEqual(['b']);
    });
  });

  describe('with an idempotency key', () => {
    it('answers its own commit as applied, not as a replay of an earlier request', async () => {
      // Prepare
      const id = newId();
      proxy.rule = lostAnswer({ partition: partition(id), resends: 'conflict-always' });

      // Act
      const result = await faulty.append(tenant, id, [user('once')], { idempotencyKey: 'k' });
      const retried = await faulty.append(tenant, id, [user('once')], { idempotencyKey: 'k' });

      // Assess
      expect(result).toMatchObject({ version: 1, replayed: false });
      expect(retried).toMatchObject({ version: 1, replayed: true, messages: result.messages });
      expect(texts(await stored(id))).toEqual(['once']);
    });
  });

  describe('when the table no longer shows what happened', () => {
    it('answers WriteOutcomeUnknownError, never a conflict, when an edit removed what the attempt wrote', async () => {
      // Prepare: the lost send stored 'mine'; before the resend, someone else removes it.
      const id = newId();
      await direct.append(tenant, id, [user('before')]);
      proxy.rule = lostAnswer({
        partition: partition(id),
        resends: 'conflict-always',
        beforeResend: () =>
          direct.replaceSuffix(tenant, id, { expectedSuffix: [user('mine')], replacement: [] }),
      });

      // Act
      const error = await faulty.append(tenant, id, [user('mine')]).catch((e) => e);

      // Assess: honest about not knowing, and nothing appended twice.
      expect(error).toBeInstanceOf(WriteOutcomeUnknownError);
      expect(error).toBeInstanceOf(UnavailableError);
      expect(texts(await stored(id))).toEqual(['before']);
    });

    it('answers WriteOutcomeUnknownError when DynamoDB fails every send after one that may have landed', async () => {
      // Prepare: the first send is lost on the way, every later one fails with a 500; reads work.
      const id = newId();
      const store = storeThroughProxy({ maxAttempts: 3 });
      let first = true;
      proxy.rule = (request) => {
        if (request.operation !== 'TransactWriteItems') return 'forward';
        if (first) {
          first = false;
          return 'drop-request';
        }
        return { reply: dynamoDbErrors.internalServerError() };
      };

      // Act
      const error = await store.append(tenant, id, [user('maybe')]).catch((e) => e);

      // Assess
      expect(error).toBeInstanceOf(WriteOutcomeUnknownError);
      expect(await stored(id)).toEqual([]);
    });

    it('answers plain Unavailable when DynamoDB refused every send outright: nothing can have been written', async () => {
      const id = newId();
      const store = storeThroughProxy({ maxAttempts: 2 });
      proxy.rule = (request) =>
        request.operation === 'TransactWriteItems' ? { reply: dynamoDbErrors.throttling() } : 'forward';

      const error = await store.append(tenant, id, [user('never')]).catch((e) => e);

      expect(error).toBeInstanceOf(UnavailableError);
      expect(error).not.toBeInstanceOf(WriteOutcomeUnknownError);
      expect(await stored(id)).toEqual([]);
    });
  });

  describe('patchConversation', () => {
    /** The head's title, metadata and revision, as stored. */
    const details = async (id: string) => {
      const info = await direct.getConversation(tenant, id);
      return { title: info?.title, metadata: info?.metadata, revision: info?.revision };
    };

    it.each(['conflict-once', 'conflict-always', 'as-new'] as const)(
      'applies a PATCH once and answers it as applied when resends meet %s',
      async (resends) => {
        // Prepare
        const id = newId();
        await direct.append(tenant, id, [user('hi')]);
        await direct.patchConversation(tenant, id, { metadata: { count: 1 } });
        proxy.rule = lostAnswer({ partition: partition(id), resends });

        // Act
        const result = await faulty.patchConversation(tenant, id, { title: 'Mine', metadata: { count: 2 } });

        // Assess
        expect(result).toMatchObject({ title: 'Mine', metadata: { count: 2 }, revision: 2, replayed: false });
        expect(await details(id)).toEqual({ title: 'Mine', metadata: { count: 2 }, revision: 2 });
      },
    );

    it('answers its own commit as applied, with a key, when another PATCH got in before its resend', async () => {
      // Prepare
      const id = newId();
      await direct.append(tenant, id, [user('hi')]);
      proxy.rule = lostAnswer({
        partition: partition(id),
        resends: 'conflict-always',
        beforeResend: () => direct.patchConversation(tenant, id, { metadata: { theirs: true } }),
      });

      // Act
      const result = await faulty.patchConversation(
        tenant,
        id,
        { title: 'Mine' },
        { idempotencyKey: 'patch-key' },
      );

      // Assess: applied once, answered as applied (not a replay), theirs on top of it
      expect(result).toMatchObject({ title: 'Mine', revision: 1, replayed: false });
      expect(await details(id)).toEqual({ title: 'Mine', metadata: { theirs: true }, revision: 2 });
    });

    it('answers WriteOutcomeUnknownError without a key when another PATCH got in before its resend', async () => {
      // Prepare
      const id = newId();
      await direct.append(tenant, id, [user('hi')]);
      proxy.rule = lostAnswer({
        partition: partition(id),
        resends: 'conflict-always',
        beforeResend: () => direct.patchConversation(tenant, id, { title: 'Theirs' }),
      });

      // Act
      const error = await faulty.patchConversation(tenant, id, { metadata: { mine: 1 } }).catch((e) => e);

      // Assess: honest about not knowing; applied once (under theirs), never twice
      expect(error).toBeInstanceOf(WriteOutcomeUnknownError);
      expect(await details(id)).toEqual({ title: 'Theirs', metadata: { mine: 1 }, revision: 2 });
    });

    it('still answers a real revision conflict once its lost send is shown not to have committed', async () => {
      // Prepare: the first send never reaches DynamoDB; another PATCH moves the revision meanwhile
      const id = newId();
      await direct.append(tenant, id, [user('hi')]);
      let dropped = false;
      proxy.rule = async (request) => {
        if (request.operation !== 'TransactWriteItems' || dropped) return 'forward';
        dropped = true;
        await direct.patchConversation(tenant, id, { title: 'Theirs' });
        return 'drop-request';
      };

      // Act
      const error = await faulty
        .patchConversation(tenant, id, { title: 'Mine' }, { expectedRevision: 0 })
        .catch((e) => e);

      // Assess
      expect(error).toBeInstanceOf(RevisionConflictError);
      expect(error).toMatchObject({ currentRevision: 1 });
      expect(await details(id)).toEqual({ title: 'Theirs', metadata: undefined, revision: 1 });
    });

    it('settles a PATCH whose every send failed after the first committed, from its op on the head', async () => {
      // Prepare
      const id = newId();
      await direct.append(tenant, id, [user('hi')]);
      proxy.rule = (request) =>
        request.operation === 'TransactWriteItems'
          ? { reply: dynamoDbErrors.internalServerError(), afterForwarding: true }
          : 'forward';

      // Act
      const result = await faulty.patchConversation(tenant, id, { title: 'Once' });

      // Assess
      expect(result).toMatchObject({ title: 'Once', revision: 1, replayed: false });
      expect(await details(id)).toEqual({ title: 'Once', metadata: undefined, revision: 1 });
    });

    it('sends a PATCH cancelled for contention again and applies it once', async () => {
      // Prepare: DynamoDB cancels the first two transactions (TransactionConflict), without applying them.
      const id = newId();
      await direct.append(tenant, id, [user('hi')]);
      let cancelled = 0;
      proxy.rule = (request) => {
        if (request.operation !== 'TransactWriteItems' || cancelled >= 2) return 'forward';
        cancelled++;
        return { reply: dynamoDbErrors.transactionConflict(request) };
      };

      // Act
      const result = await faulty.patchConversation(tenant, id, { metadata: { tags: ['a'] } });

      // Assess
      expect(cancelled).toBe(2);
      expect(result).toMatchObject({ metadata: { tags: ['a'] }, revision: 1, replayed: false });
      expect(await details(id)).toEqual({ title: undefined, metadata: { tags: ['a'] }, revision: 1 });
    });

    it('answers plain Unavailable, changing nothing, when DynamoDB throttles every send', async () => {
      // Prepare
      const id = newId();
      await direct.append(tenant, id, [user('hi')]);
      const store = storeThroughProxy({ maxAttempts: 2 });
      proxy.rule = (request) =>
        request.operation === 'TransactWriteItems' ? { reply: dynamoDbErrors.throttling() } : 'forward';

      // Act
      const error = await store.patchConversation(tenant, id, { title: 'Never' }).catch((e) => e);

      // Assess
      expect(error).toBeInstanceOf(UnavailableError);
      expect(error).not.toBeInstanceOf(WriteOutcomeUnknownError);
      expect(await details(id)).toEqual({ title: undefined, metadata: undefined, revision: 0 });
    });
  });

  describe('retries, owned by one layer each', () => {
    const sent = () => [...proxy.requests.values()].reduce((sum, count) => sum + count, 0);

    it('leaves resending a failing call to the SDK: 4 sends of a read, then 503, and nothing written', async () => {
      // Prepare
      const id = newId();
      const before = sent();
      proxy.rule = () => ({ reply: dynamoDbErrors.internalServerError() });

      // Act
      const error = await faulty.append(tenant, id, [user('never')]).catch((e) => e);

      // Assess: the head read, sent 4 times by the SDK (dynamoDbRetries) and never again by the store.
      expect(error).toBeInstanceOf(UnavailableError);
      expect(sent() - before).toBe(dynamoDbRetries.maxAttempts);
      expect(await stored(id)).toEqual([]);
    });

    it('settles a transaction whose every send failed after the first committed, without sending it again', async () => {
      // Prepare
      const id = newId();
      await direct.append(tenant, id, [user('before')]);
      const before = sent();
      proxy.rule = (request) =>
        request.operation === 'TransactWriteItems'
          ? { reply: dynamoDbErrors.internalServerError(), afterForwarding: true }
          : 'forward';

      // Act
      const result = await faulty.append(tenant, id, [user('once')]);

      // Assess: the head read, the SDK's 4 sends of the one transaction, one read of the head to settle it.
      expect(result).toMatchObject({ version: 2, replayed: false });
      expect(sent() - before).toBe(1 + dynamoDbRetries.maxAttempts + 1);
      expect(texts(await stored(id))).toEqual(['before', 'once']);
    });

    it('sends a transaction cancelled for contention again within the store budget only', async () => {
      // Prepare
      const id = newId();
      const store = storeThroughProxy({ maxAttempts: 3 });
      const before = sent();
      proxy.rule = (request) =>
        request.operation === 'TransactWriteItems'
          ? { reply: dynamoDbErrors.transactionConflict(request) }
          : 'forward';

      // Act
      const error = await store.append(tenant, id, [user('never')]).catch((e) => e);

      // Assess: the head read, then 3 transactions (a cancellation is DynamoDB's answer: the SDK sends it once).
      expect(error).toBeInstanceOf(UnavailableError);
      expect(sent() - before).toBe(1 + 3);
      expect(await stored(id)).toEqual([]);
    });
  });

  describe('deleteConversation', () => {
    it('finishes a delete whose every answer was lost once, leaving nothing behind', async () => {
      // Prepare: the tombstone, each cleanup transaction and the head's removal are applied, then unanswered.
      const id = newId();
      await direct.append(tenant, id, [user('a'), user('b')], { idempotencyKey: 'k' });
      await direct.replaceSuffix(tenant, id, { expectedSuffix: [user('b')], replacement: [] });
      const lost = new Set<string>();
      proxy.rule = (request) => {
        if (request.operation !== 'UpdateItem' && request.operation !== 'TransactWriteItems')
          return 'forward';
        const sent = JSON.stringify(request.body);
        if (lost.has(sent)) return 'forward';
        lost.add(sent);
        return 'drop-answer';
      };

      // Act
      await faulty.deleteConversation(tenant, id);

      // Assess
      const items = await table.client.send(
        new QueryCommand({
          TableName: table.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': partition(id) },
          ConsistentRead: true,
        }),
      );
      expect(lost.size).toBeGreaterThanOrEqual(3);
      expect(items.Items).toEqual([]);
      expect(await direct.getConversation(tenant, id)).toBeUndefined();
    });
  });

  it('absorbs throttling, 500s, lost answers and delays on every kind of call, storing each batch once', async () => {
    // Prepare: a fixed pattern of faults over every request, reads included.
    const id = newId();
    const pattern: FaultRule[] = [
      () => 'forward',
      () => ({ reply: dynamoDbErrors.throttling() }),
      () => 'drop-answer',
      () => ({ reply: dynamoDbErrors.internalServerError() }),
      () => ({ delayMs: 30 }),
      () => ({ reply: dynamoDbErrors.internalServerError(), afterForwarding: true }),
      () => 'drop-request',
      (request) =>
        request.operation === 'TransactWriteItems'
          ? { reply: dynamoDbErrors.transactionConflict(request) }
          : 'forward',
      () => 'drop-answer',
    ];
    proxy.rule = (request) => (pattern[request.sequence % pattern.length] as FaultRule)(request);
    const batches = Array.from({ length: 8 }, (_, i) => [user(`m${i}.0`), user(`m${i}.1`)]);

    // Act
    for (const batch of batches) await faulty.append(tenant, id, batch);
    const loaded = await faulty.load(tenant, id, { limit: 100 });

    // Assess
    expect(texts(loaded.messages)).toEqual(batches.flat().map((message) => message.content));
    expect(texts(await stored(id))).toEqual(texts(loaded.messages));
    expect(proxy.faultCount()).toBeGreaterThan(8);
  });

  it('keeps the happy path at one Query and one TransactWriteItems per turn, with the op id on the head', async () => {
    // Prepare
    const id = newId();
    await direct.append(tenant, id, [user('a')]);
    const before = new Map(proxy.requests);

    // Act
    const page = await faulty.load(tenant, id, { limit: 10 });
    await faulty.append(tenant, id, [user('q'), { role: 'assistant', content: 'r' }], {
      expectedVersion: page.version,
    });

    // Assess
    const sent = [...proxy.requests].filter(([operation, count]) => count !== (before.get(operation) ?? 0));
    expect(
      Object.fromEntries(sent.map(([operation, count]) => [operation, count - (before.get(operation) ?? 0)])),
    ).toEqual({ Query: 1, TransactWriteItems: 1 });
    const head = await table.client.send(
      new QueryCommand({
        TableName: table.tableName,
        KeyConditionExpression: 'pk = :pk AND sk = :head',
        ExpressionAttributeValues: { ':pk': partition(id), ':head': keys.head },
        ConsistentRead: true,
      }),
    );
    expect(head.Items?.[0]?.op).toEqual(expect.any(String));
  });
});
