import { describe, expect, it } from 'vitest';
import type { TurnToCommit } from '../../../lambda/agent/run-turn.js';
import { chatTurnOf } from '../../../lambda/chat/chat-turn.js';
import { storedFormOf, type UIMessageJson } from '../../../lambda/chat/ui-message.js';
import { InvalidRequestError, NoPendingToolCallsError } from '../../../lambda/memory/errors.js';
import type { StoredMessage } from '../../../lambda/memory/message.js';

const user: UIMessageJson = { id: 'u1', role: 'user', parts: [{ type: 'text', text: 'Weather in Paris?' }] };
const reply = {
  role: 'assistant' as const,
  content: 'Checking.',
  toolCalls: [{ id: 'c1', name: 'weather', arguments: '{"city":"Paris"}' }],
  metadata: { model: 'offline', contextMessages: 0 },
};
const stored = (message: ReturnType<typeof storedFormOf>): StoredMessage => ({
  id: message.id ?? 'x',
  ...message,
  seq: 2,
  createdAt: '2026-01-01T00:00:00.000Z',
});
const pendingReply: UIMessageJson = {
  id: 'a1',
  role: 'assistant',
  parts: [
    { type: 'step-start' },
    { type: 'text', text: 'Checking.', state: 'done' },
    { type: 'tool-weather', toolCallId: 'c1', state: 'input-available', input: { city: 'Paris' } },
    { type: 'tool-weather', toolCallId: 'c2', state: 'input-available', input: { city: 'Rome' } },
  ],
};
const commit = (turn: ReturnType<typeof chatTurnOf>, toCommit: Partial<TurnToCommit>) =>
  turn.input.commit({ newMessages: [], reply, newest: undefined, version: 2, ...toCommit });

describe('chatTurnOf: a useChat request as an agent turn', () => {
  it('takes the last user message (the rest is ignored), with a key and a reply id derived from it', () => {
    // Act
    const turn = chatTurnOf({ chatId: 'c', messages: [{ ...user, id: 'old', parts: [] }, user] });
    const again = chatTurnOf({ chatId: 'c', message: user });
    const otherChat = chatTurnOf({ chatId: 'd', message: user });

    // Assess
    expect(turn.input.message).toEqual(storedFormOf(user));
    expect(turn.input.toolResults).toBeUndefined();
    expect(turn.input.idempotencyKey).toMatch(/^chat-message:[\w-]{43}$/);
    expect(again.input.idempotencyKey).toBe(turn.input.idempotencyKey);
    expect(again.messageId).toBe(turn.messageId);
    expect(otherChat.messageId).not.toBe(turn.messageId);
    expect(chatTurnOf({ chatId: 'c', message: user, idempotencyKey: 'mine' }).input.idempotencyKey).toBe(
      'mine',
    );
  });

  it('stores the user message and the reply as UI messages, the reply as one step with the server id', () => {
    // Prepare
    const turn = chatTurnOf({ chatId: 'c', message: user });

    // Act
    const plan = commit(turn, { newMessages: [storedFormOf(user)] });

    // Assess
    expect(plan).toEqual({
      append: [
        storedFormOf(user),
        {
          id: turn.messageId,
          role: 'assistant',
          content: [
            { type: 'step-start' },
            { type: 'text', text: 'Checking.', state: 'done' },
            { type: 'tool-weather', toolCallId: 'c1', state: 'input-available', input: { city: 'Paris' } },
          ],
          metadata: { model: 'offline', contextMessages: 0, aiSdk: {} },
        },
      ],
    });
  });

  it('continues with the tool outputs of the last step, and replaces the continued message in place', () => {
    // Prepare: the browser answered both calls, one with an error.
    const answered: UIMessageJson = {
      ...pendingReply,
      parts: [
        ...pendingReply.parts.slice(0, 2),
        {
          type: 'tool-weather',
          toolCallId: 'c1',
          state: 'output-available',
          input: { city: 'Paris' },
          output: { t: 18 },
        },
        {
          type: 'tool-weather',
          toolCallId: 'c2',
          state: 'output-error',
          input: { city: 'Rome' },
          errorText: 'down',
        },
      ],
    };
    const turn = chatTurnOf({ chatId: 'c', messages: [user, answered] });
    const answer = { role: 'assistant' as const, content: 'Warm in Paris.', metadata: { model: 'offline' } };

    // Act
    const plan = turn.input.commit({
      newMessages: [],
      reply: answer,
      newest: stored(storedFormOf(pendingReply, { metadata: { model: 'offline' } })),
      version: 2,
    });

    // Assess
    expect(turn.messageId).toBe('a1');
    expect(turn.input.toolResults).toEqual([
      { toolCallId: 'c1', content: '{"t":18}' },
      { toolCallId: 'c2', content: 'down', isError: true },
    ]);
    expect(turn.input.idempotencyKey).toMatch(/^chat-tool-outputs:/);
    expect(plan).toEqual({
      replaceNewest: [
        storedFormOf(
          {
            ...answered,
            parts: [
              ...answered.parts,
              { type: 'step-start' },
              { type: 'text', text: 'Warm in Paris.', state: 'done' },
            ],
          },
          { metadata: { model: 'offline' } },
        ),
      ],
    });
  });

  it('stores the results to a message written by other means as the contract messages, appended', () => {
    // Prepare
    const answered: UIMessageJson = {
      id: 'native-1',
      role: 'assistant',
      parts: [
        { type: 'tool-weather', toolCallId: 'c1', state: 'output-available', input: {}, output: 'rain' },
      ],
    };
    const turn = chatTurnOf({ chatId: 'c', message: answered });
    const toolMessage = { role: 'tool' as const, toolCallId: 'c1', name: 'weather', content: 'rain' };
    const native = {
      id: 'native-1',
      role: 'assistant' as const,
      content: '',
      seq: 2,
      createdAt: '',
      toolCalls: reply.toolCalls,
    };

    // Act
    const plan = commit(turn, { newMessages: [toolMessage], newest: native });

    // Assess
    expect(plan).toEqual({ append: [toolMessage, reply] });
  });

  it('refuses a continuation of another message than the newest once the model answered', () => {
    const turn = chatTurnOf({
      chatId: 'c',
      message: {
        ...pendingReply,
        parts: [{ type: 'tool-x', toolCallId: 'c1', state: 'output-available', output: 1 }],
      },
    });
    expect(() =>
      commit(turn, { newest: stored(storedFormOf({ ...pendingReply, id: 'someone-else' })) }),
    ).toThrow(NoPendingToolCallsError);
  });

  it.each([
    [{ chatId: 'c', message: user, trigger: 'regenerate-message' }, /does not regenerate/],
    [{ chatId: 'c', message: { ...user, role: 'system' as const } }, /must be a user message/],
    [{ chatId: 'c', message: pendingReply }, /without tool outputs/],
    [{ chatId: 'c', messages: [] }, /no message/],
  ])('refuses %j', (request, message) => {
    expect(() => chatTurnOf(request)).toThrow(InvalidRequestError);
    expect(() => chatTurnOf(request)).toThrow(message);
  });
});
