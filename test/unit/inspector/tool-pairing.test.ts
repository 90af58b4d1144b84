import { describe, expect, it } from 'vitest';
import type { StoredMessage } from '../../../client/conversation-memory.js';
import { pairToolCalls } from '../../../inspector/page/tool-pairing.js';

let seq = 0;
const stored = (message: Omit<StoredMessage, 'seq' | 'id' | 'createdAt'>): StoredMessage => {
  seq += 1;
  return { ...message, seq, id: `m${seq}`, createdAt: '2026-01-01T00:00:00.000Z' } as StoredMessage;
};

describe('inspector tool pairing', () => {
  it('pairs parallel calls with their results, and results with their call', () => {
    // Prepare
    const call = stored({
      role: 'assistant',
      content: '',
      toolCalls: [
        { id: 'a', name: 'weather', arguments: '{}' },
        { id: 'b', name: 'clock', arguments: '{}' },
      ],
    });
    const resultB = stored({ role: 'tool', toolCallId: 'b', content: '12:00' });
    const resultA = stored({ role: 'tool', toolCallId: 'a', content: 'rain' });

    // Act
    const pairing = pairToolCalls([call, resultB, resultA]);

    // Assess
    expect(pairing.callsOf(call).map((pair) => [pair.callId, pair.results.map((r) => r.seq)])).toEqual([
      ['a', [resultA.seq]],
      ['b', [resultB.seq]],
    ]);
    expect(pairing.resultOf(resultA)).toMatchObject({
      callMessage: { seq: call.seq },
      call: { name: 'weather' },
    });
    expect(pairing.resultOf(call)).toBeUndefined();
  });

  it('shows what does not pair: a call without result, a result without call, a call answered twice', () => {
    // Prepare
    const call = stored({
      role: 'assistant',
      content: '',
      toolCalls: [{ id: 'x', name: 't', arguments: '{}' }],
    });
    const unanswered = stored({
      role: 'assistant',
      content: '',
      toolCalls: [{ id: 'y', name: 't', arguments: '{}' }],
    });
    const first = stored({ role: 'tool', toolCallId: 'x', content: '1' });
    const second = stored({ role: 'tool', toolCallId: 'x', content: '2' });
    const orphan = stored({ role: 'tool', toolCallId: 'gone', content: '?' });

    // Act
    const pairing = pairToolCalls([call, unanswered, first, second, orphan]);

    // Assess
    expect(pairing.callsOf(call)[0]?.results.map((r) => r.seq)).toEqual([first.seq, second.seq]);
    expect(pairing.callsOf(unanswered)[0]?.results).toEqual([]);
    expect(pairing.resultOf(orphan)).toEqual({ callMessage: undefined, call: undefined });
  });

  it("changes a message's signature when its pairing changes (an older page brings the call)", () => {
    // Prepare
    const call = stored({
      role: 'assistant',
      content: '',
      toolCalls: [{ id: 'z', name: 't', arguments: '{}' }],
    });
    const result = stored({ role: 'tool', toolCallId: 'z', content: 'ok' });

    // Act
    const alone = pairToolCalls([result]).signature(result);
    const paired = pairToolCalls([call, result]).signature(result);

    // Assess
    expect(alone).not.toBe(paired);
  });
});
