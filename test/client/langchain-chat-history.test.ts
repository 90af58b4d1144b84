import { randomUUID } from 'node:crypto';
import {
  AIMessage,
  type BaseMessage,
  ChatMessage,
  HumanMessage,
  SystemMessage,
  ToolMessage,
} from '@langchain/core/messages';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConversationMemory } from '../../client/conversation-memory.js';
import { AgentMemoryChatMessageHistory } from '../../client/langchain-chat-history.js';
import { AgentMemorySession } from '../../client/openai-agents-session.js';
import { largeDataUrl, memoryBackends } from './memory-backends.js';

/** The fields a LangChain message is made of, for comparing what went in with what came out. */
function fieldsOf(message: BaseMessage) {
  return {
    type: message.getType(),
    content: message.content,
    name: message.name,
    additional_kwargs: message.additional_kwargs,
    response_metadata: message.response_metadata,
    ...(AIMessage.isInstance(message)
      ? {
          tool_calls: message.tool_calls,
          invalid_tool_calls: message.invalid_tool_calls,
          usage_metadata: message.usage_metadata,
        }
      : {}),
    ...(ToolMessage.isInstance(message)
      ? { tool_call_id: message.tool_call_id, status: message.status, artifact: message.artifact }
      : {}),
    ...(ChatMessage.isInstance(message) ? { role: message.role } : {}),
  };
}

const conversation = (): BaseMessage[] => [
  new SystemMessage('You are a weather bot.'),
  new HumanMessage({
    content: [
      { type: 'text', text: 'What about this city?' },
      { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
    ],
    name: 'ada',
  }),
  new AIMessage({
    content: [{ type: 'text', text: 'Let me check.' }],
    tool_calls: [
      { id: 'call_1', name: 'weather', args: { city: 'Paris', units: 'metric' }, type: 'tool_call' },
      { id: 'call_2', name: 'time', args: {}, type: 'tool_call' },
    ],
    additional_kwargs: { refusal: null },
    response_metadata: { model_name: 'gpt-test', finish_reason: 'tool_calls' },
    usage_metadata: { input_tokens: 12, output_tokens: 7, total_tokens: 19 },
  }),
  new ToolMessage({
    content: '18°C',
    tool_call_id: 'call_1',
    name: 'weather',
    status: 'success',
    artifact: { raw: 18 },
  }),
  new ToolMessage({ content: [{ type: 'text', text: '14:00' }], tool_call_id: 'call_2', status: 'error' }),
  new AIMessage('It is 18°C at 14:00.'),
  new ChatMessage({ content: 'A note.', role: 'narrator' }),
];

describe.each(memoryBackends)('AgentMemoryChatMessageHistory on $name', (backend) => {
  let memory: ConversationMemory;
  const historyOn = (conversationId = `lc-${randomUUID()}`) =>
    new AgentMemoryChatMessageHistory({ memory, conversationId });

  beforeAll(async () => {
    ({ memory } = await backend.start());
  });
  afterAll(() => backend.stop());

  it('round-trips tool calls, tool call ids, content parts, names and metadata', async () => {
    // Prepare
    const conversationId = `lc-${randomUUID()}`;
    const messages = conversation();

    // Act
    await historyOn(conversationId).addMessages(messages.slice(0, 3));
    await historyOn(conversationId).addMessage(messages[3] as BaseMessage);
    await historyOn(conversationId).addMessages(messages.slice(4));
    const restored = await historyOn(conversationId).getMessages();

    // Assess
    expect(restored.map(fieldsOf)).toEqual(messages.map(fieldsOf));
    expect(restored.every((message) => typeof message.id === 'string')).toBe(true);
  });

  it('round-trips a 2 MB image part and a 1 MB tool result, which the store keeps in S3', async () => {
    // Prepare
    const conversationId = `lc-${randomUUID()}`;
    const messages = [
      new HumanMessage({
        content: [
          { type: 'text', text: 'What is on my screen?' },
          { type: 'image_url', image_url: { url: largeDataUrl('image/png', 2_000_000) } },
        ],
      }),
      new AIMessage({
        content: '',
        tool_calls: [{ id: 'call_9', name: 'read_log', args: {}, type: 'tool_call' }],
      }),
      new ToolMessage({ content: 'log line\n'.repeat(111_112), tool_call_id: 'call_9' }),
    ];

    // Act
    await historyOn(conversationId).addMessages(messages);
    const restored = await historyOn(conversationId).getMessages();

    // Assess
    expect(restored.map(fieldsOf)).toEqual(messages.map(fieldsOf));
  });

  it('stores tool calls and tool call ids in the contract’s fields, content parts as they are', async () => {
    // Prepare
    const conversationId = `lc-${randomUUID()}`;

    // Act
    await historyOn(conversationId).addMessages(conversation().slice(1, 4));
    const { messages } = await memory.loadAll(conversationId);

    // Assess
    expect(messages[0]).toMatchObject({
      role: 'user',
      name: 'ada',
      content: [
        { type: 'text', text: 'What about this city?' },
        { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
      ],
    });
    expect(messages[1]).toMatchObject({
      role: 'assistant',
      toolCalls: [
        { id: 'call_1', name: 'weather', arguments: { city: 'Paris', units: 'metric' } },
        { id: 'call_2', name: 'time', arguments: {} },
      ],
    });
    expect(messages[2]).toMatchObject({ role: 'tool', toolCallId: 'call_1', content: '18°C' });
  });

  it('reads what the OpenAI Agents session stored as tool-calling LangChain messages', async () => {
    // Prepare
    const conversationId = `lc-${randomUUID()}`;
    await new AgentMemorySession({ memory, sessionId: conversationId }).addItems([
      { role: 'user', content: 'Weather in Paris?' },
      { type: 'function_call', callId: 'call_7', name: 'weather', arguments: '{"city":"Paris"}' },
      {
        type: 'function_call_result',
        callId: 'call_7',
        name: 'weather',
        status: 'completed',
        output: '18°C',
      },
    ]);

    // Act
    const [asked, called, answered] = await historyOn(conversationId).getMessages();

    // Assess
    expect(asked).toBeInstanceOf(HumanMessage);
    expect((called as AIMessage).tool_calls).toEqual([
      { id: 'call_7', name: 'weather', args: { city: 'Paris' }, type: 'tool_call' },
    ]);
    expect(answered).toBeInstanceOf(ToolMessage);
    expect((answered as ToolMessage).tool_call_id).toBe('call_7');
    expect(answered?.content).toBe('18°C');
  });

  it('reads only the newest maxMessages when asked to', async () => {
    // Prepare
    const conversationId = `lc-${randomUUID()}`;
    await historyOn(conversationId).addMessages(conversation());

    // Act
    const recent = await new AgentMemoryChatMessageHistory({
      memory,
      conversationId,
      maxMessages: 2,
    }).getMessages();

    // Assess
    expect(recent.map((message) => message.content)).toEqual(['It is 18°C at 14:00.', 'A note.']);
  });

  it('gives "summary + recent" with summary: the summary as a SystemMessage, then the messages after it', async () => {
    // Prepare: 40 messages, the user's fact in message 3, summarized (1-30); and a conversation without a summary.
    const conversationId = `lc-${randomUUID()}`;
    await historyOn(conversationId).addMessages(
      Array.from({ length: 40 }, (_, i) =>
        i % 2 === 0
          ? new HumanMessage(i === 2 ? 'My name is Ada and I live in Porto.' : `Note ${i + 1}.`)
          : new AIMessage(`Reply ${i + 1}.`),
      ),
    );
    await backend.summarized(conversationId);
    const shortId = `lc-${randomUUID()}`;
    await historyOn(shortId).addMessages([new HumanMessage('Hi.'), new AIMessage('Hello.')]);

    // Act
    const messages = await new AgentMemoryChatMessageHistory({
      memory,
      conversationId,
      summary: true,
    }).getMessages();
    const withoutSummary = await new AgentMemoryChatMessageHistory({
      memory,
      conversationId: shortId,
      summary: true,
    }).getMessages();

    // Assess
    const [first, ...recent] = messages;
    expect(first).toBeInstanceOf(SystemMessage);
    expect(first?.content).toContain('30 messages, seq 1-30');
    expect(first?.content).toContain('My name is Ada and I live in Porto.');
    expect(recent.map((message) => message.content)).toEqual(
      Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? `Note ${31 + i}.` : `Reply ${31 + i}.`)),
    );
    expect(withoutSummary.map((message) => message.content)).toEqual(['Hi.', 'Hello.']);
    expect(await historyOn(conversationId).getMessages()).toHaveLength(40);
  });

  it('clears the conversation', async () => {
    // Prepare
    const conversationId = `lc-${randomUUID()}`;
    const history = historyOn(conversationId);
    await history.addMessages(conversation());

    // Act
    await history.clear();

    // Assess
    expect(await history.getMessages()).toEqual([]);
    expect(await memory.getConversation(conversationId)).toBeUndefined();
  });
});
