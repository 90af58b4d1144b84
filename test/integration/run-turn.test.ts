import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ChatModel, ChatRequest } from '../../lambda/agent/chat-model.js';
import { ModelError, ModelTimeoutError } from '../../lambda/agent/model-errors.js';
import { OfflineModel } from '../../lambda/agent/offline-model.js';
import { type RunTurnInput, runTurn } from '../../lambda/agent/run-turn.js';
import { streamTurn, type TurnEvent } from '../../lambda/agent/turn-events.js';
import { ConversationStore } from '../../lambda/memory/conversation-store.js';
import {
  IdempotencyKeyReusedError,
  InvalidRequestError,
  NoPendingToolCallsError,
  ToolResultsMismatchError,
  VersionConflictError,
} from '../../lambda/memory/errors.js';
import type { MessageInput } from '../../lambda/memory/message.js';
import { keys } from '../../lambda/memory/table.js';
import { createTestTable } from '../support/dynamodb.js';

type Table = Awaited<ReturnType<typeof createTestTable>>;

const tenant = 'tenant-a';
let counter = 0;
const newId = () => `turn-conv-${++counter}`;

/** A model that records what it was asked and answers like the offline model, or as told. */
class RecordingModel implements ChatModel {
  readonly modelId = 'recording-model';
  readonly requests: ChatRequest[] = [];
  private readonly offline = new OfflineModel();

  constructor(private readonly answer?: (request: ChatRequest, call: number) => Promise<MessageInput>) {}

  reply(request: ChatRequest): Promise<MessageInput> {
    this.requests.push(request);
    return this.answer ? this.answer(request, this.requests.length) : this.offline.reply(request);
  }

  get calls(): number {
    return this.requests.length;
  }
}

describe('runTurn on DynamoDB Local', () => {
  let table: Table;
  let store: ConversationStore;

  const turn = (input: Omit<RunTurnInput, 'store' | 'tenant'>) => runTurn({ store, tenant, ...input });

  /** Every item of the conversation, as stored (messages, head, idempotency records). */
  const itemsOf = async (conversationId: string) =>
    (
      await table.client.send(
        new QueryCommand({
          TableName: table.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': keys.partition(tenant, conversationId) },
          ConsistentRead: true,
        }),
      )
    ).Items ?? [];

  const contents = async (conversationId: string) =>
    (await store.load(tenant, conversationId)).messages.map((message) => [message.role, message.content]);

  beforeAll(async () => {
    table = await createTestTable('turns');
    store = new ConversationStore({ client: table.client, tableName: table.tableName });
  });

  describe('context', () => {
    it('grows across turns: the third turn sees 4 history messages', async () => {
      // Prepare
      const conversationId = newId();
      const model = new RecordingModel();

      // Act
      const results = [];
      for (const text of ['one', 'two', 'three'])
        results.push(await turn({ model, conversationId, message: text }));

      // Assess
      expect(results.map((result) => result.contextMessages)).toEqual([0, 2, 4]);
      expect(results.map((result) => result.version)).toEqual([2, 4, 6]);
      expect(model.requests[2]?.history.map((message) => message.seq)).toEqual([1, 2, 3, 4]);
      expect(results[2]?.reply.content).toBe('[offline] history: 4 messages, you said: three');
      expect(await contents(conversationId)).toEqual([
        ['user', 'one'],
        ['assistant', '[offline] history: 0 messages, you said: one'],
        ['user', 'two'],
        ['assistant', '[offline] history: 2 messages, you said: two'],
        ['user', 'three'],
        ['assistant', '[offline] history: 4 messages, you said: three'],
      ]);
    });

    it('returns the committed pair, with the model and context size in the reply metadata', async () => {
      // Prepare
      const conversationId = newId();
      const model = new RecordingModel();
      await store.append(tenant, conversationId, [{ role: 'user', content: 'earlier' }]);

      // Act
      const result = await turn({
        model,
        conversationId,
        message: { role: 'user', content: [{ type: 'text', text: 'now' }], metadata: { from: 'test' } },
      });

      // Assess
      const stored = (await store.load(tenant, conversationId)).messages;
      expect(result).toMatchObject({
        conversationId,
        version: 3,
        contextMessages: 1,
        model: 'recording-model',
      });
      expect(result.replayed).toBe(false);
      expect(result.modelCalls).toBe(1);
      expect(result.messages).toEqual(stored.slice(1));
      expect(result.reply).toEqual(stored[2]);
      expect(stored[1]).toMatchObject({
        role: 'user',
        content: [{ type: 'text', text: 'now' }],
        metadata: { from: 'test' },
      });
      expect(result.reply.metadata).toMatchObject({
        model: 'recording-model',
        contextMessages: 1,
        stopReason: 'end_turn',
      });
    });

    it('gives the model the system prompt without storing it', async () => {
      // Prepare
      const conversationId = newId();
      const model = new RecordingModel();

      // Act
      await turn({ model, conversationId, message: 'hi', system: 'Be brief.' });

      // Assess
      expect(model.requests[0]?.system).toBe('Be brief.');
      expect(await contents(conversationId)).toEqual([
        ['user', 'hi'],
        ['assistant', '[offline] system: "Be brief.", history: 0 messages, you said: hi'],
      ]);
    });

    it('applies the context policy to the loaded history', async () => {
      // Prepare
      const conversationId = newId();
      const model = new RecordingModel();
      await store.append(
        tenant,
        conversationId,
        Array.from({ length: 5 }, (_, i) => ({ role: 'user', content: `m${i + 1}` })),
      );

      // Act
      const result = await turn({
        model,
        conversationId,
        message: 'last',
        policy: { maxMessages: 2, maxTokens: 8000 },
      });

      // Assess
      expect(result.contextMessages).toBe(2);
      expect(model.requests[0]?.history.map((message) => message.content)).toEqual(['m4', 'm5']);
    });
  });

  describe('idempotency', () => {
    it('replays the stored reply without a second model call', async () => {
      // Prepare
      const conversationId = newId();
      const model = new RecordingModel();
      await store.append(tenant, conversationId, [{ role: 'user', content: 'before' }]);
      const first = await turn({ model, conversationId, message: 'hi', idempotencyKey: 'key-1' });

      // Act
      const again = await turn({ model, conversationId, message: 'hi', idempotencyKey: 'key-1' });

      // Assess
      expect(model.calls).toBe(1);
      expect(again.replayed).toBe(true);
      expect(again.modelCalls).toBe(0);
      expect(again).toMatchObject({
        version: first.version,
        messages: first.messages,
        reply: first.reply,
        contextMessages: 1,
        model: 'recording-model',
      });
      expect((await store.load(tenant, conversationId)).version).toBe(3);
    });

    it('replays even when the conversation has moved past the expectedVersion of the original', async () => {
      // Prepare
      const conversationId = newId();
      const model = new RecordingModel();
      const first = await turn({
        model,
        conversationId,
        message: 'hi',
        expectedVersion: 0,
        idempotencyKey: 'k',
      });
      await store.append(tenant, conversationId, [{ role: 'user', content: 'later' }]);

      // Act
      const again = await turn({
        model,
        conversationId,
        message: 'hi',
        expectedVersion: 0,
        idempotencyKey: 'k',
      });

      // Assess
      expect(again).toMatchObject({ replayed: true, version: first.version, reply: first.reply });
      expect(model.calls).toBe(1);
    });

    it('refuses the same key with another message, without a model call', async () => {
      // Prepare
      const conversationId = newId();
      const model = new RecordingModel();
      await turn({ model, conversationId, message: 'hi', idempotencyKey: 'key-2' });

      // Act
      const reused = turn({ model, conversationId, message: 'something else', idempotencyKey: 'key-2' });

      // Assess
      await expect(reused).rejects.toThrow(IdempotencyKeyReusedError);
      expect(model.calls).toBe(1);
    });

    it('refuses a key that an append already used', async () => {
      // Prepare
      const conversationId = newId();
      const model = new RecordingModel();
      await store.append(tenant, conversationId, [{ role: 'user', content: 'hi' }], {
        idempotencyKey: 'shared',
      });

      // Act
      const reused = turn({ model, conversationId, message: 'hi', idempotencyKey: 'shared' });

      // Assess
      await expect(reused).rejects.toThrow(IdempotencyKeyReusedError);
      expect(model.calls).toBe(0);
    });

    it('returns the result of a concurrent retry with the same key that committed first', async () => {
      // Prepare: while this request waits for the model, its retry runs and commits
      const conversationId = newId();
      const request = { conversationId, message: 'hi', idempotencyKey: 'key-race' };
      let retry: Awaited<ReturnType<typeof turn>> | undefined;
      const model = new RecordingModel(async (_request, call) => {
        if (call === 1) retry = await turn({ ...request, model: new OfflineModel('retry-model') });
        return { role: 'assistant', content: `reply ${call}`, metadata: {} };
      });

      // Act
      const result = await turn({ ...request, model });

      // Assess
      expect(retry?.replayed).toBe(false);
      expect(result).toMatchObject({ replayed: true, version: 2, reply: retry?.reply, model: 'retry-model' });
      expect(await contents(conversationId)).toEqual([
        ['user', 'hi'],
        ['assistant', '[offline] history: 0 messages, you said: hi'],
      ]);
    });
  });

  describe('concurrency', () => {
    it('reloads and regenerates when another writer commits between load and commit', async () => {
      // Prepare
      const conversationId = newId();
      await store.append(tenant, conversationId, [{ role: 'user', content: 'start' }]);
      const model = new RecordingModel(async (request, call) => {
        if (call === 1) await store.append(tenant, conversationId, [{ role: 'user', content: 'interloper' }]);
        return { role: 'assistant', content: `reply ${call} on ${request.history.length}`, metadata: {} };
      });

      // Act
      const result = await turn({ model, conversationId, message: 'mine' });

      // Assess
      expect(model.calls).toBe(2);
      expect(model.requests[1]?.history.map((message) => message.content)).toEqual(['start', 'interloper']);
      expect(result).toMatchObject({ version: 4, contextMessages: 2, modelCalls: 2, replayed: false });
      expect(await contents(conversationId)).toEqual([
        ['user', 'start'],
        ['user', 'interloper'],
        ['user', 'mine'],
        ['assistant', 'reply 2 on 2'],
      ]);
    });

    it('gives up with a version conflict after maxAttempts lost races, storing nothing of the turn', async () => {
      // Prepare
      const conversationId = newId();
      const model = new RecordingModel(async (_request, call) => {
        await store.append(tenant, conversationId, [{ role: 'user', content: `interloper ${call}` }]);
        return { role: 'assistant', content: 'never stored', metadata: {} };
      });

      // Act
      const error = await turn({ model, conversationId, message: 'mine', maxAttempts: 3 }).catch(
        (caught) => caught,
      );

      // Assess
      expect(error).toBeInstanceOf(VersionConflictError);
      expect(error).toMatchObject({ currentVersion: 3 });
      expect(model.calls).toBe(3);
      expect(await contents(conversationId)).toEqual([
        ['user', 'interloper 1'],
        ['user', 'interloper 2'],
        ['user', 'interloper 3'],
      ]);
    });

    it('does not retry a lost race when the client gave expectedVersion', async () => {
      // Prepare
      const conversationId = newId();
      const model = new RecordingModel(async () => {
        await store.append(tenant, conversationId, [{ role: 'user', content: 'interloper' }]);
        return { role: 'assistant', content: 'never stored', metadata: {} };
      });

      // Act
      const error = await turn({ model, conversationId, message: 'mine', expectedVersion: 0 }).catch(
        (caught) => caught,
      );

      // Assess
      expect(error).toBeInstanceOf(VersionConflictError);
      expect(error).toMatchObject({ currentVersion: 1 });
      expect(model.calls).toBe(1);
      expect(await contents(conversationId)).toEqual([['user', 'interloper']]);
    });

    it('refuses a stale expectedVersion before calling the model', async () => {
      // Prepare
      const conversationId = newId();
      const model = new RecordingModel();
      await store.append(tenant, conversationId, [
        { role: 'user', content: 'a' },
        { role: 'assistant', content: 'b' },
      ]);
      const before = await itemsOf(conversationId);

      // Act
      const error = await turn({ model, conversationId, message: 'c', expectedVersion: 1 }).catch(
        (caught) => caught,
      );

      // Assess
      expect(error).toBeInstanceOf(VersionConflictError);
      expect(error).toMatchObject({ code: 'version_conflict', currentVersion: 2 });
      expect(model.calls).toBe(0);
      expect(await itemsOf(conversationId)).toEqual(before);
    });

    it('runs on a matching expectedVersion', async () => {
      // Prepare
      const conversationId = newId();
      const model = new RecordingModel();
      await store.append(tenant, conversationId, [
        { role: 'user', content: 'a' },
        { role: 'assistant', content: 'b' },
      ]);

      // Act
      const result = await turn({ model, conversationId, message: 'c', expectedVersion: 2 });

      // Assess
      expect(result).toMatchObject({ version: 4, contextMessages: 2 });
    });
  });

  describe('failures store nothing', () => {
    it('leaves the conversation unchanged when the model fails', async () => {
      // Prepare
      const conversationId = newId();
      await store.append(tenant, conversationId, [
        { role: 'user', content: 'a' },
        { role: 'assistant', content: 'b' },
      ]);
      const before = await itemsOf(conversationId);
      const cause = new Error('provider exploded: secret detail');
      const model = new RecordingModel(() => Promise.reject(cause));

      // Act
      const error = await turn({ model, conversationId, message: 'c', idempotencyKey: 'fail-1' }).catch(
        (caught) => caught,
      );

      // Assess
      expect(error).toBeInstanceOf(ModelError);
      expect(error).toMatchObject({ code: 'model_error', cause });
      expect((error as Error).message).not.toContain('secret detail');
      expect(await itemsOf(conversationId)).toEqual(before);
    });

    it('leaves the conversation unchanged when the model times out', async () => {
      // Prepare
      const conversationId = newId();
      await store.append(tenant, conversationId, [{ role: 'user', content: 'a' }]);
      const before = await itemsOf(conversationId);
      const model = new RecordingModel(() => new Promise<MessageInput>(() => undefined));
      const started = Date.now();

      // Act
      const error = await turn({ model, conversationId, message: 'b', modelTimeoutMs: 200 }).catch(
        (caught) => caught,
      );

      // Assess
      expect(error).toBeInstanceOf(ModelTimeoutError);
      expect(error).toMatchObject({ code: 'model_timeout', timeoutMs: 200 });
      expect(Date.now() - started).toBeLessThan(3000);
      expect(model.requests[0]?.signal.aborted).toBe(true);
      expect(await itemsOf(conversationId)).toEqual(before);
    });

    it('leaves a new conversation nonexistent when the model fails', async () => {
      // Prepare
      const conversationId = newId();
      const model = new RecordingModel(() => Promise.reject(new Error('boom')));

      // Act
      const error = await turn({ model, conversationId, message: 'hi' }).catch((caught) => caught);

      // Assess
      expect(error).toBeInstanceOf(ModelError);
      expect(await itemsOf(conversationId)).toEqual([]);
    });

    it('treats a reply that is not an assistant message as a model error', async () => {
      // Prepare
      const conversationId = newId();
      const model = new RecordingModel(async () => ({ role: 'user', content: 'I am not the assistant' }));

      // Act
      const error = await turn({ model, conversationId, message: 'hi' }).catch((caught) => caught);

      // Assess
      expect(error).toBeInstanceOf(ModelError);
      expect(await itemsOf(conversationId)).toEqual([]);
    });

    it('treats a reply too large to store as a model error', async () => {
      // Prepare
      const conversationId = newId();
      const model = new RecordingModel(async () => ({ role: 'assistant', content: 'x'.repeat(300 * 1024) }));

      // Act
      const error = await turn({ model, conversationId, message: 'hi' }).catch((caught) => caught);

      // Assess
      expect(error).toBeInstanceOf(ModelError);
      expect(error).toMatchObject({ message: 'The model returned a reply that cannot be stored.' });
      expect(await itemsOf(conversationId)).toEqual([]);
    });

    it('refuses an invalid message before loading or calling the model', async () => {
      // Prepare
      const conversationId = newId();
      const model = new RecordingModel();

      // Act
      const error = await turn({
        model,
        conversationId,
        message: { role: 'assistant', content: 'hi' },
      }).catch((caught) => caught);

      // Assess
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect(model.calls).toBe(0);
      expect(await itemsOf(conversationId)).toEqual([]);
    });
  });

  describe('tools', () => {
    const tools = [
      { name: 'weather', inputSchema: { type: 'object' as const } },
      { name: 'clock', inputSchema: { type: 'object' as const } },
    ];

    /** A conversation whose last reply calls weather and clock (the offline model, parallel calls). */
    const pendingCalls = async () => {
      const conversationId = newId();
      const first = await turn({
        model: new OfflineModel(),
        conversationId,
        message: 'use weather and clock city=Paris',
        tools,
      });
      const [weather, clock] = first.reply.toolCalls ?? [];
      return { conversationId, first, weather: weather?.id as string, clock: clock?.id as string };
    };

    it('stores a reply with parallel tool calls, then commits the results and the next reply on its version', async () => {
      // Prepare
      const { conversationId, first, weather, clock } = await pendingCalls();
      const model = new RecordingModel();

      // Act
      const final = await turn({
        model,
        conversationId,
        toolResults: [
          { toolCallId: clock, content: '12:00' },
          { toolCallId: weather, content: 'rain', isError: false },
        ],
        tools,
      });

      // Assess
      expect(first).toMatchObject({ version: 2, awaitingToolResults: true });
      expect(first.reply.toolCalls?.map((call) => call.name)).toEqual(['weather', 'clock']);
      expect(final).toMatchObject({ version: 5, awaitingToolResults: false, contextMessages: 2 });
      expect(final.reply.content).toBe('[offline] tool results: weather=rain, clock=12:00');
      expect(
        model.requests[0]?.messages.map((message) => [message.role, message.toolCallId, message.name]),
      ).toEqual([
        ['tool', clock, 'clock'],
        ['tool', weather, 'weather'],
      ]);
      expect(await contents(conversationId)).toEqual([
        ['user', 'use weather and clock city=Paris'],
        ['assistant', ''],
        ['tool', '12:00'],
        ['tool', 'rain'],
        ['assistant', '[offline] tool results: weather=rain, clock=12:00'],
      ]);
    });

    it('stores a failed tool as metadata.isError', async () => {
      const { conversationId, weather, clock } = await pendingCalls();
      await turn({
        model: new OfflineModel(),
        conversationId,
        toolResults: [
          { toolCallId: weather, content: 'rain' },
          { toolCallId: clock, content: 'no clock', isError: true },
        ],
      });
      const stored = (await store.load(tenant, conversationId)).messages;
      expect(stored[3]).toMatchObject({
        role: 'tool',
        toolCallId: clock,
        content: 'no clock',
        metadata: { isError: true },
      });
      expect(stored[2]?.metadata).toBeUndefined();
    });

    it.each([
      ['a missing result', (w: string) => [{ toolCallId: w, content: 'x' }], { missing: ['clock'] }],
      [
        'an unknown id',
        (w: string, c: string) => [
          { toolCallId: w, content: 'x' },
          { toolCallId: c, content: 'y' },
          { toolCallId: 'nope', content: 'z' },
        ],
        { unknown: ['nope'] },
      ],
      [
        'a duplicate id',
        (w: string, c: string) => [
          { toolCallId: w, content: 'x' },
          { toolCallId: c, content: 'y' },
          { toolCallId: w, content: 'again' },
        ],
        { duplicate: ['weather'] },
      ],
    ])('refuses %s before any model call, storing nothing', async (_, results, expected) => {
      // Prepare
      const { conversationId, weather, clock } = await pendingCalls();
      const before = await itemsOf(conversationId);
      const model = new RecordingModel();
      const ids: Record<string, string> = { weather, clock };

      // Act
      const error = await turn({
        model,
        conversationId,
        toolResults: results(weather, clock),
        idempotencyKey: 'bad-continuation',
      }).catch((caught) => caught);

      // Assess
      expect(error).toBeInstanceOf(ToolResultsMismatchError);
      const mismatch = (error as ToolResultsMismatchError).mismatch;
      for (const [field, names] of Object.entries(expected)) {
        expect(mismatch[field as keyof typeof mismatch]).toEqual(names.map((name) => ids[name] ?? name));
      }
      expect(model.calls).toBe(0);
      expect(await itemsOf(conversationId)).toEqual(before);
    });

    it('refuses results when the conversation does not end with pending calls, or at a stale version', async () => {
      // Prepare
      const { conversationId, weather, clock } = await pendingCalls();
      const toolResults = [
        { toolCallId: weather, content: 'x' },
        { toolCallId: clock, content: 'y' },
      ];
      const stale = await turn({
        model: new OfflineModel(),
        conversationId,
        toolResults,
        expectedVersion: 1,
      }).catch((caught) => caught);
      await store.append(tenant, conversationId, [{ role: 'user', content: 'never mind' }]);
      const before = await itemsOf(conversationId);
      const model = new RecordingModel();

      // Act
      const error = await turn({ model, conversationId, toolResults }).catch((caught) => caught);

      // Assess
      expect(stale).toBeInstanceOf(VersionConflictError);
      expect(stale).toMatchObject({ currentVersion: 2 });
      expect(error).toBeInstanceOf(NoPendingToolCallsError);
      expect(error).toMatchObject({ code: 'no_pending_tool_calls', currentVersion: 3 });
      expect(model.calls).toBe(0);
      expect(await itemsOf(conversationId)).toEqual(before);
    });

    it('fails a continuation that loses its race to another writer, storing nothing of it', async () => {
      // Prepare
      const { conversationId, weather, clock } = await pendingCalls();
      const model = new RecordingModel(async (request) => {
        await store.append(tenant, conversationId, [{ role: 'user', content: 'interloper' }]);
        return new OfflineModel().reply(request);
      });

      // Act
      const error = await turn({
        model,
        conversationId,
        toolResults: [
          { toolCallId: weather, content: 'x' },
          { toolCallId: clock, content: 'y' },
        ],
      }).catch((caught) => caught);

      // Assess
      expect(error).toBeInstanceOf(NoPendingToolCallsError);
      expect(model.calls).toBe(1);
      expect((await contents(conversationId)).map(([role]) => role)).toEqual(['user', 'assistant', 'user']);
    });

    it('writes a continuation sent twice at once with one key once; both get the committed result', async () => {
      // Prepare
      const { conversationId, weather, clock } = await pendingCalls();
      const request = {
        conversationId,
        toolResults: [
          { toolCallId: weather, content: 'x' },
          { toolCallId: clock, content: 'y' },
        ],
        idempotencyKey: 'same',
      };

      // Act
      const [one, two] = await Promise.all([
        turn({ ...request, model: new OfflineModel() }),
        turn({ ...request, model: new OfflineModel() }),
      ]);

      // Assess
      expect(one.messages).toEqual(two.messages);
      expect([one.replayed, two.replayed].sort()).toEqual([false, true]);
      expect((await contents(conversationId)).map(([role]) => role)).toEqual([
        'user',
        'assistant',
        'tool',
        'tool',
        'assistant',
      ]);
    });
  });

  describe('tools, racing a twin', () => {
    it('answers the committed result when a twin with the same key commits between its replay lookup and its load', async () => {
      // Prepare: a store whose load waits for the twin's commit, after the replay lookup found nothing yet.
      const conversationId = newId();
      const first = await turn({
        model: new OfflineModel(),
        conversationId,
        message: 'use weather',
        tools: [{ name: 'weather', inputSchema: { type: 'object' } }],
      });
      const request = {
        conversationId,
        toolResults: [{ toolCallId: first.reply.toolCalls?.[0]?.id as string, content: 'rain' }],
        idempotencyKey: 'twin',
      };
      let twin: Promise<Awaited<ReturnType<typeof turn>>> | undefined;
      const racing: RunTurnInput['store'] = {
        findIdempotentResult: (...args) => store.findIdempotentResult(...args),
        append: (...args) => store.append(...args),
        replaceSuffix: (...args) => store.replaceSuffix(...args),
        loadContext: async (...args) => {
          twin ??= turn({ ...request, model: new OfflineModel() });
          await twin;
          return store.loadContext(...args);
        },
      };
      const model = new RecordingModel();

      // Act
      const result = await runTurn({ ...request, store: racing, tenant, model });

      // Assess
      expect(result.replayed).toBe(true);
      expect(result.messages).toEqual((await twin)?.messages);
      expect(model.calls).toBe(0);
      expect((await contents(conversationId)).map(([role]) => role)).toEqual([
        'user',
        'assistant',
        'tool',
        'assistant',
      ]);
    });
  });

  describe('streamTurn', () => {
    const collect = async (events: AsyncIterable<TurnEvent>) => {
      const all: TurnEvent[] = [];
      for await (const event of events) all.push(event);
      return all;
    };
    const deltasOf = (events: TurnEvent[]) =>
      events.flatMap((event) => (event.type === 'delta' ? [event.text] : [])).join('');

    it('reports the deltas, restarts after a lost race, and ends with done', async () => {
      // Prepare
      const conversationId = newId();
      const offline = new OfflineModel();
      const model = new RecordingModel(async (request, call) => {
        const reply = await offline.reply(request);
        if (call === 1) await store.append(tenant, conversationId, [{ role: 'user', content: 'interloper' }]);
        return reply;
      });

      // Act
      const events = await collect(streamTurn({ store, tenant, model, conversationId, message: 'hi there' }));

      // Assess
      const restart = events.findIndex((event) => event.type === 'restart');
      expect(restart).toBeGreaterThan(0);
      expect(deltasOf(events.slice(0, restart))).toBe('[offline] history: 0 messages, you said: hi there');
      const done = events.at(-1);
      expect(done?.type).toBe('done');
      const result = (done as Extract<TurnEvent, { type: 'done' }>).result;
      expect(deltasOf(events.slice(restart))).toBe(result.reply.content);
      expect(result.reply.content).toBe('[offline] history: 1 message, you said: hi there');
    });

    it('streams a replay as one delta, and a failure as one error event', async () => {
      // Prepare
      const conversationId = newId();
      const input = { store, tenant, conversationId, message: 'once', idempotencyKey: 'k' };
      const first = await collect(streamTurn({ ...input, model: new OfflineModel() }));

      // Act
      const replay = await collect(streamTurn({ ...input, model: new RecordingModel() }));
      const failed = await collect(
        streamTurn({
          ...input,
          idempotencyKey: 'other',
          model: new RecordingModel(() => Promise.reject(new Error('x'))),
        }),
      );

      // Assess
      expect(first.filter((event) => event.type === 'delta').length).toBeGreaterThan(1);
      expect(replay.map((event) => event.type)).toEqual(['delta', 'done']);
      expect(deltasOf(replay)).toBe(deltasOf(first));
      expect(failed).toEqual([{ type: 'error', error: expect.any(ModelError) }]);
    });
  });
});
