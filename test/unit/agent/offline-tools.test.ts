import { describe, expect, it } from 'vitest';
import type { ModelStreamEvent } from '../../../lambda/agent/chat-model.js';
import { OfflineModel } from '../../../lambda/agent/offline-model.js';
import { assistant, storedHistory, user } from './stored-history.js';

const tools = [
  { name: 'weather', inputSchema: { type: 'object' as const } },
  { name: 'clock', inputSchema: { type: 'object' as const } },
];
const signal = new AbortController().signal;
const model = new OfflineModel();

describe('OfflineModel with tools', () => {
  it('calls each named tool once, in order of appearance, with the key=value words as string arguments', async () => {
    // Act
    const reply = await model.reply({
      history: [],
      messages: [user('clock first, then weather city=Paris days=3 and weather again')],
      tools,
      signal,
    });

    // Assess
    expect(reply.content).toBe('');
    expect(reply.metadata).toMatchObject({ stopReason: 'tool_use' });
    expect(reply.toolCalls?.map((call) => [call.name, call.arguments])).toEqual([
      ['clock', '{"city":"Paris","days":"3"}'],
      ['weather', '{"city":"Paris","days":"3"}'],
    ]);
    expect(new Set(reply.toolCalls?.map((call) => call.id)).size).toBe(2);
  });

  it('passes {} without key=value words, and replies as usual when no tool is named or none is offered', async () => {
    // Act
    const bare = await model.reply({ history: [], messages: [user('use weather')], tools, signal });
    const unnamed = await model.reply({ history: [], messages: [user('hello there')], tools, signal });
    const notOffered = await model.reply({ history: [], messages: [user('use weather')], signal });
    const declined = await model.reply({
      history: [],
      messages: [user('use weather')],
      tools,
      toolChoice: 'none',
      signal,
    });

    // Assess
    expect(bare.toolCalls?.[0]?.arguments).toBe('{}');
    expect(unnamed.toolCalls).toBeUndefined();
    expect(unnamed.content).toBe('[offline] history: 0 messages, you said: hello there');
    expect(notOffered.toolCalls).toBeUndefined();
    expect(declined.toolCalls).toBeUndefined();
  });

  it('answers with the results in call order once every call of its last tool-calling reply has one', async () => {
    // Prepare
    const history = storedHistory(
      user('weather and clock'),
      assistant('', [
        { id: 'a', name: 'weather', arguments: '{}' },
        { id: 'b', name: 'clock', arguments: '{}' },
      ]),
    );

    // Act
    const reply = await model.reply({
      history,
      messages: [
        { role: 'tool', toolCallId: 'b', content: '12:00' },
        { role: 'tool', toolCallId: 'a', content: [{ type: 'text', text: 'sunny' }] },
      ],
      tools,
      signal,
    });

    // Assess
    expect(reply.content).toBe('[offline] tool results: weather=sunny, clock=12:00');
    expect(reply.toolCalls).toBeUndefined();
  });

  it('gives the same call ids for the same input, and other ids after other history', async () => {
    // Prepare
    const request = { history: storedHistory(user('a')), messages: [user('use weather')], tools, signal };

    // Act
    const [one, two] = [await model.reply(request), await model.reply(request)];
    const later = await model.reply({ ...request, history: storedHistory(user('a'), assistant('b')) });

    // Assess
    expect(two).toEqual(one);
    expect(later.toolCalls?.[0]?.id).not.toBe(one.toolCalls?.[0]?.id);
  });

  it('streams its text word by word and its tool calls once each', async () => {
    // Prepare
    const events: ModelStreamEvent[] = [];
    const onEvent = (event: ModelStreamEvent) => events.push(event);

    // Act
    const reply = await model.reply({ history: [], messages: [user('say hi')], signal, onEvent });
    const calling = await model.reply({ history: [], messages: [user('weather')], tools, signal, onEvent });

    // Assess
    const texts = events.flatMap((event) => (event.type === 'text' ? [event.text] : []));
    expect(texts).toEqual(['[offline] ', 'history: ', '0 ', 'messages, ', 'you ', 'said: ', 'say ', 'hi']);
    expect(texts.join('')).toBe(reply.content);
    expect(events.filter((event) => event.type === 'tool_call')).toEqual([
      { type: 'tool_call', toolCall: calling.toolCalls?.[0] },
    ]);
  });
});
