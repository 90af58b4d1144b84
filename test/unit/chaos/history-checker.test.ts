import { describe, expect, it } from 'vitest';
import type { Exchange, History, ReadRecord, WriteRecord } from '../../chaos/history.js';
import { checkHistory } from '../../chaos/history-checker.js';

const conversation = 'c';
const stored = (tag: string, seq: number) => ({
  role: 'user',
  content: tag,
  id: `id-${tag}`,
  seq,
  createdAt: '2026-11-30T00:00:00.000Z',
});
const answer = (start: number, end: number, status: number, body: unknown, more: Partial<Exchange> = {}) => ({
  server: 'one',
  start,
  end,
  status,
  body,
  retryAfter: status === 503 ? '1' : null,
  replayed: false,
  ...more,
});
const write = (
  record: Omit<WriteRecord, 'type' | 'conversation' | 'expectedSuffix' | 'keyed'> & Partial<WriteRecord>,
) => ({ type: 'write', conversation, expectedSuffix: [], keyed: false, ...record }) as WriteRecord;
const read = (
  op: string,
  client: number,
  start: number,
  version: number,
  messages: unknown[],
): ReadRecord => ({
  type: 'read',
  op,
  client,
  conversation,
  exchange: answer(start, start + 5, 200, {
    conversationId: conversation,
    version,
    messages,
    nextBefore: null,
  }),
});

/**
 * A valid history of one conversation: an acknowledged append, a read, a rejected conditional append, an
 * unkeyed append whose answer was lost (seen by a read, then edited away), an acknowledged edit, a keyed
 * append that converged after a lost answer, a last read and the final state.
 */
function validHistory(): History {
  return {
    conversations: [conversation],
    records: [
      write({
        op: 'c1.1',
        client: 1,
        kind: 'append',
        adds: ['c1.1#0', 'c1.1#1'],
        exchanges: [
          answer(0, 10, 201, {
            conversationId: conversation,
            version: 2,
            messages: [stored('c1.1#0', 1), stored('c1.1#1', 2)],
          }),
        ],
      }),
      read('c2.1', 2, 20, 2, [stored('c1.1#0', 1), stored('c1.1#1', 2)]),
      write({
        op: 'c2.2',
        client: 2,
        kind: 'append',
        expectedVersion: 1,
        adds: ['c2.2#0'],
        exchanges: [
          answer(40, 50, 409, {
            error: {
              code: 'version_conflict',
              message: 'The conversation is at version 2.',
              currentVersion: 2,
            },
          }),
        ],
      }),
      write({
        op: 'c1.2',
        client: 1,
        kind: 'append',
        adds: ['c1.2#0'],
        exchanges: [{ server: 'two', start: 60, end: 70, error: 'socket hang up' }],
      }),
      read('c2.5', 2, 72, 3, [stored('c1.1#0', 1), stored('c1.1#1', 2), stored('c1.2#0', 3)]),
      write({
        op: 'c2.3',
        client: 2,
        kind: 'edit',
        expectedSuffix: ['c1.2#0'],
        adds: ['c2.3#0'],
        exchanges: [
          answer(80, 90, 200, {
            conversationId: conversation,
            version: 4,
            removed: [stored('c1.2#0', 3)],
            messages: [stored('c2.3#0', 4)],
          }),
        ],
      }),
      write({
        op: 'c1.3',
        client: 1,
        kind: 'append',
        keyed: true,
        adds: ['c1.3#0'],
        exchanges: [
          answer(100, 110, 503, { error: { code: 'unavailable', message: 'Retry shortly.' } }),
          answer(115, 130, 201, {
            conversationId: conversation,
            version: 5,
            messages: [stored('c1.3#0', 5)],
          }),
        ],
      }),
      read('c2.4', 2, 140, 5, [
        stored('c1.1#0', 1),
        stored('c1.1#1', 2),
        stored('c2.3#0', 4),
        stored('c1.3#0', 5),
      ]),
    ],
    final: {
      [conversation]: {
        version: 5,
        messages: [stored('c1.1#0', 1), stored('c1.1#1', 2), stored('c2.3#0', 4), stored('c1.3#0', 5)],
      },
    },
    finalAt: 200,
  };
}

// biome-ignore lint/suspicious/noExplicitAny: corruptions reach anywhere into the recorded JSON.
type Json = any;

/** A deep copy of the valid history, changed by `corrupt`. */
function corrupted(corrupt: (history: Json, find: (op: string) => Json) => void): History {
  const history: Json = structuredClone(validHistory());
  const find = (op: string) => {
    const record = history.records.find((candidate: { op: string }) => candidate.op === op);
    if (!record) throw new Error(`no record ${op}`);
    return record;
  };
  corrupt(history, find);
  return history;
}
const finalOf = (history: Json) => history.final[conversation];
const readBody = (record: Json) => record.exchange.body;
const lastBody = (record: Json) => record.exchanges.at(-1).body;

describe('checkHistory', () => {
  it('accepts a valid history: lost answers, rejections, edits and retries included', () => {
    expect(checkHistory(validHistory())).toEqual([]);
  });

  it('accepts a keyed edit whose answer was lost, answered on retry as a replay with removed: [] (the contract)', () => {
    // Prepare
    const history = corrupted((_history, find) => {
      const edit = find('c2.3');
      const applied = edit.exchanges[0];
      edit.keyed = true;
      edit.exchanges = [
        { server: 'one', start: 80, end: 84, error: 'socket hang up' },
        { ...applied, start: 85, replayed: true, body: { ...applied.body, removed: [] } },
      ];
    });

    // Act
    const violations = checkHistory(history);

    // Assess
    expect(violations).toEqual([]);
  });

  it('reports a fresh edit that answers removed: [] although it removed its expected suffix', () => {
    // Prepare
    const history = corrupted((_history, find) => {
      lastBody(find('c2.3')).removed = [];
    });

    // Act
    const violations = checkHistory(history);

    // Assess
    expect(violations.map((violation) => violation.check)).toContain('answer');
  });

  it.each<[string, string, Parameters<typeof corrupted>[0]]>([
    [
      'a duplicate: an acknowledged message stored a second time',
      'duplicate',
      (history) => {
        finalOf(history).messages.push(stored('c1.1#0', 6));
        finalOf(history).version = 6;
      },
    ],
    [
      'a lost acknowledged write',
      'lost',
      (history) => {
        finalOf(history).messages.pop();
      },
    ],
    [
      'a reorder: two messages swap seqs in a read',
      'duplicate',
      (_history, find) => {
        const messages = readBody(find('c2.4')).messages;
        messages[0].seq = 2;
        messages[1].seq = 1;
      },
    ],
    [
      'a stale read: started after an acknowledged write, at an older version',
      'stale read',
      (_history, find) => {
        readBody(find('c2.4')).version = 4;
        readBody(find('c2.4')).messages.pop();
      },
    ],
    [
      'a rejected write that is stored',
      'rejected but stored',
      (history) => {
        finalOf(history).messages.push(stored('c2.2#0', 6));
        finalOf(history).version = 6;
      },
    ],
    [
      'a batch answered at seqs that are not consecutive',
      'batch',
      (_history, find) => {
        lastBody(find('c1.1')).messages[0].seq = 0;
      },
    ],
    [
      'an error body not in the contract shape',
      'error shape',
      (_history, find) => {
        find('c2.2').exchanges[0] = answer(40, 50, 409, { message: 'conflict' });
      },
    ],
    [
      'a 503 without Retry-After',
      'error shape',
      (_history, find) => {
        find('c1.3').exchanges[0].retryAfter = null;
      },
    ],
    [
      'an answer with a status the contract does not give',
      'status',
      (_history, find) => {
        find('c2.1').exchange.status = 500;
      },
    ],
    [
      'two reads at one version that differ',
      'read',
      (history) => {
        history.records.push(
          read('c3.1', 3, 150, 5, [stored('c1.1#0', 1), stored('c1.1#1', 2), stored('c2.3#0', 4)]),
        );
      },
    ],
    [
      'a message that vanishes without an edit',
      'read',
      (history) => {
        finalOf(history).messages.splice(0, 1);
        finalOf(history).version = 6;
      },
    ],
    [
      'a message an acknowledged edit removed, back again',
      'resurrected',
      (history) => {
        finalOf(history).messages.splice(2, 0, stored('c1.2#0', 3));
      },
    ],
    [
      'two acknowledged writes claiming one version',
      'version',
      (_history, find) => {
        const body = lastBody(find('c1.3'));
        body.version = 4;
        body.messages[0].seq = 4;
      },
    ],
    [
      'a message nobody sent',
      'phantom',
      (history) => {
        finalOf(history).messages.push(stored('x#0', 6));
        finalOf(history).version = 6;
      },
    ],
    [
      'a read that shows a write sent after it ended',
      'real-time order',
      (history) => {
        history.records.push(
          read('c3.1', 3, 91, 5, [
            stored('c1.1#0', 1),
            stored('c1.1#1', 2),
            stored('c2.3#0', 4),
            stored('c1.3#0', 5),
          ]),
        );
      },
    ],
    [
      'a write answered before another was sent, with the higher version',
      'real-time order',
      (_history, find) => {
        const body = lastBody(find('c1.1'));
        body.version = 7;
        body.messages = [stored('c1.1#0', 6), stored('c1.1#1', 7)];
      },
    ],
    [
      "versions going backwards for one client's answers",
      'client versions',
      (history) => {
        history.records.push(read('c2.9', 2, 210, 2, [stored('c1.1#0', 1), stored('c1.1#1', 2)]));
      },
    ],
    [
      'a 410 for a write no edit removed',
      'gone',
      (_history, find) => {
        find('c1.3').exchanges[1] = answer(115, 130, 410, {
          error: { code: 'idempotency_result_gone', message: 'Applied, then edited away.' },
        });
      },
    ],
    [
      'a 410 for a write sent without a key',
      'status',
      (_history, find) => {
        find('c1.2').exchanges[0] = answer(60, 70, 410, {
          error: { code: 'idempotency_result_gone', message: 'Applied, then edited away.' },
        });
      },
    ],
    [
      'an unkeyed write answered as a replay',
      'status',
      (_history, find) => {
        find('c1.1').exchanges[0].replayed = true;
      },
    ],
  ])('catches %s', (_name, check, corrupt) => {
    const violations = checkHistory(corrupted(corrupt));

    expect(violations.map((violation) => violation.check)).toContain(check);
  });
});
