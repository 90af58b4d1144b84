import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createChatModel } from '../../../lambda/agent/chat-model-factory.js';
import { ModelError, ModelTimeoutError } from '../../../lambda/agent/model-errors.js';
import { apiKeyFromValue } from '../../../lambda/agent/openai-api-key.js';
import { OpenAiCompatibleModel } from '../../../lambda/agent/openai-compatible-model.js';
import type { MessageInput } from '../../../lambda/memory/message.js';
import { assistant, storedHistory, toolResult, user } from './stored-history.js';

interface Received {
  method: string | undefined;
  url: string | undefined;
  headers: IncomingMessage['headers'];
  body: unknown;
}

/** A chat-completions stub on 127.0.0.1 (free port): records each request, answers with `respond`. */
class ChatCompletionsStub {
  readonly received: Received[] = [];
  respond: (response: ServerResponse) => void = (response) => this.json(response, 200, completion('ok'));
  private readonly server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      this.received.push({
        method: request.method,
        url: request.url,
        headers: request.headers,
        body: text ? JSON.parse(text) : undefined,
      });
      this.respond(response);
    });
  });

  async start(): Promise<string> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close');
  }

  json(response: ServerResponse, status: number, body: unknown): void {
    response.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
  }
}

const completion = (content: string | null) => ({
  id: 'chatcmpl-1',
  object: 'chat.completion',
  model: 'gpt-test',
  choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 12, completion_tokens: 4, total_tokens: 16 },
});

const stub = new ChatCompletionsStub();
let baseUrl: string;
const modelOf = (root = baseUrl) =>
  new OpenAiCompatibleModel({
    baseUrl: `${root}/v1/`,
    modelId: 'gpt-test',
    apiKey: apiKeyFromValue('sk-test'),
  });
const ask = (
  history: MessageInput[],
  message: MessageInput,
  options: { system?: string; signal?: AbortSignal } = {},
) =>
  modelOf().reply({
    system: options.system,
    history: storedHistory(...history),
    messages: [message],
    signal: options.signal ?? new AbortController().signal,
  });

describe('OpenAiCompatibleModel', () => {
  beforeAll(async () => {
    baseUrl = await stub.start();
  });
  afterAll(() => stub.stop());
  beforeEach(() => {
    stub.received.length = 0;
    stub.respond = (response) => stub.json(response, 200, completion('ok'));
  });

  describe('request', () => {
    it('posts the model and messages to {baseUrl}/chat/completions with the bearer key', async () => {
      // Act
      await ask([user('hi'), assistant('hello')], user('bye'), { system: 'Be brief.' });

      // Assess
      expect(stub.received).toHaveLength(1);
      const [request] = stub.received;
      expect(request).toMatchObject({ method: 'POST', url: '/v1/chat/completions' });
      expect(request?.headers.authorization).toBe('Bearer sk-test');
      expect(request?.headers['content-type']).toBe('application/json');
      expect(request?.body).toEqual({
        model: 'gpt-test',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'hi' },
          { role: 'assistant', content: 'hello' },
          { role: 'user', content: 'bye' },
        ],
      });
    });

    it('sends tool calls with string arguments and tool results with tool_call_id', async () => {
      // Prepare
      const history: MessageInput[] = [
        { role: 'developer', content: 'Use tools.' },
        { role: 'user', content: 'weather?', name: 'alice' },
        assistant('', [
          { id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
          { id: 'call_2', name: 'get_weather', arguments: { city: 'Rome' } },
        ]),
        toolResult('call_1', '18 C'),
        toolResult('call_2', '24 C'),
      ];

      // Act
      await ask(
        history,
        user([
          { type: 'text', text: 'and?' },
          { type: 'file', file: { file_id: 'f1' } },
        ]),
      );

      // Assess
      expect(stub.received[0]?.body).toEqual({
        model: 'gpt-test',
        messages: [
          { role: 'system', content: 'Use tools.' },
          { role: 'user', content: 'weather?', name: 'alice' },
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              {
                id: 'call_1',
                type: 'function',
                function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
              },
              {
                id: 'call_2',
                type: 'function',
                function: { name: 'get_weather', arguments: '{"city":"Rome"}' },
              },
            ],
          },
          { role: 'tool', content: '18 C', tool_call_id: 'call_1' },
          { role: 'tool', content: '24 C', tool_call_id: 'call_2' },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'and?' },
              { type: 'text', text: '[file content omitted]' },
            ],
          },
        ],
      });
    });
  });

  describe('response', () => {
    it('maps tool_calls to toolCalls, and finish reason and usage to metadata', async () => {
      // Prepare
      const toolCall = {
        id: 'call_9',
        type: 'function',
        function: { name: 'lookup', arguments: '{"q":"duck"}' },
      };
      stub.respond = (response) =>
        stub.json(response, 200, {
          ...completion(null),
          choices: [
            {
              index: 0,
              message: { role: 'assistant', content: null, tool_calls: [toolCall] },
              finish_reason: 'tool_calls',
            },
          ],
        });

      // Act
      const reply = await ask([], user('find a duck'));

      // Assess
      expect(reply).toEqual({
        role: 'assistant',
        content: '',
        toolCalls: [{ id: 'call_9', name: 'lookup', arguments: '{"q":"duck"}' }],
        metadata: { stopReason: 'tool_calls', usage: { inputTokens: 12, outputTokens: 4, totalTokens: 16 } },
      });
    });

    it('maps a text answer', async () => {
      // Act
      const reply = await ask([], user('hi'));

      // Assess
      expect(reply).toEqual({
        role: 'assistant',
        content: 'ok',
        metadata: { stopReason: 'stop', usage: { inputTokens: 12, outputTokens: 4, totalTokens: 16 } },
      });
    });
  });

  describe('errors', () => {
    it('turns a 500 into a ModelError whose message hides the body', async () => {
      // Prepare
      stub.respond = (response) =>
        stub.json(response, 500, { error: { message: 'internal: key sk-secret-123' } });

      // Act
      const error = await ask([], user('hi')).catch((caught: unknown) => caught);

      // Assess
      expect(error).toBeInstanceOf(ModelError);
      expect((error as Error).message).toBe('The model provider failed (HTTP 500).');
      expect(String((error as Error).cause)).toContain('sk-secret-123');
    });

    it('turns a 429 into a throttling ModelError', async () => {
      // Prepare
      stub.respond = (response) => stub.json(response, 429, { error: { message: 'rate limited' } });

      // Act
      const error = await ask([], user('hi')).catch((caught: unknown) => caught);

      // Assess
      expect(error).toBeInstanceOf(ModelError);
      expect((error as Error).message).toBe('The model provider is throttling requests; retry shortly.');
    });

    it('turns an answer that is not a completion into a ModelError', async () => {
      // Prepare
      stub.respond = (response) => stub.json(response, 200, { choices: [] });

      // Act
      const error = await ask([], user('hi')).catch((caught: unknown) => caught);

      // Assess
      expect(error).toBeInstanceOf(ModelError);
      expect((error as Error).message).toBe('The model provider returned an unreadable answer.');
    });

    it('turns a slow server into a ModelTimeoutError at the deadline', async () => {
      // Prepare
      stub.respond = (response) => {
        setTimeout(() => stub.json(response, 200, completion('too late')), 3000).unref();
      };
      const started = Date.now();

      // Act
      const error = await ask([], user('hi'), { signal: AbortSignal.timeout(100) }).catch(
        (caught: unknown) => caught,
      );

      // Assess
      expect(error).toBeInstanceOf(ModelTimeoutError);
      expect(Date.now() - started).toBeLessThan(2000);
    });

    it('turns an unreachable server into a ModelError', async () => {
      // Prepare
      const closed = new ChatCompletionsStub();
      const closedUrl = await closed.start();
      await closed.stop();

      // Act
      const error = await modelOf(closedUrl)
        .reply({ history: [], messages: [user('hi')], signal: new AbortController().signal })
        .catch((caught: unknown) => caught);

      // Assess
      expect(error).toBeInstanceOf(ModelError);
      expect((error as Error).message).toBe('The model provider could not be reached.');
    });
  });

  describe('key from Secrets Manager', () => {
    const secrets = mockClient(SecretsManagerClient);
    const secretArn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:openai-AbCdEf';
    const modelWithSecret = () =>
      createChatModel(
        { provider: 'openai', modelId: 'gpt-test', baseUrl: `${baseUrl}/v1`, apiKey: { secretArn } },
        { secretsClient: new SecretsManagerClient({ region: 'us-east-1' }) },
      );
    const turn = { history: [], messages: [user('hi')], signal: new AbortController().signal };

    beforeEach(() => secrets.reset());

    it('reads the secret once and sends it as the bearer key on every call', async () => {
      // Prepare
      secrets.on(GetSecretValueCommand).resolves({ SecretString: 'sk-from-secret' });
      const model = await modelWithSecret();

      // Act
      await model.reply(turn);
      await model.reply(turn);

      // Assess
      expect(secrets).toHaveReceivedCommandExactlyOnceWith(GetSecretValueCommand, { SecretId: secretArn });
      expect(stub.received.map((request) => request.headers.authorization)).toEqual([
        'Bearer sk-from-secret',
        'Bearer sk-from-secret',
      ]);
    });

    it('accepts a JSON secret with an apiKey field', async () => {
      // Prepare
      secrets.on(GetSecretValueCommand).resolves({ SecretString: '{"apiKey":"sk-json"}' });

      // Act
      await (await modelWithSecret()).reply(turn);

      // Assess
      expect(stub.received[0]?.headers.authorization).toBe('Bearer sk-json');
    });

    it('is a ModelError when the secret cannot be read, and tries again on the next call', async () => {
      // Prepare
      secrets
        .on(GetSecretValueCommand)
        .rejectsOnce(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }))
        .resolves({ SecretString: 'sk-second-try' });
      const model = await modelWithSecret();

      // Act
      const first = await model.reply(turn).catch((caught: unknown) => caught);
      await model.reply(turn);

      // Assess
      expect(first).toBeInstanceOf(ModelError);
      expect(stub.received).toHaveLength(1);
      expect(stub.received[0]?.headers.authorization).toBe('Bearer sk-second-try');
      expect(secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
    });
  });
});
