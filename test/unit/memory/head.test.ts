import { describe, expect, it } from 'vitest';
import {
  conversationInfo,
  floorOf,
  historyShape,
  isLive,
  isLiveHead,
  isLiveRecord,
  liveVersion,
} from '../../../lambda/memory/head.js';
import type { Head, IdempotencyRecord } from '../../../lambda/memory/table.js';

const now = 1_000;
const head = (fields: Partial<Head> = {}): Head => ({
  version: 7,
  messageCount: 7,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  ...fields,
});
const record = (version: number, expiresAt?: number): IdempotencyRecord => ({
  hash: 'h',
  version,
  firstSeq: version,
  lastSeq: version,
  ...(expiresAt === undefined ? {} : { expiresAt }),
});

describe('the life of a conversation id', () => {
  it('treats an item as gone from the second its expiry names, as DynamoDB will (later) delete it', () => {
    expect(isLive({}, now)).toBe(true);
    expect(isLive({ expiresAt: now + 1 }, now)).toBe(true);
    expect(isLive({ expiresAt: now }, now)).toBe(false);
  });

  it.each([
    ['no head', undefined, { live: false, version: 0, floor: 0 }],
    ['a live head', head(), { live: true, version: 7, floor: 0 }],
    ['a live head over a past life', head({ floor: 4 }), { live: true, version: 7, floor: 4 }],
    ['a live head until later', head({ liveUntil: now + 1 }), { live: true, version: 7, floor: 0 }],
    ['an expired head', head({ liveUntil: now }), { live: false, version: 0, floor: 7 }],
    ['a tombstone', head({ deleted: true }), { live: false, version: 0, floor: 7 }],
  ])('reads %s', (_, current, expected) => {
    expect({
      live: isLiveHead(current, now),
      version: liveVersion(current, now),
      floor: floorOf(current, now),
    }).toEqual(expected);
  });

  it('changes the history shape only on what can change a page already read: an edit, a delete, an expiry', () => {
    const before = historyShape(head(), now);

    expect(historyShape(head({ version: 9, messageCount: 9 }), now)).toBe(before);
    expect(historyShape(head({ rewrites: 1 }), now)).not.toBe(before);
    expect(historyShape(head({ deleted: true }), now)).not.toBe(before);
    expect(historyShape(head({ liveUntil: now }), now)).not.toBe(before);
  });

  it('frees a key whose record is of a past life or expired, and only then', () => {
    const overPastLife = head({ floor: 4 });

    expect(isLiveRecord(record(5), overPastLife, now)).toBe(true);
    expect(isLiveRecord(record(4), overPastLife, now)).toBe(false);
    expect(isLiveRecord(record(5, now), overPastLife, now)).toBe(false);
    expect(isLiveRecord(record(5), head({ deleted: true }), now)).toBe(false);
  });
});

describe('what a reader is told of a head', () => {
  it('answers title, metadata as JSON and revision, and never the listing keys or the op ids', () => {
    const info = conversationInfo(
      'c',
      head({
        title: 'Refund',
        meta: '{"pinned":true,"tags":["billing"]}',
        revision: 3,
        patchOp: 'p',
        op: 'o',
        lpk: 'l',
        lsk: 's',
        liveUntil: 1_800_000_000,
      }),
    );

    expect(info).toEqual({
      conversationId: 'c',
      version: 7,
      messageCount: 7,
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
      expiresAt: new Date(1_800_000_000_000).toISOString(),
      title: 'Refund',
      metadata: { pinned: true, tags: ['billing'] },
      revision: 3,
    });
  });

  it('answers revision 0 and no title or metadata for a head never patched', () => {
    expect(conversationInfo('c', head())).toEqual({
      conversationId: 'c',
      version: 7,
      messageCount: 7,
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
      revision: 0,
    });
  });
});
