import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConversationStore, type ConversationStoreOptions } from '../../lambda/memory/conversation-store.js';
import { dynamoDbRetries } from '../../lambda/memory/dynamodb-client.js';
import { WriteOutcomeUnknownError } from '../../lambda/memory/errors.js';
import type { MessageInput } from '../../lambda/memory/message.js';
import { keys } from '../../lambda/memory/table.js';
import { compactConversation } from '../../lambda/summaries/compaction.js';
import { OfflineSummarizer } from '../../lambda/summaries/offline-summarizer.js';
import type { Summarizer } from '../../lambda/summaries/summarizer.js';
import { localClientConfig } from '../../local/dynamodb-local.js';
import { createTestTable } from '../support/dynamodb.js';
import { DynamoDbProxy, dynamoDbErrors, type FaultRule } from './dynamodb-proxy.js';
import { lostAnswer, partitionOf } from './fault-rules.js';

type Table = Awaited<ReturnType<typeof createTestTable>>;

const tenant = 't';
const policy = { maxMessages: 20, maxTokens: 8000 };
const fact = 'My name is Ada Lovelace.';
let counter = 0;
const newId = () => `summary-lost-${++counter}`;

/** `count` messages, user and assistant in turn, from seq `from`; the user's message at seq 3 states the fact. */
const conversation = (count: number, from = 1): MessageInput[] =>
  Array.from({ length: count }, (_, i) => {
    const seq = from + i;
    return seq % 2 === 1
      ? { role: 'user', content: seq === 3 ? fact : `Note ${seq}.` }
      : { role: 'assistant', content: `Reply ${seq}.` };
  });

/**
 * Storing a summary is a write like an append: when DynamoDB's answer to it is lost, its resends and the read that
 * settles it must leave exactly one summary item, whole, and the compaction must report what happened.
 */
describe('summaries when DynamoDB answers are lost', () => {
  let table: Table;
  let proxy: DynamoDbProxy;
  let direct: ConversationStore;
  let clients: DynamoDBClient[] = [];
  const storeThroughProxy = (options: Partial<ConversationStoreOptions> = {}) => {
    const client = new DynamoDBClient({ ...localClientConfig(proxy.endpoint), ...dynamoDbRetries });
    clients.push(client);
    return new ConversationStore({
      client: DynamoDBDocumentClient.from(client),
      tableName: table.tableName,
      backoff: { baseMs: 1, capMs: 20 },
      ...options,
    });
  };
  const compact = (store: ConversationStore, id: string, summarizer: Summarizer = new OfflineSummarizer()) =>
    compactConversation({ store, summarizer, tenant, conversationId: id, settings: { policy } });
  const summaryItems = async (id: string) =>
    (
      await table.client.send(
        new QueryCommand({
          TableName: table.tableName,
          KeyConditionExpression: 'pk = :pk AND sk = :sk',
          ExpressionAttributeValues: { ':pk': keys.partition(tenant, id), ':sk': keys.summary },
          ConsistentRead: true,
        }),
      )
    ).Items ?? [];
  /** Sends of summary transactions the current rule saw (resends included). */
  let summarySends = 0;
  /** Only the summary's transactions (their second item puts the summary), on one partition. */
  const onSummaryWrites = (id: string, rule: FaultRule): FaultRule => {
    summarySends = 0;
    return (request) => {
      const isSummaryWrite =
        request.operation === 'TransactWriteItems' &&
        partitionOf(request) === keys.partition(tenant, id) &&
        request.body?.TransactItems?.[1]?.Put?.Item?.sk?.S === keys.summary;
      if (!isSummaryWrite) return 'forward';
      summarySends++;
      return rule(request);
    };
  };

  beforeAll(async () => {
    table = await createTestTable('summary-lost-answers');
    proxy = await DynamoDbProxy.start(table.endpoint);
    direct = new ConversationStore({ client: table.client, tableName: table.tableName });
  });
  afterEach(() => {
    proxy.rule = () => 'forward';
    for (const client of clients) client.destroy();
    clients = [];
  });
  afterAll(async () => {
    await proxy.stop();
  });

  it.each(['conflict-once', 'conflict-always', 'as-new'] as const)(
    'stores one summary and reports it stored when its answer is lost and resends meet %s',
    async (resends) => {
      // Prepare: 40 messages and an earlier summary (through 30), so the lost write replaces an item.
      const id = newId();
      await direct.append(tenant, id, conversation(40));
      await compact(direct, id);
      await direct.append(tenant, id, conversation(10, 41));
      proxy.rule = onSummaryWrites(id, lostAnswer({ partition: keys.partition(tenant, id), resends }));

      // Act
      const result = await compact(storeThroughProxy(), id);

      // Assess: the answer was lost and the write sent again; reported as stored, once; one item, whole.
      expect(summarySends).toBeGreaterThanOrEqual(2);
      expect(result).toMatchObject({ status: 'compacted', stored: 1, modelCalls: 1, complete: true });
      const items = await summaryItems(id);
      expect(items).toHaveLength(1);
      expect(items[0]).toMatchObject({ fromSeq: 1, throughSeq: 40, messageCount: 40, basedOn: 30 });
      expect(items[0]?.text).toContain(fact);
      if (result.status === 'compacted') expect(result.summary.createdAt).toBe(items[0]?.createdAt);
      const context = await direct.loadContext(tenant, id, { limit: 20 });
      expect(context.summary?.throughSeq).toBe(40);
      expect(context.messages.map((message) => message.seq)).toEqual(
        Array.from({ length: 10 }, (_, i) => 41 + i),
      );
    },
  );

  it('settles from the summary item when every send after one that landed failed', async () => {
    // Prepare: the first send commits and its answer is lost; every resend is answered 500.
    const id = newId();
    await direct.append(tenant, id, conversation(40));
    let first = true;
    proxy.rule = onSummaryWrites(id, () => {
      if (!first) return { reply: dynamoDbErrors.internalServerError() };
      first = false;
      return 'drop-answer';
    });

    // Act
    const result = await compact(storeThroughProxy(), id);

    // Assess: the SDK's 4 sends, then settled by one read.
    expect(summarySends).toBe(dynamoDbRetries.maxAttempts);
    expect(result).toMatchObject({ status: 'compacted', stored: 1 });
    const items = await summaryItems(id);
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ fromSeq: 1, throughSeq: 30 });
  });

  it('answers WriteOutcomeUnknownError, and stores nothing twice, when no send is known to have landed', async () => {
    // Prepare: the first send is lost on the way (never applied), every resend is answered 500.
    const id = newId();
    await direct.append(tenant, id, conversation(40));
    let first = true;
    proxy.rule = onSummaryWrites(id, () => {
      if (!first) return { reply: dynamoDbErrors.internalServerError() };
      first = false;
      return 'drop-request';
    });

    // Act
    const error = await compact(storeThroughProxy(), id).catch((caught: unknown) => caught);

    // Assess: honest about not knowing; nothing stored; the next compaction stores the summary once.
    expect(error).toBeInstanceOf(WriteOutcomeUnknownError);
    expect(await summaryItems(id)).toEqual([]);
    proxy.rule = () => 'forward';
    expect(await compact(direct, id)).toMatchObject({ status: 'compacted', stored: 1 });
    expect(await summaryItems(id)).toHaveLength(1);
  });

  it('leaves the whole summary of the chunks it stored when the compactor dies in the middle; the next goes on', async () => {
    // Prepare: a backlog of 300 messages takes two model calls (200 messages, then 90); the model dies in the
    // second, as a process killed mid-compaction would stop.
    const id = newId();
    await direct.append(tenant, id, conversation(50));
    for (let from = 51; from <= 300; from += 50) await direct.append(tenant, id, conversation(50, from));
    const offline = new OfflineSummarizer();
    let calls = 0;
    const dying: Summarizer = {
      modelId: 'offline',
      async summarize(request) {
        calls++;
        if (calls === 2) throw new Error('killed');
        return offline.summarize(request);
      },
    };

    // Act
    const error = await compact(direct, id, dying).catch((caught: unknown) => caught);
    const afterDeath = await summaryItems(id);
    const resumed = await compact(direct, id);

    // Assess: the first chunk's summary stood whole (through 200); the next compaction folded the rest into it.
    expect(error).toBeInstanceOf(Error);
    expect(afterDeath).toHaveLength(1);
    expect(afterDeath[0]).toMatchObject({ fromSeq: 1, throughSeq: 200, messageCount: 200, basedOn: 0 });
    expect(resumed).toMatchObject({ status: 'compacted', stored: 1, modelCalls: 1 });
    const items = await summaryItems(id);
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ fromSeq: 1, throughSeq: 290, messageCount: 290, basedOn: 200 });
    expect(items[0]?.text).toContain(fact);
  });

  it('answers an edit that deleted the summary with its result when its answer was lost', async () => {
    // Prepare: a summary through 30; the edit removes the newest 15 messages (26-40), some of which it covers.
    const id = newId();
    await direct.append(tenant, id, conversation(40));
    await compact(direct, id);
    const suffix = (await direct.load(tenant, id, { limit: 15 })).messages;
    proxy.rule = lostAnswer({ partition: keys.partition(tenant, id), resends: 'as-new' });

    // Act
    const result = await storeThroughProxy().replaceSuffix(tenant, id, {
      expectedSuffix: suffix.map(({ role, content }) => ({ role, content }) as MessageInput),
      replacement: [],
    });

    // Assess: applied once, reported as applied; the summary gone with the messages it covered.
    expect(result).toMatchObject({ version: 41, replayed: false });
    expect(result.removed.map((message) => message.seq)).toEqual(suffix.map((message) => message.seq));
    expect(await summaryItems(id)).toEqual([]);
    expect((await direct.load(tenant, id, { limit: 100 })).messages).toHaveLength(25);
  });
});
