import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ChatModel, ChatRequest } from '../../lambda/agent/chat-model.js';
import { OfflineModel } from '../../lambda/agent/offline-model.js';
import { runTurn } from '../../lambda/agent/run-turn.js';
import { ConversationStore, type ConversationStoreOptions } from '../../lambda/memory/conversation-store.js';
import type { MessageInput, StoredMessage } from '../../lambda/memory/message.js';
import { keys } from '../../lambda/memory/table.js';
import { compactConversation } from '../../lambda/summaries/compaction.js';
import { OfflineSummarizer } from '../../lambda/summaries/offline-summarizer.js';
import type { Summarizer, SummaryRequest } from '../../lambda/summaries/summarizer.js';
import { localClientConfig } from '../../local/dynamodb-local.js';
import { createTestTable } from '../support/dynamodb.js';

type Table = Awaited<ReturnType<typeof createTestTable>>;

const tenant = 't';
const policy = { maxMessages: 20, maxTokens: 8000 };
const fact = 'My name is Ada Lovelace and my cat is called Euclid.';
const user = (content: string): MessageInput => ({ role: 'user', content });
const assistant = (content: string): MessageInput => ({ role: 'assistant', content });
let counter = 0;
const newId = () => `summary-${++counter}`;

/** `count` messages, user and assistant in turn; the user's third message states the fact. */
function conversation(count: number): MessageInput[] {
  return Array.from({ length: count }, (_, i) =>
    i % 2 === 0
      ? user(i === 2 ? fact : `Note ${i + 1}: the weather was fine.`)
      : assistant(`Reply ${i + 1}.`),
  );
}

async function fill(store: ConversationStore, id: string, messages: readonly MessageInput[]) {
  for (let start = 0; start < messages.length; start += 50) {
    await store.append(tenant, id, messages.slice(start, start + 50));
  }
}

/** A summarizer that waits until `release` before answering: lets two compactions read the same state. */
function gatedSummarizer() {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const offline = new OfflineSummarizer();
  let calls = 0;
  const summarizer: Summarizer = {
    modelId: 'gated',
    async summarize(request: SummaryRequest) {
      calls++;
      await gate;
      return offline.summarize(request);
    },
  };
  return { summarizer, release, calls: () => calls };
}

describe('summaries on DynamoDB Local', () => {
  let table: Table;
  let store: ConversationStore;
  const makeStore = (options: Partial<ConversationStoreOptions> = {}) =>
    new ConversationStore({ client: table.client, tableName: table.tableName, ...options });
  const compact = (id: string, summarizer: Summarizer = new OfflineSummarizer()) =>
    compactConversation({ store, summarizer, tenant, conversationId: id, settings: { policy } });
  const everything = async (id: string): Promise<StoredMessage[]> =>
    (await store.load(tenant, id, { limit: 1000 })).messages;
  const summaryItems = async (id: string) => {
    const output = await table.client.send(
      new QueryCommand({
        TableName: table.tableName,
        KeyConditionExpression: 'pk = :pk AND sk = :sk',
        ExpressionAttributeValues: { ':pk': keys.partition(tenant, id), ':sk': keys.summary },
        ConsistentRead: true,
      }),
    );
    return output.Items ?? [];
  };
  const head = async (id: string) =>
    (
      await table.client.send(
        new GetCommand({
          TableName: table.tableName,
          Key: { pk: keys.partition(tenant, id), sk: keys.head },
          ConsistentRead: true,
        }),
      )
    ).Item;

  beforeAll(async () => {
    table = await createTestTable('summaries');
    store = makeStore();
  });

  it('summarizes all but the newest half window, keeps the fact of message 3, and changes no message', async () => {
    // Prepare
    const id = newId();
    await fill(store, id, conversation(300));
    const before = await everything(id);

    // Act
    const result = await compact(id);

    // Assess: a summary through the message before the newest 10 (folded in two steps: 200 messages, then 90),
    // with the fact...
    expect(result).toMatchObject({ status: 'compacted', stored: 2, modelCalls: 2, complete: true });
    const context = await store.loadContext(tenant, id, { limit: 20 });
    expect(context.summary).toMatchObject({ fromSeq: 1, throughSeq: 290, messageCount: 290, basedOn: 200 });
    expect(context.summary?.text).toContain(`- [3] ${fact}`);
    // ...next to the messages after it, in the same read...
    expect(context.messages.map((message) => message.seq)).toEqual(
      Array.from({ length: 10 }, (_, i) => 291 + i),
    );
    expect(context).toMatchObject({ version: 300, messageCount: 300 });
    // ...and every stored message as it was.
    expect(await everything(id)).toEqual(before);
  });

  it('gives a turn the summary and the messages after it, from one Query, and reports what they cover', async () => {
    // Prepare
    const id = newId();
    await fill(store, id, conversation(299));
    await compact(id);
    const requests: ChatRequest[] = [];
    const offline = new OfflineModel();
    const model: ChatModel = {
      modelId: 'offline',
      reply: (request) => {
        requests.push(request);
        return offline.reply(request);
      },
    };

    // Act
    const result = await runTurn({
      store,
      model,
      tenant,
      conversationId: id,
      message: 'What is my name?',
      policy,
    });

    // Assess: the model got the summary (with the fact) and the 10 messages after it; nothing left out.
    const [request] = requests;
    expect(request?.summary).toMatchObject({ fromSeq: 1, throughSeq: 289, messageCount: 289 });
    expect(request?.summary?.text).toContain(fact);
    expect(request?.history.map((message) => message.seq)).toEqual(
      Array.from({ length: 10 }, (_, i) => 290 + i),
    );
    expect(result.context).toEqual({
      messages: 10,
      summary: { fromSeq: 1, throughSeq: 289, messageCount: 289 },
      omitted: 0,
    });
    expect(result.reply.metadata?.context).toEqual(result.context);
    expect(result.reply.content).toContain('summary of messages 1-289');
    expect(result.reply.content).toContain('Ada Lovelace');
  });

  it('reports the messages a turn left out when there is no summary', async () => {
    // Prepare
    const id = newId();
    await fill(store, id, conversation(45));

    // Act
    const result = await runTurn({
      store,
      model: new OfflineModel(),
      tenant,
      conversationId: id,
      message: 'Hello again.',
      policy,
    });

    // Assess
    expect(result.context).toEqual({ messages: 20, summary: null, omitted: 25 });
  });

  it('is not due while the messages after the summary fit in half a window', async () => {
    // Prepare
    const id = newId();
    await fill(store, id, conversation(10));

    // Act
    const result = await compact(id);

    // Assess
    expect(result).toEqual({ status: 'not due' });
    expect(await summaryItems(id)).toEqual([]);
  });

  it('folds the previous summary into the next one as the conversation grows', async () => {
    // Prepare
    const id = newId();
    await fill(store, id, conversation(40));
    await compact(id);
    await fill(store, id, [user('I moved to Porto last week.'), ...conversation(19)]);

    // Act
    const result = await compact(id);

    // Assess
    expect(result).toMatchObject({ status: 'compacted', stored: 1, modelCalls: 1 });
    const { summary } = await store.loadContext(tenant, id, { limit: 0 });
    expect(summary).toMatchObject({ fromSeq: 1, throughSeq: 50, messageCount: 50, basedOn: 30 });
    expect(summary?.text).toContain(`- [3] ${fact}`);
    expect(summary?.text).toContain('- [41] I moved to Porto last week.');
  });

  it('stores one summary when two compactions of the same state race, and the loser leaves nothing', async () => {
    // Prepare: both read the same state and hold their summary until both have one.
    const id = newId();
    await fill(store, id, conversation(60));
    const one = gatedSummarizer();
    const two = gatedSummarizer();

    // Act
    const racing = Promise.all([compact(id, one.summarizer), compact(id, two.summarizer)]);
    while (one.calls() === 0 || two.calls() === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    one.release();
    two.release();
    const results = await racing;

    // Assess: one stored, one lost the race; one summary item, whole.
    expect(results.map((result) => result.status).sort()).toEqual(['compacted', 'lost']);
    expect(results.find((result) => result.status === 'lost')).toEqual({
      status: 'lost',
      reason: 'superseded',
      stored: 0,
    });
    const items = await summaryItems(id);
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ throughSeq: 50, messageCount: 50, model: 'gated' });
    expect(items[0]?.text).toContain(fact);
  });

  it('keeps the summary through an edit of messages it does not cover, without a model call', async () => {
    // Prepare
    const id = newId();
    await fill(store, id, conversation(40));
    await compact(id);
    const messages = await everything(id);
    const last = messages.at(-1) as StoredMessage;
    const [before] = await summaryItems(id);

    // Act: an edit of the newest message, which the summary does not cover.
    await store.replaceSuffix(tenant, id, {
      expectedSuffix: [{ role: last.role, content: last.content }],
      replacement: [assistant('Reply 40, edited.')],
    });
    const context = await store.loadContext(tenant, id, { limit: 20 });
    const counting: Summarizer & { calls: number } = {
      modelId: 'offline',
      calls: 0,
      summarize(request) {
        this.calls++;
        return new OfflineSummarizer().summarize(request);
      },
    };
    const result = await compact(id, counting);

    // Assess: the same item, still used, nothing to do.
    expect(context.summary?.throughSeq).toBe(30);
    expect(context.messages.map((message) => message.seq)).toEqual([
      ...Array.from({ length: 9 }, (_, i) => 31 + i),
      41,
    ]);
    expect(await summaryItems(id)).toEqual([before]);
    expect(result).toMatchObject({ status: 'not due', summary: { throughSeq: 30 } });
    expect(counting.calls).toBe(0);
    expect((await head(id))?.summaryDue).toBeUndefined();
  });

  it('deletes the summary in the edit that removes messages it covers, even one stored after the edit read', async () => {
    // Prepare: a summary through 30. The edit's store sends its transaction only after a compaction has stored a
    // newer summary (through 40, after 10 more messages) than the one the edit read.
    const id = newId();
    await fill(store, id, conversation(40));
    await compact(id);
    await fill(store, id, conversation(10));
    let compacted: Promise<unknown> | undefined;
    const editingClient = DynamoDBDocumentClient.from(new DynamoDBClient(localClientConfig(table.endpoint)), {
      marshallOptions: { removeUndefinedValues: true },
    });
    const editing = makeStore({ client: editingClient });
    editingClient.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'TransactWriteItemsCommand' && compacted === undefined) {
          compacted = compact(id);
          await compacted;
        }
        return next(args);
      },
      { step: 'initialize', name: 'compactFirst' },
    );
    const suffix = (await everything(id)).slice(-15);

    // Act: removes 36-50; the summary through 40 covers 36-40.
    const result = await editing.replaceSuffix(tenant, id, {
      expectedSuffix: suffix.map(({ role, content }) => ({ role, content }) as MessageInput),
      replacement: [],
    });

    // Assess: the compaction stored its summary through 40 first; the edit read again and deleted it.
    expect(await compacted).toMatchObject({ status: 'compacted', summary: { throughSeq: 40 } });
    expect(result.removed.map((message) => message.seq)).toEqual(suffix.map((message) => message.seq));
    expect(await summaryItems(id)).toEqual([]);
    expect((await store.loadContext(tenant, id, { limit: 20 })).summary).toBeUndefined();
    expect((await head(id))?.summaryDue).toBe(true);
  });

  it('makes a new summary, without the removed messages, when an edit removed messages it covered', async () => {
    // Prepare: a summary through 30; then an edit removes the newest 15 messages (26-40).
    const id = newId();
    await fill(store, id, [...conversation(26), user('I am allergic to peanuts.'), ...conversation(13)]);
    await compact(id);
    const before = await store.loadContext(tenant, id, { limit: 0 });
    const suffix = (await everything(id)).slice(-15);

    // Act
    await store.replaceSuffix(tenant, id, {
      expectedSuffix: suffix.map(({ role, content }) => ({ role, content }) as MessageInput),
      replacement: [],
    });
    await fill(store, id, conversation(30));
    const result = await compact(id);

    // Assess: the old summary had the statement; the new one, made from scratch, does not.
    expect(before.summary?.text).toContain('- [27] I am allergic to peanuts.');
    expect(result.status).toBe('compacted');
    const { summary } = await store.loadContext(tenant, id, { limit: 0 });
    expect(summary).toMatchObject({ fromSeq: 1, basedOn: 0 });
    expect(summary?.text).not.toContain('peanuts');
    expect(summary?.text).toContain(fact);
  });

  it('removes the summary with the conversation, and a compaction after the delete stores nothing', async () => {
    // Prepare
    const id = newId();
    await fill(store, id, conversation(40));
    await compact(id);
    const gated = gatedSummarizer();
    await fill(store, id, conversation(20));
    const late = compact(id, gated.summarizer);
    while (gated.calls() === 0) await new Promise((resolve) => setTimeout(resolve, 5));

    // Act: deleted while the compaction's model call runs.
    await store.deleteConversation(tenant, id);
    gated.release();
    const result = await late;

    // Assess
    expect(result).toEqual({ status: 'lost', reason: 'stale', stored: 0 });
    expect(await summaryItems(id)).toEqual([]);
    expect(await head(id)).toBeUndefined();
  });

  it('gives summaries the retention of every item, and ignores one that expired', async () => {
    // Prepare
    const id = newId();
    let now = Date.parse('2026-01-01T00:00:00Z');
    const expiring = makeStore({ ttlSeconds: 3600, now: () => now });
    await fill(expiring, id, conversation(40));
    await compactConversation({
      store: expiring,
      summarizer: new OfflineSummarizer(),
      tenant,
      conversationId: id,
      settings: { policy },
    });
    const [item] = await summaryItems(id);

    // Act: the conversation lives on (a write), the summary expires.
    now += 3000_000;
    await expiring.append(tenant, id, [user('still here')]);
    now += 700_000;
    const context = await expiring.loadContext(tenant, id, { limit: 5 });

    // Assess
    expect(item?.expiresAt).toBe(Date.parse('2026-01-01T00:00:00Z') / 1000 + 3600);
    expect(context.version).toBe(41);
    expect(context.summary).toBeUndefined();
  });

  it('marks the head summaryDue on a write that crosses a multiple of 10 or removes the summary, and only then', async () => {
    // Prepare
    const id = newId();
    const marks: Array<boolean | undefined> = [];
    const mark = async () => marks.push((await head(id))?.summaryDue);

    // Act
    await store.append(tenant, id, conversation(8));
    await mark(); // 8
    await store.append(tenant, id, conversation(3));
    await mark(); // 11: crossed 10
    await store.append(tenant, id, conversation(2));
    await mark(); // 13
    await store.append(tenant, id, conversation(27));
    await mark(); // 40: crossed 20 and 30 and 40
    await store.replaceSuffix(tenant, id, {
      expectedSuffix: [conversation(27).at(-1) as MessageInput],
      replacement: [],
    });
    await mark(); // 41: removed one, no summary to remove
    await compact(id);
    const newest = (await everything(id)).slice(-12);
    await store.replaceSuffix(tenant, id, {
      expectedSuffix: newest.map(({ role, content }) => ({ role, content }) as MessageInput),
      replacement: [],
    });
    await mark(); // 42: removed messages the summary covered, and the summary

    // Assess
    expect(marks).toEqual([undefined, true, undefined, true, undefined, true]);
  });
});
