import {
  BedrockRuntimeClient,
  ConverseCommand,
  type ConverseCommandOutput,
  ModelTimeoutException,
  ThrottlingException,
  ValidationException,
} from '@aws-sdk/client-bedrock-runtime';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { BedrockConverseModel } from '../../../lambda/agent/bedrock-converse-model.js';
import { ModelError, ModelTimeoutError } from '../../../lambda/agent/model-errors.js';
import type { MessageInput } from '../../../lambda/memory/message.js';
import { assistant, storedHistory, toolResult, user } from './stored-history.js';

const bedrock = mockClient(BedrockRuntimeClient);
const modelId = 'us.amazon.nova-lite-v1:0';
const model = new BedrockConverseModel({
  client: new BedrockRuntimeClient({ region: 'us-east-1' }),
  modelId,
});

const answer = (text: string): ConverseCommandOutput => ({
  output: { message: { role: 'assistant', content: [{ text }] } },
  stopReason: 'end_turn',
  usage: { inputTokens: 10, outputTokens: 3, totalTokens: 13 },
  metrics: { latencyMs: 5 },
  $metadata: {},
});

const ask = (history: MessageInput[], message: MessageInput, system?: string, signal?: AbortSignal) =>
  model.reply({
    system,
    history: storedHistory(...history),
    messages: [message],
    signal: signal ?? new AbortController().signal,
  });

const serviceError = <T>(Type: new (options: { message: string; $metadata: object }) => T, message: string) =>
  new Type({ message, $metadata: {} });

describe('BedrockConverseModel', () => {
  beforeEach(() => {
    bedrock.reset();
    bedrock.on(ConverseCommand).resolves(answer('ok'));
  });

  describe('request', () => {
    it('sends the model id, the system prompt and the history in order, ending with the new message', async () => {
      // Prepare
      const history = [user('hi'), assistant('hello')];

      // Act
      await ask(history, user('how are you?'), 'Be brief.');

      // Assess
      expect(bedrock).toHaveReceivedCommandExactlyOnceWith(ConverseCommand, {
        modelId,
        system: [{ text: 'Be brief.' }],
        messages: [
          { role: 'user', content: [{ text: 'hi' }] },
          { role: 'assistant', content: [{ text: 'hello' }] },
          { role: 'user', content: [{ text: 'how are you?' }] },
        ],
      });
      expect(bedrock.commandCalls(ConverseCommand)[0]?.args[0].input.toolConfig).toBeUndefined();
    });

    it('moves system and developer messages into system blocks, after the turn prompt', async () => {
      // Prepare
      const history: MessageInput[] = [
        { role: 'system', content: 'You are a pirate.' },
        user('hi'),
        { role: 'developer', content: [{ type: 'text', text: 'Answer in French.' }] },
        assistant('ahoy'),
      ];

      // Act
      await ask(history, user('and now?'), 'Turn prompt.');

      // Assess
      const input = bedrock.commandCalls(ConverseCommand)[0]?.args[0].input;
      expect(input?.system).toEqual([
        { text: 'Turn prompt.' },
        { text: 'You are a pirate.' },
        { text: 'Answer in French.' },
      ]);
      expect(input?.messages?.map((message) => message.role)).toEqual(['user', 'assistant', 'user']);
    });

    it('turns tool calls into toolUse blocks and tool messages into toolResult blocks, with a toolConfig', async () => {
      // Prepare
      const history: MessageInput[] = [
        user('weather in Paris and Rome?'),
        assistant('Let me check.', [
          { id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
          { id: 'call_2', name: 'get_weather', arguments: { city: 'Rome' } },
        ]),
        toolResult('call_1', '18 C'),
        toolResult('call_2', '24 C'),
        assistant('Paris 18 C, Rome 24 C.'),
      ];

      // Act
      await ask(history, user('thanks'));

      // Assess
      expect(bedrock).toHaveReceivedCommandWith(ConverseCommand, {
        messages: [
          { role: 'user', content: [{ text: 'weather in Paris and Rome?' }] },
          {
            role: 'assistant',
            content: [
              { text: 'Let me check.' },
              { toolUse: { toolUseId: 'call_1', name: 'get_weather', input: { city: 'Paris' } } },
              { toolUse: { toolUseId: 'call_2', name: 'get_weather', input: { city: 'Rome' } } },
            ],
          },
          {
            role: 'user',
            content: [
              { toolResult: { toolUseId: 'call_1', content: [{ text: '18 C' }] } },
              { toolResult: { toolUseId: 'call_2', content: [{ text: '24 C' }] } },
            ],
          },
          { role: 'assistant', content: [{ text: 'Paris 18 C, Rome 24 C.' }] },
          { role: 'user', content: [{ text: 'thanks' }] },
        ],
        toolConfig: {
          tools: [
            {
              toolSpec: {
                name: 'get_weather',
                description: 'A tool called earlier in this conversation.',
                inputSchema: { json: { type: 'object' } },
              },
            },
          ],
        },
      });
    });

    it('merges consecutive same-role messages and skips blank text, so roles alternate', async () => {
      // Prepare
      const history: MessageInput[] = [
        user('one'),
        user('two'),
        assistant(''),
        assistant('three'),
        assistant('four'),
        toolResult('call_x', 'orphan'),
      ];

      // Act
      await ask(history, user('five'));

      // Assess
      expect(bedrock).toHaveReceivedCommandWith(ConverseCommand, {
        messages: [
          { role: 'user', content: [{ text: 'one' }, { text: 'two' }] },
          { role: 'assistant', content: [{ text: 'three' }, { text: 'four' }] },
          { role: 'user', content: [{ text: '[result of tool call call_x] orphan' }, { text: 'five' }] },
        ],
      });
    });

    it('starts with a placeholder user message when the window starts with the assistant', async () => {
      // Act
      await ask([assistant('as I said')], user('go on'));

      // Assess
      const messages = bedrock.commandCalls(ConverseCommand)[0]?.args[0].input.messages;
      expect(messages?.map((message) => message.role)).toEqual(['user', 'assistant', 'user']);
      expect(messages?.[0]?.content).toEqual([
        { text: '(earlier messages of this conversation are omitted)' },
      ]);
    });

    it('writes an unanswered tool call as text, so the request stays valid', async () => {
      // Prepare
      const history = [
        user('look it up'),
        assistant('', [{ id: 'c1', name: 'lookup', arguments: '{"q":1}' }]),
      ];

      // Act
      await ask(history, user('never mind'));

      // Assess
      const input = bedrock.commandCalls(ConverseCommand)[0]?.args[0].input;
      expect(input?.messages?.[1]).toEqual({
        role: 'assistant',
        content: [{ text: '[tool call lookup({"q":1}) has no result]' }],
      });
      expect(input?.toolConfig).toBeUndefined();
    });

    it('sends inline images as image blocks and other parts as text notes', async () => {
      // Prepare
      const png = Buffer.from([0x89, 0x50, 0x4e, 0x47]);
      const message = user([
        { type: 'text', text: 'What is this?' },
        { type: 'image_url', image_url: { url: `data:image/png;base64,${png.toString('base64')}` } },
        { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } },
        { type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } },
      ]);

      // Act
      await ask([], message);

      // Assess
      const content = bedrock.commandCalls(ConverseCommand)[0]?.args[0].input.messages?.[0]?.content;
      expect(content).toEqual([
        { text: 'What is this?' },
        { image: { format: 'png', source: { bytes: new Uint8Array(png) } } },
        { text: '[image omitted: only inline png, jpeg, gif or webp data URLs are supported]' },
        { text: '[input_audio content omitted]' },
      ]);
    });

    it('sends arguments that are not a JSON object wrapped, and cleans tool names Converse refuses', async () => {
      // Prepare
      const history = [
        user('x'),
        assistant('', [{ id: 'call.1', name: 'functions.search', arguments: 'not json' }]),
        toolResult('call.1', ''),
      ];

      // Act
      await ask(history, user('y'));

      // Assess
      const input = bedrock.commandCalls(ConverseCommand)[0]?.args[0].input;
      expect(input?.messages?.[1]?.content).toEqual([
        { toolUse: { toolUseId: 'call_1', name: 'functions_search', input: { arguments: 'not json' } } },
      ]);
      expect(input?.messages?.[2]?.content?.[0]).toEqual({
        toolResult: { toolUseId: 'call_1', content: [{ text: '(empty result)' }] },
      });
      expect(input?.toolConfig?.tools?.[0]?.toolSpec?.name).toBe('functions_search');
    });
  });

  describe('response', () => {
    it('maps text and toolUse blocks to the reply, with stop reason and usage in metadata', async () => {
      // Prepare
      bedrock.on(ConverseCommand).resolves({
        output: {
          message: {
            role: 'assistant',
            content: [
              { text: 'Checking.' },
              { toolUse: { toolUseId: 'tooluse_1', name: 'get_weather', input: { city: 'Oslo' } } },
            ],
          },
        },
        stopReason: 'tool_use',
        usage: { inputTokens: 42, outputTokens: 7, totalTokens: 49 },
        metrics: { latencyMs: 100 },
        $metadata: {},
      });

      // Act
      const reply = await ask([], user('weather in Oslo?'));

      // Assess
      expect(reply).toEqual({
        role: 'assistant',
        content: 'Checking.',
        toolCalls: [{ id: 'tooluse_1', name: 'get_weather', arguments: '{"city":"Oslo"}' }],
        metadata: { stopReason: 'tool_use', usage: { inputTokens: 42, outputTokens: 7, totalTokens: 49 } },
      });
    });

    it('joins several text blocks and has no toolCalls when none were made', async () => {
      // Prepare
      bedrock.on(ConverseCommand).resolves({
        output: { message: { role: 'assistant', content: [{ text: 'one' }, { text: 'two' }] } },
        stopReason: 'end_turn',
        usage: undefined,
        metrics: undefined,
        $metadata: {},
      });

      // Act
      const reply = await ask([], user('count'));

      // Assess
      expect(reply).toEqual({ role: 'assistant', content: 'one\ntwo', metadata: { stopReason: 'end_turn' } });
    });

    it('is a ModelError when the answer holds no message', async () => {
      // Prepare
      bedrock.on(ConverseCommand).resolves({
        $metadata: {},
        output: undefined,
        stopReason: 'end_turn',
        usage: undefined,
        metrics: undefined,
      });

      // Act
      const reply = ask([], user('hi'));

      // Assess
      await expect(reply).rejects.toThrow(ModelError);
    });
  });

  describe('errors', () => {
    it('turns throttling into a ModelError that keeps the SDK error as its cause only', async () => {
      // Prepare
      const throttled = serviceError(ThrottlingException, 'Too many tokens, account 123456789012');
      bedrock.on(ConverseCommand).rejects(throttled);

      // Act
      const error = await ask([], user('hi')).catch((caught: unknown) => caught);

      // Assess
      expect(error).toBeInstanceOf(ModelError);
      expect(error).toMatchObject({ code: 'model_error', cause: throttled });
      expect((error as Error).message).toBe('The model provider is throttling requests; retry shortly.');
      expect((error as Error).message).not.toContain('123456789012');
    });

    it('turns a validation error into a ModelError', async () => {
      // Prepare
      const invalid = serviceError(ValidationException, 'messages.0: blank text');
      bedrock.on(ConverseCommand).rejects(invalid);

      // Act
      const error = await ask([], user('hi')).catch((caught: unknown) => caught);

      // Assess
      expect(error).toBeInstanceOf(ModelError);
      expect(error).toMatchObject({ message: 'The model provider rejected the request.', cause: invalid });
    });

    it("turns Bedrock's own ModelTimeoutException into a ModelTimeoutError", async () => {
      // Prepare
      bedrock.on(ConverseCommand).rejects(serviceError(ModelTimeoutException, 'took too long'));

      // Act
      const error = await ask([], user('hi')).catch((caught: unknown) => caught);

      // Assess
      expect(error).toBeInstanceOf(ModelTimeoutError);
      expect(error).toMatchObject({ code: 'model_timeout' });
    });

    it('stops waiting and throws ModelTimeoutError when the signal aborts', async () => {
      // Prepare
      bedrock.on(ConverseCommand).callsFake(() => new Promise(() => undefined));
      const started = Date.now();

      // Act
      const error = await ask([], user('hi'), undefined, AbortSignal.timeout(50)).catch(
        (caught: unknown) => caught,
      );

      // Assess
      expect(error).toBeInstanceOf(ModelTimeoutError);
      expect(Date.now() - started).toBeLessThan(2000);
    });

    it('passes the signal to the SDK and maps its AbortError to ModelTimeoutError', async () => {
      // Prepare
      const controller = new AbortController();
      const aborted = Object.assign(new Error('Request aborted'), { name: 'AbortError' });
      bedrock.on(ConverseCommand).callsFake(() => {
        controller.abort();
        return Promise.reject(aborted);
      });

      // Act
      const error = await ask([], user('hi'), undefined, controller.signal).catch(
        (caught: unknown) => caught,
      );

      // Assess
      expect(error).toBeInstanceOf(ModelTimeoutError);
      const options = (bedrock.commandCalls(ConverseCommand)[0]?.args as unknown[] | undefined)?.[1];
      expect(options).toMatchObject({
        abortSignal: controller.signal,
      });
    });
  });
});
