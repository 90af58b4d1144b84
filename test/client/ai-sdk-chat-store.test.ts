import { randomUUID } from 'node:crypto';
import {
  convertToModelMessages,
  stepCountIs,
  streamText,
  TypeValidationError,
  tool,
  toUIMessageStream,
  type UIMessage,
  type UIMessageChunk,
} from 'ai';
import type { MockLanguageModelV4 } from 'ai/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AgentMemoryChatStore, type ChatHistory } from '../../client/ai-sdk-chat-store.js';
import type { ConversationMemory } from '../../client/conversation-memory.js';
import { NetworkError, VersionConflictError } from '../../client/errors.js';
import { mockModel, promptOf } from '../support/ai-sdk-models.js';
import { largeDataUrl, memoryBackends } from './memory-backends.js';

const weather = tool({ description: 'The weather in a city.', inputSchema: z.object({ city: z.string() }) });

/** A route as the README shows it: open the chat, add the new message, stream the model, save on end. */
async function turn(
  chats: AgentMemoryChatStore,
  chatId: string,
  message: UIMessage,
  model: MockLanguageModelV4,
  options: { abortAfterChunks?: number; steps?: number; executeTools?: boolean } = {},
): Promise<{ chat: ChatHistory; chunks: UIMessageChunk[] }> {
  const chat = await chats.openChat(chatId);
  const messages = chat.messagesWith(message);
  const abort = new AbortController();
  const tools = options.executeTools
    ? {
        weather: tool({
          inputSchema: z.object({ city: z.string() }),
          execute: async ({ city }) => `rain in ${city}`,
        }),
      }
    : { weather };
  const result = streamText({
    model,
    messages: await convertToModelMessages(messages),
    tools,
    abortSignal: abort.signal,
    stopWhen: stepCountIs(options.steps ?? 1),
  });
  const stream = toUIMessageStream({
    stream: result.stream,
    originalMessages: messages,
    generateMessageId: chat.generateMessageId,
    onStepEnd: chat.save,
    onEnd: chat.save,
  });
  const chunks: UIMessageChunk[] = [];
  for await (const chunk of stream as unknown as AsyncIterable<UIMessageChunk>) {
    chunks.push(chunk);
    if (chunks.length === options.abortAfterChunks) abort.abort();
  }
  return { chat, chunks };
}

const userMessage = (text: string, id = `user-${randomUUID()}`): UIMessage => ({
  id,
  role: 'user',
  parts: [{ type: 'text', text }],
});

const textOf = (message: UIMessage | undefined) =>
  (message?.parts ?? []).flatMap((part) => (part.type === 'text' ? [part.text] : [])).join('');

describe.each(memoryBackends)('AgentMemoryChatStore (agent-memory/ai-sdk) on $name', (backend) => {
  let memory: ConversationMemory;
  let chats: AgentMemoryChatStore;
  const newChat = () => `chat-${randomUUID()}`;

  beforeAll(async () => {
    ({ memory } = await backend.start());
    chats = new AgentMemoryChatStore({ memory });
  });
  afterAll(() => backend.stop());

  it('stores a turn of streamText + toUIMessageStream, and the next turn gives the model that history', async () => {
    // Prepare
    const chatId = newChat();
    const first = mockModel([{ text: 'Hello Ada, nice to meet you.' }]);
    const second = mockModel([{ text: 'Your name is Ada.' }]);

    // Act
    await turn(chats, chatId, userMessage('My name is Ada.', 'u1'), first);
    const afterFirst = await memory.getConversation(chatId);
    await turn(chats, chatId, userMessage('What is my name?', 'u2'), second);
    const afterSecond = await memory.getConversation(chatId);
    const loaded = await chats.loadChat(chatId);

    // Assess: each turn wrote its two messages once; the second model call saw the first turn.
    expect(afterFirst?.version).toBe(2);
    expect(afterSecond?.version).toBe(4);
    expect(
      loaded.map((message) => [message.id.startsWith('u') ? message.id : 'reply', message.role]),
    ).toEqual([
      ['u1', 'user'],
      ['reply', 'assistant'],
      ['u2', 'user'],
      ['reply', 'assistant'],
    ]);
    expect(textOf(loaded[1])).toBe('Hello Ada, nice to meet you.');
    expect(promptOf(second)).toEqual([
      'user: My name is Ada.',
      'assistant: Hello Ada, nice to meet you.',
      'user: What is my name?',
    ]);
  });

  it('loads every part type exactly as saved: text, reasoning, tools in each state, data, files, sources, metadata', async () => {
    // Prepare
    const chatId = newChat();
    const user: UIMessage = {
      id: 'u-parts',
      role: 'user',
      metadata: { sentAt: 1_700_000_000_000, tags: ['a'] },
      parts: [
        { type: 'text', text: 'Look at this' },
        {
          type: 'file',
          mediaType: 'image/png',
          filename: 'cat.png',
          url: 'data:image/png;base64,iVBORw0KGgo=',
        },
      ],
    };
    const input = { city: 'Paris' };
    const reply = {
      id: 'a-parts',
      role: 'assistant',
      metadata: 'free-form metadata',
      parts: [
        { type: 'step-start' },
        { type: 'reasoning', text: 'Thinking…', state: 'done', providerMetadata: { p: { signature: 's' } } },
        { type: 'text', text: 'Here:', state: 'done' },
        {
          type: 'tool-weather',
          toolCallId: 'c1',
          state: 'input-streaming',
          input: { city: 'Pa' },
          rawInput: '{"city":"Pa',
        },
        { type: 'tool-weather', toolCallId: 'c2', state: 'input-available', input },
        {
          type: 'tool-weather',
          toolCallId: 'c3',
          state: 'approval-requested',
          input,
          approval: { id: 'ap1' },
        },
        {
          type: 'tool-weather',
          toolCallId: 'c4',
          state: 'approval-responded',
          input,
          approval: { id: 'ap2', approved: true },
        },
        {
          type: 'tool-weather',
          toolCallId: 'c5',
          state: 'output-available',
          input,
          output: { temperature: 18 },
        },
        { type: 'tool-weather', toolCallId: 'c6', state: 'output-error', input, errorText: 'down' },
        {
          type: 'tool-weather',
          toolCallId: 'c7',
          state: 'output-denied',
          input,
          approval: { id: 'ap3', approved: false, reason: 'no' },
        },
        {
          type: 'dynamic-tool',
          toolName: 'search',
          toolCallId: 'c8',
          state: 'output-available',
          input: { q: 'x' },
          output: ['r'],
        },
        { type: 'step-start' },
        { type: 'data-weather', id: 'd1', data: { city: 'Paris', temperature: 18 } },
        { type: 'source-url', sourceId: 's1', url: 'https://example.com', title: 'Example' },
        {
          type: 'source-document',
          sourceId: 's2',
          mediaType: 'application/pdf',
          title: 'Doc',
          filename: 'doc.pdf',
        },
        { type: 'file', mediaType: 'text/plain', url: 'data:text/plain;base64,aGk=' },
        { type: 'reasoning-file', mediaType: 'image/png', url: 'data:image/png;base64,iVBORw0KGgo=' },
        { type: 'custom', kind: 'openai.compaction', providerMetadata: { openai: { id: 'x' } } },
      ],
    } as unknown as UIMessage;
    const chat = await chats.openChat(chatId);

    // Act
    await chat.save({ messages: [user, reply], responseMessage: reply, isContinuation: false });
    const loaded = await chats.loadChat(chatId);

    // Assess
    expect(loaded).toEqual([user, reply]);
  });

  it('round-trips file parts of a 1.5 MB image and a 2 MB PDF, which the store keeps in S3', async () => {
    // Prepare
    const chatId = newChat();
    const user = {
      id: 'u-files',
      role: 'user',
      parts: [
        { type: 'text', text: 'Compare the screenshot with the report.' },
        {
          type: 'file',
          mediaType: 'image/png',
          filename: 'screen.png',
          url: largeDataUrl('image/png', 1_500_000),
        },
        {
          type: 'file',
          mediaType: 'application/pdf',
          filename: 'report.pdf',
          url: largeDataUrl('application/pdf', 2_000_000),
        },
      ],
    } as UIMessage;
    const reply = {
      id: 'a-files',
      role: 'assistant',
      parts: [{ type: 'text', text: 'They match.' }],
    } as UIMessage;
    const chat = await chats.openChat(chatId);

    // Act
    await chat.save({ messages: [user, reply], responseMessage: reply, isContinuation: false });
    const loaded = await chats.loadChat(chatId);

    // Assess
    expect(loaded).toEqual([user, reply]);
  });

  it('continues a message with a client tool result in place: one assistant message with that id', async () => {
    // Prepare: the model calls a tool the browser runs (no execute), then answers once it has the output.
    const chatId = newChat();
    const calling = mockModel([{ calls: [{ name: 'weather', input: { city: 'Paris' } }] }]);
    const { chunks } = await turn(chats, chatId, userMessage('Weather in Paris?', 'u1'), calling);
    const [, pending] = await chats.loadChat(chatId);
    const withOutput = {
      ...(pending as UIMessage),
      parts: (pending as UIMessage).parts.map((part) =>
        part.type === 'tool-weather' ? { ...part, state: 'output-available', output: '18°C, rain' } : part,
      ),
    } as UIMessage;
    const answering = mockModel([{ text: 'Take an umbrella.' }]);

    // Act: the browser sends the message back with the output (useChat's addToolOutput + sendAutomaticallyWhen).
    await turn(chats, chatId, withOutput, answering);
    const loaded = await chats.loadChat(chatId);

    // Assess
    expect(chunks.find((chunk) => chunk.type === 'start')).toMatchObject({ messageId: pending?.id });
    expect(loaded.map((message) => message.id)).toEqual(['u1', pending?.id]);
    expect((loaded[1] as UIMessage).parts).toEqual([
      { type: 'step-start' },
      expect.objectContaining({ type: 'tool-weather', state: 'output-available', output: '18°C, rain' }),
      { type: 'step-start' },
      expect.objectContaining({ type: 'text', text: 'Take an umbrella.' }),
    ]);
    expect(promptOf(answering)).toEqual([
      'user: Weather in Paris?',
      'assistant: [tool-call]',
      'tool: [result {"type":"text","value":"18°C, rain"}]',
    ]);
    expect((await memory.load(chatId)).messages).toHaveLength(2);
  });

  it('saves each step of a multi-step run (onStepEnd) into the same message, never a second one', async () => {
    // Prepare: a server-side tool (execute), two steps.
    const chatId = newChat();
    const model = mockModel([
      { calls: [{ name: 'weather', input: { city: 'Oslo' } }] },
      { text: 'Snow likely.' },
    ]);
    const versions: number[] = [];
    const chat = await chats.openChat(chatId);
    const save = chat.save;
    const observed = Object.assign(Object.create(Object.getPrototypeOf(chat)), chat, {
      save: async (event: Parameters<typeof save>[0]) => {
        await save(event);
        versions.push(chat.version);
      },
    });
    const messages = chat.messagesWith(userMessage('Weather in Oslo?', 'u1'));

    // Act
    const result = streamText({
      model,
      messages: await convertToModelMessages(messages),
      tools: { weather: tool({ inputSchema: z.object({ city: z.string() }), execute: async () => '-3°C' }) },
      stopWhen: stepCountIs(2),
    });
    for await (const _ of toUIMessageStream({
      stream: result.stream,
      originalMessages: messages,
      generateMessageId: chat.generateMessageId,
      onStepEnd: observed.save,
      onEnd: observed.save,
    }) as unknown as AsyncIterable<unknown>) {
      // consume
    }
    const loaded = await chats.loadChat(chatId);

    // Assess: step 1 appended user + reply, step 2 replaced the reply, onEnd found nothing new.
    expect(versions).toEqual([2, 3, 3]);
    expect(loaded.map((message) => message.role)).toEqual(['user', 'assistant']);
    expect((loaded[1] as UIMessage).parts.map((part) => part.type)).toEqual([
      'step-start',
      'tool-weather',
      'step-start',
      'text',
    ]);
  });

  it('keeps a partial reply on abort, marked, and the next turn sees it', async () => {
    // Prepare: a slow model, aborted after a few chunks.
    const chatId = newChat();
    const slow = mockModel([{ text: 'one two three four five six seven eight' }], 20);
    const next = mockModel([{ text: 'Continuing.' }]);

    // Act
    await turn(chats, chatId, userMessage('Count to eight.', 'u1'), slow, { abortAfterChunks: 6 });
    const chat = await chats.openChat(chatId);
    await turn(chats, chatId, userMessage('Go on.', 'u2'), next);

    // Assess
    const partial = chat.messages[1] as UIMessage;
    expect(textOf(partial).length).toBeGreaterThan(0);
    expect('one two three four five six seven eight'.startsWith(textOf(partial))).toBe(true);
    expect(textOf(partial)).not.toBe('one two three four five six seven eight');
    expect(chat.interruption(partial.id)).toBe('aborted');
    expect(chat.interruption('u1')).toBeUndefined();
    expect(promptOf(next)).toEqual([
      'user: Count to eight.',
      `assistant: ${textOf(partial)}`,
      'user: Go on.',
    ]);
  });

  it('two tabs saving at once lose nothing: the later save lands after the earlier one', async () => {
    // Prepare: both tabs read the chat at the same version.
    const chatId = newChat();
    await turn(chats, chatId, userMessage('Hi', 'u0'), mockModel([{ text: 'Hello!' }]));
    const [tabA, tabB] = await Promise.all([chats.openChat(chatId), chats.openChat(chatId)]);
    const turnOf = (chat: ChatHistory, tab: string) => {
      const user = userMessage(`from ${tab}`, `u-${tab}`);
      const reply: UIMessage = {
        id: `a-${tab}`,
        role: 'assistant',
        parts: [{ type: 'text', text: `reply ${tab}` }],
      };
      return chat.save({
        messages: [...chat.messages, user, reply],
        responseMessage: reply,
        isContinuation: false,
      });
    };

    // Act
    await Promise.all([turnOf(tabA, 'A'), turnOf(tabB, 'B')]);
    const loaded = await chats.loadChat(chatId);

    // Assess: all six messages, each once; each tab's pair together.
    const ids = loaded.map((message) => message.id);
    expect(ids).toHaveLength(6);
    expect(new Set(ids).size).toBe(6);
    expect(ids.slice(2).join(',')).toMatch(/^(u-A,a-A,u-B,a-B|u-B,a-B,u-A,a-A)$/);
  });

  it('refuses a continuation that another tab answered after: a typed conflict, nothing written', async () => {
    // Prepare: a reply awaiting a tool output; another tab adds a message after it.
    const chatId = newChat();
    await turn(
      chats,
      chatId,
      userMessage('Weather?', 'u1'),
      mockModel([{ calls: [{ name: 'weather', input: { city: 'Rome' } }] }]),
    );
    const chat = await chats.openChat(chatId);
    const pending = chat.messages[1] as UIMessage;
    const other = await chats.openChat(chatId);
    await other.save({
      messages: [...other.messages, userMessage('never mind', 'u2')],
      responseMessage: { id: 'none', role: 'assistant', parts: [] },
      isContinuation: false,
    });
    const before = await memory.loadAll(chatId);
    const continued = { ...pending, parts: [...pending.parts, { type: 'text' as const, text: 'late' }] };

    // Act
    const error = await chat
      .save({
        messages: [chat.messages[0] as UIMessage, continued],
        responseMessage: continued,
        isContinuation: true,
      })
      .catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(VersionConflictError);
    expect((error as VersionConflictError).currentVersion).toBe(before.version);
    expect(await memory.loadAll(chatId)).toEqual(before);
  });

  it('a retried save changes nothing, also after an answer was lost', async () => {
    // Prepare: a memory whose first append commits but loses its answer.
    const chatId = newChat();
    let lose = true;
    const lossy: ConversationMemory = Object.assign(Object.create(memory), {
      append: async (...args: Parameters<ConversationMemory['append']>) => {
        const result = await memory.append(...args);
        if (lose) {
          lose = false;
          throw new NetworkError('The answer was lost.', { status: 0 });
        }
        return result;
      },
    });
    const lossyChats = new AgentMemoryChatStore({ memory: lossy });
    const chat = await lossyChats.openChat(chatId);
    const user = userMessage('once', 'u1');
    const reply: UIMessage = { id: 'a1', role: 'assistant', parts: [{ type: 'text', text: 'only once' }] };
    const event = { messages: [user, reply], responseMessage: reply, isContinuation: false };

    // Act
    const lost = await chat.save(event).catch((caught: unknown) => caught);
    await chat.save(event);
    await chat.save(event);

    // Assess
    expect(lost).toBeInstanceOf(NetworkError);
    const stored = await memory.loadAll(chatId);
    expect(stored.version).toBe(2);
    expect(stored.messages.map((message) => message.id)).toEqual(['u1', 'a1']);
  });

  it('validates loaded messages against the tools and schemas given (validateUIMessages)', async () => {
    // Prepare: a stored tool part whose input no longer fits the tool's schema.
    const chatId = newChat();
    const chat = await chats.openChat(chatId);
    const reply = {
      id: 'a1',
      role: 'assistant',
      parts: [
        {
          type: 'tool-weather',
          toolCallId: 'c1',
          state: 'output-available',
          input: { town: 'Paris' },
          output: 'x',
        },
      ],
    } as unknown as UIMessage;
    await chat.save({
      messages: [userMessage('hi', 'u1'), reply],
      responseMessage: reply,
      isContinuation: false,
    });
    const strict = new AgentMemoryChatStore({ memory, validate: { tools: { weather } } });

    // Act
    const error = await strict.loadChat(chatId).catch((caught: unknown) => caught);
    const unvalidated = await chats.loadChat(chatId);

    // Assess
    expect(TypeValidationError.isInstance(error)).toBe(true);
    expect(unvalidated).toHaveLength(2);
  });

  it('reads messages written by other means as UI messages: a tool round is one assistant message', async () => {
    // Prepare: the /turns route's shape (assistant with toolCalls, a tool message, the answer).
    const chatId = newChat();
    await memory.append(chatId, [
      { id: 'u1', role: 'user', content: 'Weather?' },
      {
        id: 'a1',
        role: 'assistant',
        content: 'Let me check.',
        toolCalls: [{ id: 'c1', name: 'weather', arguments: '{"city":"Paris"}' }],
      },
      { id: 't1', role: 'tool', toolCallId: 'c1', name: 'weather', content: '18°C' },
      { id: 'a2', role: 'assistant', content: 'It is 18°C.' },
    ]);

    // Act
    const loaded = await chats.loadChat(chatId);

    // Assess
    expect(loaded).toEqual([
      { id: 'u1', role: 'user', parts: [{ type: 'text', text: 'Weather?', state: 'done' }] },
      {
        id: 'a1',
        role: 'assistant',
        parts: [
          { type: 'step-start' },
          { type: 'text', text: 'Let me check.', state: 'done' },
          {
            type: 'tool-weather',
            toolCallId: 'c1',
            state: 'output-available',
            input: { city: 'Paris' },
            output: '18°C',
          },
          { type: 'step-start' },
          { type: 'text', text: 'It is 18°C.', state: 'done' },
        ],
      },
    ]);
  });

  it('a windowed chat (limit) saves after what it read, whatever the history before it', async () => {
    // Prepare
    const chatId = newChat();
    await memory.append(
      chatId,
      Array.from(
        { length: 30 },
        (_, index) => ({ role: index % 2 === 0 ? 'user' : 'assistant', content: `m${index}` }) as const,
      ),
    );
    const model = mockModel([{ text: 'windowed' }]);

    // Act
    const chat = await chats.openChat(chatId, { limit: 4 });
    const messages = chat.messagesWith(userMessage('next', 'u-next'));
    const result = streamText({ model, messages: await convertToModelMessages(messages) });
    for await (const _ of toUIMessageStream({
      stream: result.stream,
      originalMessages: messages,
      generateMessageId: chat.generateMessageId,
      onEnd: chat.save,
    }) as unknown as AsyncIterable<unknown>) {
      // consume
    }

    // Assess: the model saw 4 + 1 messages; the store holds 32.
    expect(chat.messages).toHaveLength(4);
    expect(promptOf(model)).toHaveLength(5);
    expect((await memory.getConversation(chatId))?.messageCount).toBe(32);
  });

  it('opens a chat as "summary + recent" with summary: the summary, and the UI messages after it', async () => {
    // Prepare: 40 messages, the user's fact in message 3, summarized (1-30).
    const chatId = newChat();
    await memory.append(
      chatId,
      Array.from(
        { length: 40 },
        (_, index) =>
          ({
            role: index % 2 === 0 ? 'user' : 'assistant',
            content: index === 2 ? 'My name is Ada and I live in Porto.' : `m${index + 1}`,
          }) as const,
      ),
    );
    await backend.summarized(chatId);
    const model = mockModel([{ text: 'with summary' }]);

    // Act
    const chat = await chats.openChat(chatId, { summary: true });
    const messages = chat.messagesWith(userMessage('Where do I live?', 'u-where'));
    const result = streamText({
      model,
      system: chat.summaryText,
      messages: await convertToModelMessages(messages),
    });
    for await (const _ of toUIMessageStream({
      stream: result.stream,
      originalMessages: messages,
      generateMessageId: chat.generateMessageId,
      onEnd: chat.save,
    }) as unknown as AsyncIterable<unknown>) {
      // consume
    }

    // Assess: the summary covers 1-30 and holds the fact; the model got it as system text and the 10 messages
    // after it; the save landed after everything stored.
    expect(chat.summary).toMatchObject({ fromSeq: 1, throughSeq: 30, messageCount: 30 });
    expect(chat.messages.map(textOf)).toEqual(Array.from({ length: 10 }, (_, i) => `m${31 + i}`));
    const prompt = promptOf(model);
    expect(JSON.stringify(prompt[0])).toContain('My name is Ada and I live in Porto.');
    expect(prompt).toHaveLength(1 + 10 + 1);
    expect((await memory.getConversation(chatId))?.messageCount).toBe(42);
  });
});
