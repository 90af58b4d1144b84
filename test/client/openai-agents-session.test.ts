import { randomUUID } from 'node:crypto';
import {
  Agent,
  type AgentInputItem,
  type Model,
  type ModelRequest,
  type ModelResponse,
  OpenAIResponsesCompactionSession,
  Runner,
  Usage,
} from '@openai/agents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConversationMemory } from '../../client/conversation-memory.js';
import { IdempotencyKeyReusedError, SuffixMismatchError } from '../../client/errors.js';
import { itemToMessage, messageToItems } from '../../client/openai-agents-items.js';
import { AgentMemorySession } from '../../client/openai-agents-session.js';
import { largeDataUrl, memoryBackends } from './memory-backends.js';

const user: AgentInputItem = { type: 'message', role: 'user', content: 'What is the weather in Paris?' };
const userWithImage: AgentInputItem = {
  role: 'user',
  content: [
    { type: 'input_text', text: 'And this one?' },
    { type: 'input_image', image: 'https://example.com/cat.png', detail: 'auto' },
  ],
};
const system: AgentInputItem = { role: 'system', content: 'Be brief.' };
const call: AgentInputItem = {
  type: 'function_call',
  id: 'fc_1',
  callId: 'call_1',
  name: 'weather',
  arguments: '{"city":"Paris"}',
  status: 'completed',
};
const result: AgentInputItem = {
  type: 'function_call_result',
  callId: 'call_1',
  name: 'weather',
  status: 'completed',
  output: { type: 'text', text: '18°C and sunny' },
};
const reply: AgentInputItem = {
  type: 'message',
  id: 'msg_1',
  role: 'assistant',
  status: 'completed',
  content: [{ type: 'output_text', text: 'It is 18°C and sunny.', providerData: { annotations: [] } }],
};
const reasoning: AgentInputItem = {
  type: 'reasoning',
  id: 'rs_1',
  content: [{ type: 'input_text', text: 'The user wants the weather.' }],
  providerData: { encryptedContent: 'opaque' },
};
const assistantSays = (text: string): AgentInputItem => ({
  type: 'message',
  role: 'assistant',
  status: 'completed',
  content: [{ type: 'output_text', text }],
});

describe('openai-agents item mapping', () => {
  it('gives other readers the conversation in the contract’s terms', () => {
    // Act
    const [asUser, asImage, asSystem, asCall, asResult, asReply, asReasoning] = [
      user,
      userWithImage,
      system,
      call,
      result,
      reply,
      reasoning,
    ].map(itemToMessage);

    // Assess
    expect(asUser).toMatchObject({ role: 'user', content: 'What is the weather in Paris?' });
    expect(asImage).toMatchObject({
      role: 'user',
      content: [
        { type: 'text', text: 'And this one?' },
        { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } },
      ],
    });
    expect(asSystem).toMatchObject({ role: 'system', content: 'Be brief.' });
    expect(asCall).toMatchObject({
      role: 'assistant',
      content: '',
      toolCalls: [{ id: 'call_1', name: 'weather', arguments: '{"city":"Paris"}' }],
    });
    expect(asResult).toMatchObject({
      role: 'tool',
      toolCallId: 'call_1',
      name: 'weather',
      content: '18°C and sunny',
    });
    expect(asReply).toMatchObject({ role: 'assistant', content: 'It is 18°C and sunny.' });
    expect(asReasoning).toMatchObject({
      role: 'assistant',
      content: '[reasoning] The user wants the weather.',
    });
    expect(asReasoning?.metadata?.openaiAgentsItem).toEqual(reasoning);
  });

  it('maps the same item to the same message every time (what suffix edits rely on)', () => {
    // Act
    const once = itemToMessage(structuredClone(reply));
    const twice = itemToMessage({ ...structuredClone(reply), providerData: undefined } as AgentInputItem);

    // Assess
    expect(JSON.stringify(twice)).toBe(JSON.stringify(once));
  });

  it('refuses what JSON cannot hold before anything is written', () => {
    // Prepare
    const binary = {
      type: 'function_call_result',
      callId: 'c',
      name: 'n',
      status: 'completed',
      output: { type: 'file', file: { data: new Uint8Array([1, 2]), mediaType: 'x/y', filename: 'f' } },
    } as unknown as AgentInputItem;

    // Act
    const mapping = () => itemToMessage(binary);

    // Assess
    expect(mapping).toThrow(/binary data/);
  });

  it('reads messages other writers stored as the items their role implies', () => {
    // Prepare
    const stored = { id: 'x', seq: 1, createdAt: '2025-01-01T00:00:00.000Z' };

    // Act
    const fromTurn = messageToItems({
      ...stored,
      role: 'assistant',
      content: 'Checking.',
      toolCalls: [{ id: 't1', name: 'f', arguments: { a: 1 } }],
    });
    const fromTool = messageToItems({ ...stored, role: 'tool', toolCallId: 't1', content: 'done' });

    // Assess
    expect(fromTurn).toEqual([
      {
        type: 'message',
        role: 'assistant',
        status: 'completed',
        content: [{ type: 'output_text', text: 'Checking.' }],
      },
      { type: 'function_call', callId: 't1', name: 'f', arguments: '{"a":1}', status: 'completed' },
    ]);
    expect(fromTool).toEqual([
      { type: 'function_call_result', callId: 't1', name: '', status: 'completed', output: 'done' },
    ]);
  });
});

describe.each(memoryBackends)('AgentMemorySession on $name', (backend) => {
  let memory: ConversationMemory;
  const sessionOn = (sessionId = `session-${randomUUID()}`) => new AgentMemorySession({ memory, sessionId });

  beforeAll(async () => {
    ({ memory } = await backend.start());
  });
  afterAll(() => backend.stop());

  describe('items', () => {
    it('returns every item exactly as added, oldest first, and the newest `limit` with a limit', async () => {
      // Prepare
      const session = sessionOn();
      const items = [system, user, userWithImage, reasoning, call, result, reply];

      // Act
      await session.addItems(items.slice(0, 3));
      await session.addItems(items.slice(3));
      const all = await session.getItems();
      const lastTwo = await session.getItems(2);
      const none = await session.getItems(0);

      // Assess
      expect(all).toEqual(items);
      expect(lastTwo).toEqual([result, reply]);
      expect(none).toEqual([]);
      expect(await session.getSessionId()).toMatch(/^session-/);
    });

    it('round-trips a 2 MB screenshot and a 1 MB tool output, which the store keeps in S3', async () => {
      // Prepare
      const session = sessionOn();
      const screenshot: AgentInputItem = {
        role: 'user',
        content: [
          { type: 'input_text', text: 'What is on my screen?' },
          { type: 'input_image', image: largeDataUrl('image/png', 2_000_000), detail: 'auto' },
        ],
      };
      const bigResult: AgentInputItem = {
        ...result,
        output: { type: 'text' as const, text: 'x'.repeat(1_000_000) },
      } as AgentInputItem;

      // Act
      await session.addItems([screenshot, call, bigResult]);
      const restored = await session.getItems();

      // Assess
      expect(restored).toEqual([screenshot, call, bigResult]);
    });

    it('stores tool calls and results in the contract’s fields', async () => {
      // Prepare
      const session = sessionOn();
      const id = await session.getSessionId();

      // Act
      await session.addItems([call, result]);
      const { messages } = await memory.loadAll(id);

      // Assess
      expect(messages.map(({ role, toolCalls, toolCallId }) => ({ role, toolCalls, toolCallId }))).toEqual([
        {
          role: 'assistant',
          toolCalls: [{ id: 'call_1', name: 'weather', arguments: '{"city":"Paris"}' }],
          toolCallId: undefined,
        },
        { role: 'tool', toolCalls: undefined, toolCallId: 'call_1' },
      ]);
    });
  });

  describe('popItem', () => {
    it('removes and returns the newest item, raising the version', async () => {
      // Prepare
      const session = sessionOn();
      const id = await session.getSessionId();
      await session.addItems([user, reply]);

      // Act
      const popped = await session.popItem();

      // Assess
      expect(popped).toEqual(reply);
      expect(await session.getItems()).toEqual([user]);
      expect((await memory.getConversation(id))?.version).toBe(3);
    });

    it('never removes a message appended between its read and its edit', async () => {
      // Prepare: another writer appends right before the pop's first edit reaches the store.
      const id = `session-${randomUUID()}`;
      let raced = false;
      const racing: ConversationMemory = {
        append: memory.append.bind(memory),
        load: memory.load.bind(memory),
        loadRecent: memory.loadRecent.bind(memory),
        loadAll: memory.loadAll.bind(memory),
        loadContext: memory.loadContext.bind(memory),
        getConversation: memory.getConversation.bind(memory),
        deleteConversation: memory.deleteConversation.bind(memory),
        patch: memory.patch.bind(memory),
        listPage: memory.listPage.bind(memory),
        list: memory.list.bind(memory),
        async replaceSuffix(conversationId, edit, options) {
          if (!raced) {
            raced = true;
            await memory.append(conversationId, [itemToMessage(assistantSays('Late arrival.'))]);
          }
          return memory.replaceSuffix(conversationId, edit, options);
        },
      };
      const session = new AgentMemorySession({ memory: racing, sessionId: id });
      await session.addItems([user, reply]);

      // Act
      const popped = await session.popItem();

      // Assess: the first edit failed on its conditions; the retry removed (and returned) the real newest item.
      expect(raced).toBe(true);
      expect(popped).toEqual(assistantSays('Late arrival.'));
      expect(await session.getItems()).toEqual([user, reply]);
    });

    it('returns undefined on an empty session', async () => {
      // Act
      const popped = await sessionOn().popItem();

      // Assess
      expect(popped).toBeUndefined();
    });

    it('pops a message another writer stored, as the item it reads as', async () => {
      // Prepare
      const session = sessionOn();
      const id = await session.getSessionId();
      await session.addItems([user]);
      await memory.append(id, [{ role: 'assistant', content: 'Written by the /turns route.' }]);

      // Act
      const popped = await session.popItem();

      // Assess
      expect(popped).toEqual(assistantSays('Written by the /turns route.'));
      expect(await session.getItems()).toEqual([user]);
    });
  });

  describe('clearSession', () => {
    it('deletes every item and the conversation', async () => {
      // Prepare
      const session = sessionOn();
      await session.addItems([user, reply]);

      // Act
      await session.clearSession();

      // Assess
      expect(await session.getItems()).toEqual([]);
      expect(await memory.getConversation(await session.getSessionId())).toBeUndefined();
    });
  });

  describe('compaction', () => {
    const compaction = (text: string): AgentInputItem => ({ type: 'compaction', encrypted_content: text });

    it("appends a runner's compaction and what it keeps: the model is given only those, every message stays", async () => {
      // Prepare: a stored conversation, and a run whose input carries a compaction item (as a model's
      // server-side compaction, or a client that compacted, hands the runner).
      const session = sessionOn();
      const before = [user, reply, assistantSays('Anything else?')];
      await session.addItems(before);
      const inputs: AgentInputItem[][] = [];
      const model: Model = {
        async getResponse(request: ModelRequest): Promise<ModelResponse> {
          inputs.push(structuredClone(request.input as AgentInputItem[]));
          return { usage: new Usage(), output: [assistantSays('Noted.') as ModelResponse['output'][number]] };
        },
        // biome-ignore lint/correctness/useYield: never streamed here.
        async *getStreamedResponse(): AsyncIterable<never> {
          throw new Error('not streamed');
        },
      };
      const runner = new Runner({ modelProvider: { getModel: () => model }, tracingDisabled: true });
      const agent = new Agent({ name: 'compacting', instructions: 'Be brief.', model: 'scripted' });
      const kept: AgentInputItem = { type: 'message', role: 'user', content: 'Keep this.' };

      // Act
      await runner.run(agent, [compaction('opaque-summary-1'), kept], { session });
      const next = await runner.run(agent, 'And now?', { session });

      // Assess: the model saw the compaction and what followed it, never the compacted messages...
      expect(inputs[0]).toEqual([compaction('opaque-summary-1'), kept]);
      expect(inputs[1]?.slice(0, 3)).toEqual([compaction('opaque-summary-1'), kept, assistantSays('Noted.')]);
      expect(JSON.stringify(inputs)).not.toContain('What is the weather in Paris?');
      expect(next.finalOutput).toBe('Noted.');
      // ...and every message is still stored, the compaction after them.
      const all = await session.getItems();
      expect(all.slice(0, 3)).toEqual(before);
      expect(all.slice(3, 5)).toEqual([compaction('opaque-summary-1'), kept]);
      expect((await memory.loadAll(await session.getSessionId())).messages[3]).toMatchObject({
        role: 'assistant',
        content: '[compaction] earlier history was compacted',
      });
    });

    it('refuses a replacement that does not start with a compaction item, writing nothing', async () => {
      const session = sessionOn();
      await session.addItems([user]);

      const error = await session.replaceHistoryWithCompaction([reply]).catch((caught: unknown) => caught);

      expect(error).toBeInstanceOf(TypeError);
      expect(await session.getItems()).toEqual([user]);
    });

    it("serves as the SDK's OpenAIResponsesCompactionSession's underlying session", async () => {
      // Prepare: the SDK's compaction session over ours, its Responses client answering `compact` (no network).
      const underlying = sessionOn();
      const requests: unknown[] = [];
      // The Responses API's own shapes: what `responses.compact` answers.
      const output = [
        { type: 'compaction', encrypted_content: 'opaque-summary-2' },
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Latest.' }] },
      ];
      const client = {
        responses: {
          compact: async (request: unknown) => {
            requests.push(structuredClone(request));
            return { output, usage: { input_tokens: 120, output_tokens: 30, total_tokens: 150 } };
          },
        },
      } as unknown as ConstructorParameters<typeof OpenAIResponsesCompactionSession>[0]['client'];
      const session = new OpenAIResponsesCompactionSession({
        client,
        underlyingSession: underlying,
        model: 'gpt-4.1-mini',
        compactionMode: 'input',
      });
      const turns = Array.from({ length: 6 }, (_, i) => [
        { type: 'message', role: 'user', content: `Question ${i + 1}` } as AgentInputItem,
        assistantSays(`Answer ${i + 1}`),
      ]).flat();
      await session.addItems(turns);

      // Act
      const result = await session.runCompaction({ force: true });

      // Assess: it compacted what our session held, and our session now holds its output, as items.
      expect(result?.usage.totalTokens).toBe(150);
      expect((requests[0] as { input: unknown[] }).input).toHaveLength(turns.length);
      const items = await underlying.getItems();
      expect(items).toHaveLength(2);
      expect(items[0]).toMatchObject({ type: 'compaction', encrypted_content: 'opaque-summary-2' });
      expect(JSON.stringify(items[1])).toContain('Latest.');
      expect(await session.getItems()).toEqual(items);
    });
  });

  describe('applyHistoryTransaction', () => {
    it('applies the same append_items operation once, however often it is repeated', async () => {
      // Prepare
      const session = sessionOn();
      const id = await session.getSessionId();
      await session.addItems([user]);
      const operation = {
        operationId: 'op-append-1',
        transaction: { type: 'append_items' as const, items: [call, result] },
      };

      // Act
      await session.applyHistoryTransaction(operation);
      const afterFirst = await memory.getConversation(id);
      await session.applyHistoryTransaction(structuredClone(operation));
      await sessionOn(id).applyHistoryTransaction(structuredClone(operation));

      // Assess
      expect(await session.getItems()).toEqual([user, call, result]);
      expect((await memory.getConversation(id))?.version).toBe(afterFirst?.version);
      expect(afterFirst?.version).toBe(3);
    });

    it('applies the same replace_suffix operation once, however often it is repeated', async () => {
      // Prepare
      const session = sessionOn();
      const id = await session.getSessionId();
      await session.addItems([user, assistantSays('Draft answer.')]);
      const operation = {
        operationId: 'op-replace-1',
        transaction: {
          type: 'replace_suffix' as const,
          expectedSuffix: [assistantSays('Draft answer.')],
          replacement: [call, result, reply],
        },
      };

      // Act
      await session.applyHistoryTransaction(operation);
      const afterFirst = await memory.getConversation(id);
      await session.applyHistoryTransaction(structuredClone(operation));

      // Assess
      expect(await session.getItems()).toEqual([user, call, result, reply]);
      expect(afterFirst?.version).toBe(5);
      expect((await memory.getConversation(id))?.version).toBe(5);
    });

    it('fails a mismatched expectedSuffix and writes nothing', async () => {
      // Prepare
      const session = sessionOn();
      const id = await session.getSessionId();
      await session.addItems([user, reply]);
      const before = await memory.loadAll(id);

      // Act
      const error = await session
        .applyHistoryTransaction({
          operationId: 'op-mismatch',
          transaction: {
            type: 'replace_suffix',
            expectedSuffix: [assistantSays('Something else.')],
            replacement: [call],
          },
        })
        .catch((caught: unknown) => caught);

      // Assess
      expect(error).toBeInstanceOf(SuffixMismatchError);
      expect(await memory.loadAll(id)).toEqual(before);
      expect(await session.getItems()).toEqual([user, reply]);
    });

    it('leaves the operationId unused when its suffix did not match', async () => {
      // Prepare
      const session = sessionOn();
      await session.addItems([user]);
      const mismatched = {
        operationId: 'op-retry',
        transaction: { type: 'replace_suffix' as const, expectedSuffix: [reply], replacement: [] },
      };
      await session.applyHistoryTransaction(mismatched).catch(() => undefined);

      // Act
      await session.addItems([reply]);
      await session.applyHistoryTransaction(mismatched);

      // Assess
      expect(await session.getItems()).toEqual([user]);
    });

    it('refuses an operationId reused for another transaction, writing nothing', async () => {
      // Prepare
      const session = sessionOn();
      const id = await session.getSessionId();
      await session.applyHistoryTransaction({
        operationId: 'op-1',
        transaction: { type: 'append_items', items: [user] },
      });
      const before = await memory.loadAll(id);

      // Act
      const otherItems = await session
        .applyHistoryTransaction({
          operationId: 'op-1',
          transaction: { type: 'append_items', items: [reply] },
        })
        .catch((caught: unknown) => caught);
      const otherKind = await session
        .applyHistoryTransaction({
          operationId: 'op-1',
          transaction: { type: 'replace_suffix', expectedSuffix: [user], replacement: [reply] },
        })
        .catch((caught: unknown) => caught);

      // Assess
      expect(otherItems).toBeInstanceOf(IdempotencyKeyReusedError);
      expect(otherKind).toBeInstanceOf(IdempotencyKeyReusedError);
      expect(await memory.loadAll(id)).toEqual(before);
    });

    it('rejects a malformed transaction before writing', async () => {
      // Prepare
      const session = sessionOn();

      // Act
      const noId = session.applyHistoryTransaction({
        operationId: ' ',
        transaction: { type: 'append_items', items: [user] },
      });
      const unknown = session.applyHistoryTransaction({
        operationId: 'op-x',
        transaction: { type: 'rewrite' } as never,
      });

      // Assess
      await expect(noId).rejects.toThrow(/operationId/);
      await expect(unknown).rejects.toThrow(/Unsupported/);
      expect(await session.getItems()).toEqual([]);
    });
  });
});
