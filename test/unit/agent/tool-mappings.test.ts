import {
  BedrockRuntimeClient,
  ConverseStreamCommand,
  type ConverseStreamOutput,
} from '@aws-sdk/client-bedrock-runtime';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { ConverseStreamAssembler, toConverseInput } from '../../../lambda/agent/bedrock-converse-mapping.js';
import { BedrockConverseModel } from '../../../lambda/agent/bedrock-converse-model.js';
import type { ModelStreamEvent } from '../../../lambda/agent/chat-model.js';
import { ModelError } from '../../../lambda/agent/model-errors.js';
import { apiKeyFromValue } from '../../../lambda/agent/openai-api-key.js';
import {
  ChatCompletionStreamAssembler,
  toChatCompletionRequest,
} from '../../../lambda/agent/openai-chat-mapping.js';
import { OpenAiCompatibleModel } from '../../../lambda/agent/openai-compatible-model.js';
import type { ToolDefinition } from '../../../lambda/agent/tools.js';
import { assistant, storedHistory, user } from './stored-history.js';

const weather: ToolDefinition = {
  name: 'weather',
  description: 'The weather in a city.',
  inputSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};
const clock: ToolDefinition = { name: 'clock', inputSchema: { type: 'object' } };

/** A conversation whose last reply called two tools in parallel, and their results (one failed). */
const parallelCalls = storedHistory(
  user('weather and time in Paris?'),
  assistant('Let me look.', [
    { id: 'call-1', name: 'weather', arguments: '{"city":"Paris"}' },
    { id: 'call-2', name: 'clock', arguments: { city: 'Paris' } },
  ]),
);
const results = [
  { role: 'tool' as const, toolCallId: 'call-1', name: 'weather', content: '18°C' },
  {
    role: 'tool' as const,
    toolCallId: 'call-2',
    name: 'clock',
    content: 'clock offline',
    metadata: { isError: true },
  },
];

const recorder = () => {
  const events: ModelStreamEvent[] = [];
  return { events, onEvent: (event: ModelStreamEvent) => events.push(event) };
};

describe('Bedrock Converse tool mapping', () => {
  it('offers the tools with their schemas and maps every tool choice', () => {
    // Act
    const choices = (['auto', 'required', { name: 'clock' }, 'none'] as const).map(
      (toolChoice) =>
        toConverseInput('m', { history: [], messages: [user('hi')], tools: [weather, clock], toolChoice })
          .toolConfig,
    );

    // Assess
    expect(choices[0]).toEqual({
      tools: [
        {
          toolSpec: {
            name: 'weather',
            description: 'The weather in a city.',
            inputSchema: { json: weather.inputSchema },
          },
        },
        { toolSpec: { name: 'clock', inputSchema: { json: { type: 'object' } } } },
      ],
      toolChoice: { auto: {} },
    });
    expect(choices[1]?.toolChoice).toEqual({ any: {} });
    expect(choices[2]?.toolChoice).toEqual({ tool: { name: 'clock' } });
    expect(choices[3]).toBeUndefined();
  });

  it('sends parallel calls as toolUse blocks of one message and their results in the next, with error status', () => {
    // Act
    const input = toConverseInput('m', {
      history: parallelCalls,
      messages: results,
      tools: [weather, clock],
    });

    // Assess
    expect(input.messages?.slice(1)).toEqual([
      {
        role: 'assistant',
        content: [
          { text: 'Let me look.' },
          { toolUse: { toolUseId: 'call-1', name: 'weather', input: { city: 'Paris' } } },
          { toolUse: { toolUseId: 'call-2', name: 'clock', input: { city: 'Paris' } } },
        ],
      },
      {
        role: 'user',
        content: [
          { toolResult: { toolUseId: 'call-1', content: [{ text: '18°C' }] } },
          { toolResult: { toolUseId: 'call-2', content: [{ text: 'clock offline' }], status: 'error' } },
        ],
      },
    ]);
    // The offered tools are declared once, not again as "called earlier".
    expect(input.toolConfig?.tools?.map((tool) => tool.toolSpec?.name)).toEqual(['weather', 'clock']);
  });

  it('assembles a ConverseStream: text as it comes, parallel tool calls when their blocks stop', () => {
    // Prepare
    const { events, onEvent } = recorder();
    const assembler = new ConverseStreamAssembler(onEvent);
    const stream: ConverseStreamOutput[] = [
      { messageStart: { role: 'assistant' } },
      { contentBlockDelta: { contentBlockIndex: 0, delta: { text: 'Let me ' } } },
      { contentBlockDelta: { contentBlockIndex: 0, delta: { text: 'look.' } } },
      { contentBlockStop: { contentBlockIndex: 0 } },
      {
        contentBlockStart: { contentBlockIndex: 1, start: { toolUse: { toolUseId: 't1', name: 'weather' } } },
      },
      { contentBlockDelta: { contentBlockIndex: 1, delta: { toolUse: { input: '{"city": ' } } } },
      { contentBlockStart: { contentBlockIndex: 2, start: { toolUse: { toolUseId: 't2', name: 'clock' } } } },
      { contentBlockDelta: { contentBlockIndex: 1, delta: { toolUse: { input: '"Paris"}' } } } },
      { contentBlockStop: { contentBlockIndex: 1 } },
      { contentBlockStop: { contentBlockIndex: 2 } },
      { messageStop: { stopReason: 'tool_use' } },
      {
        metadata: { usage: { inputTokens: 20, outputTokens: 9, totalTokens: 29 }, metrics: { latencyMs: 1 } },
      },
    ] as ConverseStreamOutput[];

    // Act
    for (const event of stream) assembler.add(event);
    const reply = assembler.reply();

    // Assess
    expect(events).toEqual([
      { type: 'text', text: 'Let me ' },
      { type: 'text', text: 'look.' },
      { type: 'tool_call', toolCall: { id: 't1', name: 'weather', arguments: '{"city":"Paris"}' } },
      { type: 'tool_call', toolCall: { id: 't2', name: 'clock', arguments: '{}' } },
    ]);
    expect(reply).toEqual({
      role: 'assistant',
      content: 'Let me look.',
      toolCalls: [
        { id: 't1', name: 'weather', arguments: '{"city":"Paris"}' },
        { id: 't2', name: 'clock', arguments: '{}' },
      ],
      metadata: { stopReason: 'tool_use', usage: { inputTokens: 20, outputTokens: 9, totalTokens: 29 } },
    });
  });

  it('joins text blocks with a newline, reported as a delta too, so the deltas concatenate to the reply', () => {
    // Prepare
    const { events, onEvent } = recorder();
    const assembler = new ConverseStreamAssembler(onEvent);

    // Act
    assembler.add({ contentBlockDelta: { contentBlockIndex: 0, delta: { text: 'one' } } });
    assembler.add({ contentBlockDelta: { contentBlockIndex: 1, delta: { text: 'two' } } });
    assembler.add({ messageStop: { stopReason: 'end_turn' } });

    // Assess
    const text = events.map((event) => (event.type === 'text' ? event.text : '')).join('');
    expect(text).toBe('one\ntwo');
    expect(assembler.reply().content).toBe(text);
  });

  it('throws an exception event as the SDK error it names', () => {
    // Prepare
    const assembler = new ConverseStreamAssembler();

    // Act
    const failure = (() => {
      try {
        assembler.add({
          throttlingException: { message: 'slow down', name: 'ThrottlingException' },
        } as never);
      } catch (error) {
        return error as Error;
      }
    })();

    // Assess
    expect(failure).toMatchObject({ name: 'ThrottlingException', message: 'slow down' });
  });

  describe('BedrockConverseModel with a listener', () => {
    const bedrock = mockClient(BedrockRuntimeClient);
    beforeEach(() => bedrock.reset());

    it('calls ConverseStream and reports the events, a throttling event becoming a model error', async () => {
      // Prepare
      const model = new BedrockConverseModel({
        client: new BedrockRuntimeClient({ region: 'us-east-1' }),
        modelId: 'm',
      });
      const { events, onEvent } = recorder();
      async function* stream(fail: boolean) {
        yield { contentBlockDelta: { contentBlockIndex: 0, delta: { text: 'Hi' } } };
        if (fail) yield { throttlingException: { message: 'slow down' } };
        yield { messageStop: { stopReason: 'end_turn' } };
      }
      bedrock
        .on(ConverseStreamCommand)
        .resolvesOnce({ stream: stream(false) as never, $metadata: {} })
        .resolvesOnce({ stream: stream(true) as never, $metadata: {} });
      const request = { history: [], messages: [user('hi')], signal: new AbortController().signal, onEvent };

      // Act
      const reply = await model.reply(request);
      const failure = await model.reply(request).catch((error: unknown) => error);

      // Assess
      expect(reply).toMatchObject({ role: 'assistant', content: 'Hi', metadata: { stopReason: 'end_turn' } });
      expect(events[0]).toEqual({ type: 'text', text: 'Hi' });
      expect(bedrock).toHaveReceivedCommandTimes(ConverseStreamCommand, 2);
      expect(failure).toBeInstanceOf(ModelError);
      expect(failure).toMatchObject({ message: 'The model provider is throttling requests; retry shortly.' });
    });
  });
});

describe('chat completions tool mapping', () => {
  it('offers the tools as functions and maps every tool choice', () => {
    // Act
    const requests = (['auto', 'none', 'required', { name: 'weather' }] as const).map((toolChoice) =>
      toChatCompletionRequest('gpt', {
        history: [],
        messages: [user('hi')],
        tools: [weather, clock],
        toolChoice,
      }),
    );

    // Assess
    expect(requests[0]?.tools).toEqual([
      {
        type: 'function',
        function: { name: 'weather', description: 'The weather in a city.', parameters: weather.inputSchema },
      },
      { type: 'function', function: { name: 'clock', parameters: { type: 'object' } } },
    ]);
    expect(requests.map((request) => request.tool_choice)).toEqual([
      'auto',
      undefined,
      'required',
      { type: 'function', function: { name: 'weather' } },
    ]);
    expect(requests[1]?.tools).toBeUndefined();
  });

  it('sends parallel calls in one assistant message, results as tool messages, an error result marked', () => {
    // Act
    const request = toChatCompletionRequest('gpt', { history: parallelCalls, messages: results });

    // Assess
    expect(request.messages.slice(1)).toEqual([
      {
        role: 'assistant',
        content: 'Let me look.',
        tool_calls: [
          { id: 'call-1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
          { id: 'call-2', type: 'function', function: { name: 'clock', arguments: '{"city":"Paris"}' } },
        ],
      },
      { role: 'tool', content: '18°C', tool_call_id: 'call-1' },
      { role: 'tool', content: '[tool error] clock offline', tool_call_id: 'call-2' },
    ]);
  });

  it('assembles a streamed completion: text as it comes, parallel tool-call fragments by index', () => {
    // Prepare
    const { events, onEvent } = recorder();
    const assembler = new ChatCompletionStreamAssembler(onEvent);
    const chunks = [
      { choices: [{ index: 0, delta: { role: 'assistant', content: '' } }] },
      { choices: [{ index: 0, delta: { content: 'Checking' } }] },
      {
        choices: [
          {
            index: 0,
            delta: {
              tool_calls: [
                { index: 0, id: 'call_a', type: 'function', function: { name: 'weather', arguments: '' } },
              ],
            },
          },
        ],
      },
      { choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] } }] },
      {
        choices: [
          {
            index: 0,
            delta: { tool_calls: [{ index: 1, id: 'call_b', function: { name: 'clock', arguments: '{}' } }] },
          },
        ],
      },
      { choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] } }] },
      { choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] },
      { choices: [], usage: { prompt_tokens: 30, completion_tokens: 12, total_tokens: 42 } },
    ];

    // Act
    for (const chunk of chunks) assembler.add(chunk);
    const reply = assembler.reply();

    // Assess
    expect(events).toEqual([
      { type: 'text', text: 'Checking' },
      { type: 'tool_call', toolCall: { id: 'call_a', name: 'weather', arguments: '{"city":"Paris"}' } },
      { type: 'tool_call', toolCall: { id: 'call_b', name: 'clock', arguments: '{}' } },
    ]);
    expect(reply).toEqual({
      role: 'assistant',
      content: 'Checking',
      toolCalls: [
        { id: 'call_a', name: 'weather', arguments: '{"city":"Paris"}' },
        { id: 'call_b', name: 'clock', arguments: '{}' },
      ],
      metadata: { stopReason: 'tool_calls', usage: { inputTokens: 30, outputTokens: 12, totalTokens: 42 } },
    });
  });

  it('refuses an error chunk and an unreadable one as model errors', () => {
    const assembler = new ChatCompletionStreamAssembler();
    expect(() => assembler.add({ error: { message: 'overloaded' } })).toThrow(ModelError);
    expect(() => assembler.add({ choices: 'nonsense' })).toThrow(ModelError);
  });

  it('streams through fetch with stream: true and reads the Server-Sent Events', async () => {
    // Prepare
    const sent: unknown[] = [];
    const body = [
      'data: {"choices":[{"index":0,"delta":{"content":"Hel"}}]}\n\n',
      'data: {"choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":"stop"}]}\n\n',
      'data: [DONE]\n\n',
    ];
    const fetchStub: typeof fetch = async (_url, init) => {
      sent.push(JSON.parse(String(init?.body)));
      return new Response(
        new ReadableStream({
          start(controller) {
            for (const piece of body) controller.enqueue(new TextEncoder().encode(piece));
            controller.close();
          },
        }),
        { status: 200, headers: { 'content-type': 'text/event-stream' } },
      );
    };
    const model = new OpenAiCompatibleModel({
      baseUrl: 'http://model.invalid/v1',
      modelId: 'gpt',
      apiKey: apiKeyFromValue('k'),
      fetch: fetchStub,
    });
    const { events, onEvent } = recorder();

    // Act
    const reply = await model.reply({
      history: [],
      messages: [user('hi')],
      tools: [weather],
      signal: new AbortController().signal,
      onEvent,
    });

    // Assess
    expect(sent[0]).toMatchObject({
      stream: true,
      stream_options: { include_usage: true },
      tools: [expect.anything()],
    });
    expect(events).toEqual([
      { type: 'text', text: 'Hel' },
      { type: 'text', text: 'lo' },
    ]);
    expect(reply).toMatchObject({ content: 'Hello', metadata: { stopReason: 'stop' } });
  });
});
