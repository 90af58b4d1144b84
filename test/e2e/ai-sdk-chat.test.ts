import { randomUUID } from 'node:crypto';
import {
  AbstractChat,
  type ChatInit,
  type ChatState,
  type ChatStatus,
  convertToModelMessages,
  DefaultChatTransport,
  lastAssistantMessageIsCompleteWithToolCalls,
  streamText,
  toUIMessageStream,
  type UIMessage,
} from 'ai';
import type { MockLanguageModelV4 } from 'ai/test';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AgentMemoryChatStore } from '../../client/ai-sdk-chat-store.js';
import { AgentMemoryClient, tenantHeaderAuth } from '../../client/index.js';
import { mockModel, promptOf } from '../support/ai-sdk-models.js';
import { ChatCompletionsStub } from './chat-completions-stub.js';
import {
  noModelEnvironment,
  type ServerProcess,
  startServer,
  stopAllServers,
  waitUntil,
} from './server-process.js';

/**
 * The `Chat` that `useChat` wraps, without React: the AI SDK's AbstractChat over a plain state, as
 * @ai-sdk/react's Chat is over React state.
 */
class NodeChat extends AbstractChat<UIMessage> {
  constructor(init: ChatInit<UIMessage>) {
    const state: ChatState<UIMessage> = {
      status: 'ready' as ChatStatus,
      error: undefined,
      messages: init.messages ?? [],
      pushMessage(message) {
        this.messages = [...this.messages, message];
      },
      popMessage() {
        this.messages = this.messages.slice(0, -1);
      },
      replaceMessage(index, message) {
        this.messages = this.messages.map((current, at) => (at === index ? message : current));
      },
      snapshot: (value) => structuredClone(value),
    };
    super({ ...init, state });
  }
}

const textOf = (message: UIMessage | undefined) =>
  (message?.parts ?? []).flatMap((part) => (part.type === 'text' ? [part.text] : [])).join('');

describe('useChat (AbstractChat + DefaultChatTransport) against npm start', () => {
  const tenant = `tenant-${randomUUID()}`;
  const headers = { 'x-tenant-id': tenant };
  afterAll(stopAllServers);

  /** A transport as a browser app configures it: the chat route of the server, auth headers. */
  const transport = (
    server: ServerProcess,
    extra: ConstructorParameters<typeof DefaultChatTransport>[0] = {},
  ) => new DefaultChatTransport<UIMessage>({ api: `${server.url}/v1/chats`, headers, ...extra });
  const chatStore = (server: ServerProcess) =>
    new AgentMemoryChatStore({
      memory: new AgentMemoryClient({ baseUrl: server.url, auth: tenantHeaderAuth(tenant) }),
    });

  /** A turn of your own route (README): the AI SDK's streamText and toUIMessageStream, saved by the store. */
  const routeTurn = async (
    server: ServerProcess,
    chatId: string,
    text: string,
    model: MockLanguageModelV4,
  ) => {
    const chat = await chatStore(server).openChat(chatId);
    const messages = chat.messagesWith({
      id: `u-${randomUUID()}`,
      role: 'user',
      parts: [{ type: 'text', text }],
    });
    const result = streamText({ model, messages: await convertToModelMessages(messages) });
    const stream = toUIMessageStream({
      stream: result.stream,
      originalMessages: messages,
      generateMessageId: chat.generateMessageId,
      onEnd: chat.save,
    });
    for await (const _ of stream as unknown as AsyncIterable<unknown>) {
      // The browser would read these.
    }
  };

  it('turn 1 in one server process, turn 2 in a fresh one: the model sees turn 1, the client state is what is stored', async () => {
    // Prepare: useChat straight to the chat route (chatId), and your own route with the store (routeChatId).
    // Two server processes one after the other on one DynamoDB, as Lambda replicas and cold starts are.
    const table = {
      dynamoDbEndpoint: inject('dynamoDbEndpoint'),
      tableName: `e2e-ai-sdk-restart-${randomUUID()}`,
      env: { ...noModelEnvironment, MODEL_PROVIDER: 'offline' },
    };
    const chatId = `chat-${randomUUID()}`;
    const routeChatId = `route-${randomUUID()}`;
    const secondRouteModel = mockModel([{ text: 'You are Ada.' }]);
    let server = await startServer(table);
    const first = new NodeChat({
      id: chatId,
      // Only the new message, as the AI SDK's persistence guide recommends.
      transport: transport(server, {
        prepareSendMessagesRequest: ({ id, messages }) => ({ body: { id, message: messages.at(-1) } }),
      }),
    });

    // Act: turn 1, then the server stopped and a fresh one started, then turn 2 from a new page that loads the chat.
    await first.sendMessage({ text: 'My name is Ada.' });
    await routeTurn(server, routeChatId, 'My name is Ada.', mockModel([{ text: 'Hello Ada.' }]));
    server.signalGroup('SIGTERM');
    await server.exited;
    server = await startServer(table);
    const loaded = await chatStore(server).loadChat(chatId);
    // DefaultChatTransport's default body: every message. A tampered copy of an old one must change nothing.
    const tampered = loaded.map((message, index) =>
      index === 0 ? { ...message, parts: [{ type: 'text' as const, text: 'My name is Eve.' }] } : message,
    );
    const second = new NodeChat({ id: chatId, messages: tampered, transport: transport(server) });
    await second.sendMessage({ text: 'What is my name?' });
    const stored = await chatStore(server).loadChat(chatId);
    await routeTurn(server, routeChatId, 'What is my name?', secondRouteModel);

    // Assess
    expect(first.status).toBe('ready');
    expect(textOf(first.messages[1])).toBe('[offline] history: 0 messages, you said: My name is Ada.');
    expect(loaded).toEqual(first.messages);
    expect(textOf(second.messages[3])).toBe('[offline] history: 2 messages, you said: What is my name?');
    expect(stored).toEqual([...first.messages, ...second.messages.slice(2)]);
    expect(textOf(stored[0])).toBe('My name is Ada.');
    // Your own route: the model of turn 2, in the fresh server's time, was given turn 1.
    expect(promptOf(secondRouteModel)).toEqual([
      'user: My name is Ada.',
      'assistant: Hello Ada.',
      'user: What is my name?',
    ]);
    expect((await chatStore(server).loadChat(routeChatId)).map(textOf)).toEqual([
      'My name is Ada.',
      'Hello Ada.',
      'What is my name?',
      'You are Ada.',
    ]);
  });

  describe('on one server', () => {
    let server: ServerProcess;
    const page = 'http://localhost:3001';
    beforeAll(async () => {
      server = await startServer({
        dynamoDbEndpoint: inject('dynamoDbEndpoint'),
        tableName: `e2e-ai-sdk-${randomUUID()}`,
        env: { ...noModelEnvironment, MODEL_PROVIDER: 'offline', CORS_ALLOW_ORIGINS: page },
      });
    });

    it('lets a page of another origin call it (CORS_ALLOW_ORIGINS): preflight, then the stream', async () => {
      // Act: what a browser does before and for a cross-origin POST with an Authorization header.
      const preflight = await fetch(`${server.url}/v1/chats`, {
        method: 'OPTIONS',
        headers: {
          origin: page,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,content-type',
        },
      });
      const chat = await fetch(`${server.url}/v1/chats`, {
        method: 'POST',
        headers: { ...headers, origin: page, 'content-type': 'application/json' },
        body: JSON.stringify({
          id: `cors-${randomUUID()}`,
          message: { id: 'u1', role: 'user', parts: [{ type: 'text', text: 'hi' }] },
        }),
      });
      const other = await fetch(`${server.url}/v1/chats/x/stream`, {
        headers: { ...headers, origin: 'https://evil.example' },
      });

      // Assess
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-origin')).toBe(page);
      expect(preflight.headers.get('access-control-allow-headers')).toBe('authorization,content-type');
      expect(chat.status).toBe(200);
      expect(chat.headers.get('access-control-allow-origin')).toBe(page);
      expect(await chat.text()).toContain('"type":"finish"');
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
    });

    it('runs a client-side tool (onToolCall, addToolOutput, sendAutomaticallyWhen): one assistant message with that id', async () => {
      // Prepare
      const chatId = `tools-${randomUUID()}`;
      const calls: unknown[] = [];
      const chat: NodeChat = new NodeChat({
        id: chatId,
        transport: transport(server, {
          body: { tools: [{ name: 'weather', inputSchema: { type: 'object' } }] },
        }),
        sendAutomaticallyWhen: lastAssistantMessageIsCompleteWithToolCalls,
        onToolCall: ({ toolCall }) => {
          calls.push(toolCall.input);
          void chat.addToolOutput({ tool: 'weather', toolCallId: toolCall.toolCallId, output: '18°C, rain' });
        },
      });

      // Act
      await chat.sendMessage({ text: 'use weather city=Paris' });
      const stored = await chatStore(server).loadChat(chatId);

      // Assess
      expect(calls).toEqual([{ city: 'Paris' }]);
      expect(chat.messages.map((message) => message.role)).toEqual(['user', 'assistant']);
      expect((chat.messages[1] as UIMessage).parts.map((part) => part.type)).toEqual([
        'step-start',
        'tool-weather',
        'step-start',
        'text',
      ]);
      expect(textOf(chat.messages[1])).toBe('[offline] tool results: weather=18°C, rain');
      expect(stored).toEqual(chat.messages);
      const raw = await new AgentMemoryClient({
        baseUrl: server.url,
        auth: tenantHeaderAuth(tenant),
      }).loadAll(chatId);
      expect(raw.messages.filter((message) => message.id === chat.messages[1]?.id)).toHaveLength(1);
    });

    it('answers a retried request (same message) from the store, without a second reply', async () => {
      // Prepare
      const chatId = `retry-${randomUUID()}`;
      const message = { id: `u-${randomUUID()}`, role: 'user', parts: [{ type: 'text', text: 'once' }] };
      const post = () =>
        fetch(`${server.url}/v1/chats`, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json' },
          body: JSON.stringify({ id: chatId, message }),
        }).then((response) => response.text());

      // Act
      const first = await post();
      const retry = await post();

      // Assess
      const start = (text: string) => /"type":"start","messageId":"([^"]+)"/.exec(text)?.[1];
      expect(start(retry)).toBe(start(first));
      expect(retry).toContain('"type":"finish"');
      const stored = await chatStore(server).loadChat(chatId);
      expect(stored.map((stored) => stored.role)).toEqual(['user', 'assistant']);
    });
  });

  describe('resuming a stream (a model that streams 10 pieces 150 ms apart)', () => {
    const stub = new ChatCompletionsStub();
    const pieces = ['The ', 'answer ', 'arrives ', 'one ', 'piece ', 'at ', 'a ', 'time, ', 'slowly', '.'];
    let server: ServerProcess;

    beforeAll(async () => {
      await stub.start();
      stub.answer = () => ({ stream: pieces, delayMs: 150 });
      server = await startServer({
        dynamoDbEndpoint: inject('dynamoDbEndpoint'),
        tableName: `e2e-ai-sdk-resume-${randomUUID()}`,
        env: {
          ...noModelEnvironment,
          MODEL_PROVIDER: 'openai',
          MODEL_ID: 'slow-model',
          OPENAI_BASE_URL: stub.baseUrl,
          OPENAI_API_KEY: 'stub-key',
        },
      });
    });
    afterAll(() => stub.stop());

    it('a client that reconnects mid-stream gets the rest; its text equals the stored reply', async () => {
      // Prepare: a chat whose connection drops after the first words.
      const chatId = `resume-${randomUUID()}`;
      const resumed: number[] = [];
      const recording: typeof fetch = async (input, init) => {
        const response = await fetch(input, init);
        if (init?.method === 'GET') resumed.push(response.status);
        return response;
      };
      const chat = new NodeChat({ id: chatId, transport: transport(server, { fetch: recording }) });
      const sending = chat.sendMessage({ text: 'Tell me slowly.' });
      expect(await waitUntil(() => textOf(chat.messages[1]).length > 0, 10_000)).toBe(true);
      await chat.stop(); // what a dropped connection (or a closed tab) does to the client: the turn goes on
      await sending;
      const beforeResume = textOf(chat.messages[1]);
      // A second page, opened mid-stream: it resumes on mount (useChat({ resume: true })).
      const otherPage = new NodeChat({
        id: chatId,
        messages: await chatStore(server).loadChat(chatId),
        transport: transport(server, { fetch: recording }),
      });

      // Act
      await Promise.all([chat.resumeStream(), otherPage.resumeStream()]);
      const stored = await chatStore(server).loadChat(chatId);
      const afterwards = await fetch(`${server.url}/v1/chats/${chatId}/stream`, { headers });

      // Assess
      const reply = stored.at(-1);
      expect(textOf(reply)).toBe(pieces.join(''));
      expect(beforeResume.length).toBeGreaterThan(0);
      expect(beforeResume.length).toBeLessThan(pieces.join('').length);
      expect(textOf(chat.messages.at(-1))).toBe(textOf(reply));
      expect(chat.messages.at(-1)).toEqual(reply);
      expect(otherPage.messages.at(-1)).toEqual(reply);
      expect(chat.status).toBe('ready');
      expect(resumed).toEqual([200, 200]);
      expect(afterwards.status).toBe(204);
    });
  });
});
