import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ChatModel, ChatRequest } from '../../lambda/agent/chat-model.js';
import { ModelError, ModelTimeoutError } from '../../lambda/agent/model-errors.js';
import { OfflineModel } from '../../lambda/agent/offline-model.js';
import { type RunTurnInput, runTurn } from '../../lambda/agent/run-turn.js';
import { ConversationStore } from '../../lambda/memory/conversation-store.js';
import {
  IdempotencyKeyReusedError,
  InvalidRequestError,
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
});
