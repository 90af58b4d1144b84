import { describe, expect, it } from 'vitest';
import { patchTransaction } from '../../../lambda/memory/beside-messages-requests.js';
import { attemptOn, newOperation, type Operation } from '../../../lambda/memory/operation.js';
import { attemptTransaction, pastLifeDeletes, tombstoneUpdate } from '../../../lambda/memory/requests.js';
import { keys, listingAttributes } from '../../../lambda/memory/table.js';

const pk = keys.partition('t', 'c');
const nowMs = Date.parse('2026-01-01T00:00:00Z');
const nowSec = nowMs / 1000;
const listing = listingAttributes('t', 'c', nowMs);
const user = (content: string) => ({ message: { role: 'user' as const, content } });
const operation = (count: number, ttlSeconds?: number): Operation =>
  newOperation(
    Array.from({ length: count }, (_, i) => user(`m${i}`)),
    nowMs,
    ttlSeconds,
  );

describe('the write of one attempt', () => {
  it('keeps the ids, createdAt and op id of an operation, and moves only the seqs with the base', () => {
    const op = operation(2);

    const first = attemptOn(op, 3, undefined);
    const again = attemptOn(op, 8, undefined);

    expect(first.stored.map((m) => m.seq)).toEqual([4, 5]);
    expect(again.stored.map((m) => m.seq)).toEqual([9, 10]);
    expect(again.stored.map(({ seq: _, ...rest }) => rest)).toEqual(
      first.stored.map(({ seq: _, ...rest }) => rest),
    );
    expect([first.version, again.version]).toEqual([5, 10]);
  });

  it('starts a conversation with a Put of the head conditioned on there being none', () => {
    const [head, ...messages] = attemptTransaction({
      pk,
      listing,
      attempt: attemptOn(operation(1), 0, undefined),
      remove: [],
    });

    expect(head?.Put).toMatchObject({
      Item: { pk, sk: keys.head, version: 1, messageCount: 1, op: expect.any(String) },
      ConditionExpression: 'attribute_not_exists(pk)',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    expect(messages.map((item) => item.Put?.Item?.sk)).toEqual([keys.message(1)]);
  });

  it('starts a new life over a dead head above its seqs, conditioned on it still being that dead head', () => {
    const dead = { version: 7, messageCount: 0, createdAt: '', updatedAt: '', deleted: true };

    const [head, message] = attemptTransaction({
      pk,
      listing,
      attempt: attemptOn(operation(1), 0, dead),
      remove: [],
    });

    expect(head?.Put).toMatchObject({
      Item: { version: 8, floor: 7 },
      ConditionExpression: 'version = :dead AND (deleted = :true OR liveUntil <= :nowSec)',
      ExpressionAttributeValues: { ':dead': 7, ':true': true, ':nowSec': nowSec },
    });
    expect(message?.Put?.Item?.sk).toBe(keys.message(8));
  });

  it('moves a live head from its version only, refreshing retention on every item', () => {
    const items = attemptTransaction({
      pk,
      listing,
      attempt: attemptOn(operation(2, 60), 4, undefined),
      remove: [],
    });

    expect(items[0]?.Update).toMatchObject({
      Key: { pk, sk: keys.head },
      // No multiple of 10 crossed (4 -> 6): the compactor's mark of the last write is cleared.
      UpdateExpression:
        'SET version = :version, updatedAt = :now, op = :op, lpk = :lpk, lsk = :lsk, liveUntil = :expiresAt ADD messageCount :count REMOVE summaryDue',
      ConditionExpression:
        'version = :base AND attribute_not_exists(deleted) AND (attribute_not_exists(liveUntil) OR liveUntil > :nowSec)',
      ExpressionAttributeValues: expect.objectContaining({
        ':base': 4,
        ':version': 6,
        ':count': 2,
        ':lpk': listing.lpk,
        ':lsk': listing.lsk,
      }),
    });
    expect(items.slice(1).map((item) => item.Put?.Item?.expiresAt)).toEqual([nowSec + 60, nowSec + 60]);
  });

  it('clears a head expiry left from retention when there is none now', () => {
    const [head] = attemptTransaction({
      pk,
      listing,
      attempt: attemptOn(operation(1), 4, undefined),
      remove: [],
    });

    expect(head?.Update?.UpdateExpression).toBe(
      'SET version = :version, updatedAt = :now, op = :op, lpk = :lpk, lsk = :lsk ADD messageCount :count REMOVE summaryDue, liveUntil',
    );
  });

  it('marks the head summaryDue on a write that crosses a multiple of 10 seqs (the compactor wakes on it)', () => {
    const [head] = attemptTransaction({
      pk,
      listing,
      attempt: attemptOn(operation(2), 9, undefined),
      remove: [],
    });

    expect(head?.Update?.UpdateExpression).toContain('summaryDue = :true');
    expect(head?.Update?.ExpressionAttributeValues).toMatchObject({ ':true': true });
  });

  it('deletes the summary in an edit that removes messages it covers, conditioned on the summary read, and marks the head', () => {
    const attempt = attemptOn(operation(0), 5, undefined);

    const [head, guard] = attemptTransaction({
      pk,
      listing,
      attempt,
      remove: [4, 5],
      summary: { op: 's1', remove: true },
    });

    expect(guard?.Delete).toEqual({
      Key: { pk, sk: keys.summary },
      ConditionExpression: 'op = :summaryOp',
      ExpressionAttributeValues: { ':summaryOp': 's1' },
    });
    expect(head?.Update?.UpdateExpression).toContain('summaryDue = :true');
  });

  it('checks, in an edit that removes only newer messages, that the summary is still the one read (or still none)', () => {
    const attempt = attemptOn(operation(0), 5, undefined);

    const [, kept] = attemptTransaction({
      pk,
      listing,
      attempt,
      remove: [5],
      summary: { op: 's1', remove: false },
    });
    const [, none] = attemptTransaction({
      pk,
      listing,
      attempt,
      remove: [5],
      summary: { op: undefined, remove: false },
    });

    expect(kept?.ConditionCheck).toMatchObject({
      Key: { pk, sk: keys.summary },
      ConditionExpression: 'op = :summaryOp',
    });
    expect(none?.ConditionCheck).toMatchObject({ ConditionExpression: 'attribute_not_exists(pk)' });
  });

  it('writes an edit that only removes as a version bump, the deletes and its marker', () => {
    const attempt = attemptOn(operation(0), 5, undefined);

    const [head, ...rest] = attemptTransaction({ pk, listing, attempt, remove: [4, 5] });

    expect(head?.Update?.UpdateExpression).toContain('ADD messageCount :count, rewrites :one');
    expect(head?.Update?.ExpressionAttributeValues).toMatchObject({ ':count': -2, ':version': 6 });
    expect(rest.map((item) => item.Delete?.Key?.sk ?? item.Put?.Item?.sk)).toEqual([
      keys.message(4),
      keys.message(5),
      keys.removal(6),
    ]);
    expect(rest.at(-1)?.Put?.Item).toMatchObject({ op: attempt.op.id, version: 6 });
  });

  it('writes the idempotency record last, taking a key only if it is free in this life', () => {
    const attempt = attemptOn(operation(2), 3, undefined);

    const record = attemptTransaction({
      pk,
      listing,
      attempt,
      remove: [],
      record: { key: 'k', hash: 'h', floor: 2 },
    }).at(-1);

    expect(record?.Put).toMatchObject({
      Item: {
        pk,
        sk: keys.idempotency('k'),
        hash: 'h',
        version: 5,
        firstSeq: 4,
        lastSeq: 5,
        op: attempt.op.id,
      },
      ConditionExpression: 'attribute_not_exists(pk) OR expiresAt <= :nowSec OR version <= :floor',
      ExpressionAttributeValues: { ':nowSec': nowSec, ':floor': 2 },
    });
  });
});

describe('a delete', () => {
  it('tombstones the head without a version in its condition, then removes only what the tombstone still covers', () => {
    expect(tombstoneUpdate(pk)).toMatchObject({
      ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(deleted)',
      ReturnValues: 'ALL_NEW',
    });
    expect(pastLifeDeletes(pk, 7, [keys.message(1)])).toEqual([
      {
        ConditionCheck: {
          Key: { pk, sk: keys.head },
          ConditionExpression: 'deleted = :true AND version = :version',
          ExpressionAttributeValues: { ':true': true, ':version': 7 },
        },
      },
      { Delete: { Key: { pk, sk: keys.message(1) } } },
    ]);
  });
});

describe('a PATCH', () => {
  it('changes title, metadata and revision only, on the life and revision it read, and ends the compactor wake', () => {
    const [head] = patchTransaction({
      pk,
      read: { createdAt: '2026-01-01T00:00:00.000Z', revision: 2 },
      change: { title: 'Refund', meta: undefined },
      op: { id: 'patch-op', nowSec, expiresAt: undefined },
    });

    expect(head?.Update).toMatchObject({
      Key: { pk, sk: keys.head },
      UpdateExpression: 'SET revision = :next, patchOp = :op, title = :title REMOVE summaryDue, meta',
      ConditionExpression:
        'attribute_not_exists(deleted) AND (attribute_not_exists(liveUntil) OR liveUntil > :nowSec) AND createdAt = :createdAt AND revision = :revision',
      ExpressionAttributeValues: expect.objectContaining({ ':next': 3, ':revision': 2, ':title': 'Refund' }),
    });
  });
});
