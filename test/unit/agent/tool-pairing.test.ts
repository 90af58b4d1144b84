import { describe, expect, it } from 'vitest';
import { pairToolMessages } from '../../../lambda/agent/tool-pairing.js';
import type { MessageInput } from '../../../lambda/memory/message.js';
import { assistant, toolResult, user } from './stored-history.js';

describe('pairToolMessages', () => {
  it('leaves a well-formed history unchanged', () => {
    // Prepare
    const history: MessageInput[] = [
      user('q'),
      assistant('', [{ id: 'c1', name: 'a', arguments: '{}' }]),
      toolResult('c1', 'r1'),
      assistant('done'),
    ];

    // Act
    const paired = pairToolMessages(history);

    // Assess
    expect(paired).toEqual(history);
  });

  it('keeps answered calls and writes unanswered ones as text', () => {
    // Prepare
    const history: MessageInput[] = [
      assistant('checking', [
        { id: 'c1', name: 'a', arguments: '{"x":1}' },
        { id: 'c2', name: 'b', arguments: { y: 2 } },
      ]),
      toolResult('c1', 'r1'),
    ];

    // Act
    const paired = pairToolMessages(history);

    // Assess
    expect(paired).toEqual([
      {
        role: 'assistant',
        content: 'checking\n[tool call b({"y":2}) has no result]',
        toolCalls: [{ id: 'c1', name: 'a', arguments: '{"x":1}' }],
      },
      toolResult('c1', 'r1'),
    ]);
  });

  it('puts results that answer nothing after the real answers', () => {
    // Prepare
    const history: MessageInput[] = [
      assistant('', [{ id: 'c1', name: 'a', arguments: '{}' }]),
      toolResult('c0', 'stray'),
      toolResult('c1', 'answer'),
    ];

    // Act
    const paired = pairToolMessages(history);

    // Assess
    expect(paired).toEqual([history[0], history[2], user('[result of tool call c0] stray')]);
  });

  it('turns results without a call, and repeated results, into user text', () => {
    // Prepare
    const history: MessageInput[] = [
      toolResult('c0', 'lost'),
      assistant('', [{ id: 'c1', name: 'a', arguments: '{}' }]),
      toolResult('c1', 'first'),
      toolResult('c1', 'again'),
      user('hm'),
      toolResult('c1', 'late'),
    ];

    // Act
    const paired = pairToolMessages(history);

    // Assess
    expect(paired).toEqual([
      user('[result of tool call c0] lost'),
      history[1],
      history[2],
      user('[result of tool call c1] again'),
      user('hm'),
      user('[result of tool call c1] late'),
    ]);
  });
});
