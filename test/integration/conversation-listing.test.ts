import { randomUUID } from 'node:crypto';
import { QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConversationStore, type ConversationStoreOptions } from '../../lambda/memory/conversation-store.js';
import {
  ConversationNotFoundError,
  IdempotencyKeyReusedError,
  InvalidRequestError,
  PayloadTooLargeError,
  RevisionConflictError,
  VersionConflictError,
} from '../../lambda/memory/errors.js';
import type { MessageInput } from '../../lambda/memory/message.js';
import { tombstoneUpdate } from '../../lambda/memory/requests.js';
import type { ConversationInfo } from '../../lambda/memory/store-types.js';
import { keys, listing, listingKeys } from '../../lambda/memory/table.js';
import { createTestTable } from '../support/dynamodb.js';

type Table = Awaited<ReturnType<typeof createTestTable>>;

const user = (content: string): MessageInput => ({ role: 'user', content });
const minute = listing.intervalMs;
const ids = (conversations: readonly ConversationInfo[]) => conversations.map((c) => c.conversationId);

/** Every page of a listing, following nextCursor; fails if a page comes back without progress. */
async function listAll(
  store: ConversationStore,
  tenant: string,
  options: { prefix?: string; limit?: number } = {},
) {
  const pages: ConversationInfo[][] = [];
  let cursor: string | undefined;
  do {
    const page = await store.listConversations(tenant, { ...options, ...(cursor ? { cursor } : {}) });
    pages.push(page.conversations);
    cursor = page.nextCursor ?? undefined;
    if (pages.length > 1000) throw new Error('the listing does not end');
  } while (cursor !== undefined);
  return { pages, all: pages.flat() };
}

describe('Listing, titles and metadata on DynamoDB Local', () => {
  let table: Table;
  const makeStore = (options: Partial<ConversationStoreOptions> = {}) =>
    new ConversationStore({ client: table.client, tableName: table.tableName, ...options });

  beforeAll(async () => {
    table = await createTestTable('listing');
  });

  /** A store whose clock the test moves; every tenant of these tests is new, so listings start empty. */
  function clocked(
    start = Date.UTC(2026, 10, 30, 12, 0, 0),
    options: Partial<ConversationStoreOptions> = {},
  ) {
    const clock = { now: start };
    return { clock, store: makeStore({ now: () => clock.now, ...options }) };
  }

  describe('listing', () => {
    it('lists newest activity first: by the minute of the last write, then by id descending; pages exactly', async () => {
      // Prepare: 40 conversations, 4 per minute over 10 minutes, with random ids
      const tenant = `t-${randomUUID()}`;
      const { clock, store } = clocked();
      const written: Array<{ id: string; at: number }> = [];
      for (let i = 0; i < 40; i++) {
        clock.now += i % 4 === 0 ? minute : 1000;
        const id = `c-${randomUUID()}`;
        await store.append(tenant, id, [user(`hello ${i}`)]);
        written.push({ id, at: clock.now });
      }
      const expected = [...written]
        .sort((a, b) => Math.floor(b.at / minute) - Math.floor(a.at / minute) || (a.id < b.id ? 1 : -1))
        .map((entry) => entry.id);

      // Act
      const { pages, all } = await listAll(store, tenant, { limit: 7 });

      // Assess
      expect(ids(all)).toEqual(expected);
      expect(pages.map((page) => page.length)).toEqual([7, 7, 7, 7, 7, 5]);
      expect(all[0]).toMatchObject({ version: 1, messageCount: 1, revision: 0 });
    });

    it('moves a conversation to the top when it is written in a later minute, and lists it once', async () => {
      // Prepare
      const tenant = `t-${randomUUID()}`;
      const { clock, store } = clocked();
      for (const id of ['a', 'b', 'c']) {
        clock.now += minute;
        await store.append(tenant, id, [user(id)]);
      }
      clock.now += minute;

      // Act
      await store.append(tenant, 'a', [user('again')]);

      // Assess
      const { all } = await listAll(store, tenant);
      expect(ids(all)).toEqual(['a', 'c', 'b']);
      expect(all[0]).toMatchObject({
        version: 2,
        messageCount: 2,
        updatedAt: new Date(clock.now).toISOString(),
      });
    });

    it('keeps a conversation in place when it is written again within the same minute', async () => {
      // Prepare
      const tenant = `t-${randomUUID()}`;
      const { clock, store } = clocked(Date.UTC(2026, 10, 30, 12, 0, 0));
      await store.append(tenant, 'old', [user('1')]);
      clock.now += 20_000;
      await store.append(tenant, 'new', [user('2')]);
      const before = await indexEntries(table, tenant, 'old');
      clock.now += 20_000;

      // Act: the same minute
      await store.append(tenant, 'old', [user('3')]);

      // Assess: its index entry did not change, and the order is by id within the minute
      expect(await indexEntries(table, tenant, 'old')).toEqual(before);
      expect(ids((await store.listConversations(tenant)).conversations)).toEqual(['old', 'new']);
    });

    it('lists one scope (the id up to its first colon) newest first, and nothing of other scopes or tenants', async () => {
      // Prepare
      const tenant = `t-${randomUUID()}`;
      const { clock, store } = clocked();
      const mine: string[] = [];
      for (let i = 0; i < 30; i++) {
        clock.now += minute;
        const id = [`user-42:ticket-${i}`, `user-4:ticket-${i}`, `user-421:ticket-${i}`][i % 3] as string;
        await store.append(tenant, id, [user(`m${i}`)]);
        if (id.startsWith('user-42:')) mine.unshift(id);
      }
      await makeStore().append(`other-${tenant}`, 'user-42:ticket-0', [user('not yours')]);
      await store.append(tenant, 'user-42', [user('no colon: not in a scope')]);

      // Act
      const { all } = await listAll(store, tenant, { prefix: 'user-42:', limit: 4 });

      // Assess
      expect(ids(all)).toEqual(mine);
      expect((await listAll(store, tenant, { prefix: 'user-43:' })).all).toEqual([]);
      expect((await listAll(store, tenant)).all).toHaveLength(31);
    });

    it.each(['user-42', 'user-42:ticket', ':', 'a:b:', 'x#:', ''])(
      'refuses the prefix %j',
      async (prefix) => {
        await expect(makeStore().listConversations('t', { prefix })).rejects.toThrow(InvalidRequestError);
      },
    );

    it.each([0, 101, 1.5])('refuses limit %j', async (limit) => {
      await expect(makeStore().listConversations('t', { limit })).rejects.toThrow(InvalidRequestError);
    });

    it.each(['not a cursor', Buffer.from('123#x').toString('base64url'), '%%%'])(
      'refuses the cursor %j',
      async (cursor) => {
        await expect(makeStore().listConversations('t', { cursor })).rejects.toThrow(InvalidRequestError);
      },
    );

    it('never lists a deleted conversation, nor one whose delete was cut short; a new one under its id is listed', async () => {
      // Prepare
      const tenant = `t-${randomUUID()}`;
      const store = makeStore();
      for (const id of ['keep-1', 'gone', 'cut-short', 'keep-2']) await store.append(tenant, id, [user(id)]);

      // Act
      await store.deleteConversation(tenant, 'gone');
      // A delete cut short after its tombstone: the head stays, marked deleted.
      await table.client.send(tombstone(table, tenant, 'cut-short'));

      // Assess
      expect(ids((await listAll(store, tenant)).all).sort()).toEqual(['keep-1', 'keep-2']);
      await store.append(tenant, 'gone', [user('again')], { title: 'Second life' });
      const listed = (await listAll(store, tenant)).all.find((c) => c.conversationId === 'gone');
      expect(listed).toMatchObject({ version: 1, messageCount: 1, title: 'Second life' });
    });

    it('never lists an expired conversation, and reads no index entry older than the retention', async () => {
      // Prepare: retention of one hour; 'old' last written two hours before 'fresh'
      const tenant = `t-${randomUUID()}`;
      const { clock, store } = clocked(Date.UTC(2026, 10, 30, 12, 0, 0), { ttlSeconds: 3600 });
      await store.append(tenant, 'old', [user('old')]);
      clock.now += 2 * 3600 * 1000;
      await store.append(tenant, 'fresh', [user('fresh')]);
      clock.now += 30 * minute;
      await store.append(tenant, 'touched', [user('t')]);

      // Act
      const page = await store.listConversations(tenant);

      // Assess
      expect(ids(page.conversations)).toEqual(['touched', 'fresh']);
      expect(page.nextCursor).toBeNull();
      expect(page.conversations[0]?.expiresAt).toBe(new Date(clock.now + 3600 * 1000).toISOString());
      // 'fresh' expires: it is in the oldest minute the listing still reads, and its head says it is dead.
      clock.now += 31 * minute;
      expect(ids((await store.listConversations(tenant)).conversations)).toEqual(['touched']);
    });

    it('isolates tenants: the same ids and titles under two tenants, each lists only its own, with its own counts', async () => {
      // Prepare
      const [one, two] = [`one-${randomUUID()}`, `two-${randomUUID()}`];
      const store = makeStore();
      for (let i = 0; i < 20; i++) {
        await store.append(one, `shared:${i}`, [user('a')], { title: `Shared ${i}` });
        await store.append(two, `shared:${i}`, [user('a'), user('b'), user('c')], { title: `Shared ${i}` });
        await store.append(two, `only-two:${i}`, [user('x')]);
      }

      // Act
      const listedOne = (await listAll(store, one, { limit: 6 })).all;
      const listedTwo = (await listAll(store, two, { limit: 6 })).all;
      const scopedOne = (await listAll(store, one, { prefix: 'only-two:' })).all;

      // Assess
      expect(listedOne).toHaveLength(20);
      expect(listedOne.every((c) => c.messageCount === 1 && c.version === 1)).toBe(true);
      expect(listedTwo).toHaveLength(40);
      expect(
        listedTwo.filter((c) => c.conversationId.startsWith('shared:')).every((c) => c.messageCount === 3),
      ).toBe(true);
      expect(scopedOne).toEqual([]);
    });

    it('spreads a tenant over 16 shards and lists 200 conversations exactly once in pages of any size', async () => {
      // Prepare
      const tenant = `t-${randomUUID()}`;
      const store = makeStore();
      const created = Array.from({ length: 200 }, (_, i) => `c${String(i).padStart(3, '0')}`);
      for (const id of created) await store.append(tenant, id, [user(id)]);
      const shards = new Set(created.map((id) => listingKeys.shardOf(id)));

      // Act
      const pages = await Promise.all([7, 50, 100].map((limit) => listAll(store, tenant, { limit })));

      // Assess
      expect(shards.size).toBe(16);
      for (const { all } of pages) expect(new Set(ids(all)).size).toBe(200);
      for (const { all } of pages) expect(ids(all)).toEqual(ids(pages[0]?.all ?? []));
    });
  });

  describe('titles and metadata', () => {
    it('takes a title from the append that starts the conversation, not from later ones', async () => {
      // Prepare
      const tenant = `t-${randomUUID()}`;
      const store = makeStore();

      // Act
      await store.append(tenant, 'c', [user('hi')], { title: 'Trip to Paris' });
      await store.append(tenant, 'c', [user('more')], { title: 'Ignored' });

      // Assess
      expect(await store.getConversation(tenant, 'c')).toMatchObject({ title: 'Trip to Paris', revision: 0 });
      expect((await store.listConversations(tenant)).conversations[0]?.title).toBe('Trip to Paris');
    });

    it.each(['', '   ', 'x'.repeat(257)])(
      'refuses the title %j on an append, storing nothing',
      async (title) => {
        const tenant = `t-${randomUUID()}`;
        await expect(makeStore().append(tenant, 'c', [user('hi')], { title })).rejects.toThrow(
          InvalidRequestError,
        );
        expect(await makeStore().getConversation(tenant, 'c')).toBeUndefined();
      },
    );

    it('patches: title replaced or removed, metadata merged (null removes), revision counted; messages untouched', async () => {
      // Prepare
      const tenant = `t-${randomUUID()}`;
      const store = makeStore();
      await store.append(tenant, 'c', [user('one'), user('two')]);
      const before = await store.getConversation(tenant, 'c');

      // Act
      const first = await store.patchConversation(tenant, 'c', {
        title: 'Refund ✈️',
        metadata: { tags: ['billing'], owner: { name: 'Ada', team: 'ops' }, pinned: true },
      });
      const second = await store.patchConversation(tenant, 'c', {
        metadata: JSON.parse(
          '{"owner": {"team": null, "shift": "night"}, "pinned": null, "__proto__": "kept as a key"}',
        ),
      });
      const third = await store.patchConversation(tenant, 'c', { title: null });

      // Assess
      expect(first).toMatchObject({ title: 'Refund ✈️', revision: 1, replayed: false });
      expect(second.metadata).toEqual(
        JSON.parse('{"tags":["billing"],"owner":{"name":"Ada","shift":"night"},"__proto__":"kept as a key"}'),
      );
      expect(third).toMatchObject({ revision: 3 });
      expect(third.title).toBeUndefined();
      const after = await store.getConversation(tenant, 'c');
      expect(after).toEqual({ ...before, metadata: second.metadata, revision: 3 });
      expect((await store.load(tenant, 'c')).messages.map((m) => m.content)).toEqual(['one', 'two']);
    });

    it('merges concurrent patches of different members: each reads again after a lost race, none is lost', async () => {
      // Prepare
      const tenant = `t-${randomUUID()}`;
      const store = makeStore({ backoff: { baseMs: 1, capMs: 20 } });
      await store.append(tenant, 'c', [user('hi')]);

      // Act: eight PATCHes at once, each of its own member
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          store.patchConversation(tenant, 'c', { metadata: { [`m${i}`]: i } }),
        ),
      );

      // Assess: all eight members, eight revisions, each PATCH answered with its own
      const after = await store.getConversation(tenant, 'c');
      expect(after?.metadata).toEqual(Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`m${i}`, i])));
      expect(after?.revision).toBe(8);
      expect(results.map((result) => result.revision).sort((a, b) => a - b)).toEqual([
        1, 2, 3, 4, 5, 6, 7, 8,
      ]);
    });

    it('writes nothing for a patch that changes nothing', async () => {
      // Prepare
      const tenant = `t-${randomUUID()}`;
      const store = makeStore();
      await store.append(tenant, 'c', [user('hi')], { title: 'Same' });

      // Act
      const result = await store.patchConversation(tenant, 'c', { title: 'Same', metadata: { gone: null } });

      // Assess
      expect(result).toMatchObject({ title: 'Same', revision: 0 });
      expect(await store.getConversation(tenant, 'c')).toMatchObject({ revision: 0 });
    });

    it('is conditional on expectedRevision and expectedVersion', async () => {
      // Prepare
      const tenant = `t-${randomUUID()}`;
      const store = makeStore();
      await store.append(tenant, 'c', [user('hi')]);
      await store.patchConversation(tenant, 'c', { title: 'v1' });

      // Act / Assess
      await expect(
        store.patchConversation(tenant, 'c', { title: 'stale' }, { expectedRevision: 0 }),
      ).rejects.toMatchObject(new RevisionConflictError(1));
      await expect(
        store.patchConversation(tenant, 'c', { title: 'stale' }, { expectedVersion: 2 }),
      ).rejects.toMatchObject(new VersionConflictError(1));
      const ok = await store.patchConversation(
        tenant,
        'c',
        { title: 'v2' },
        { expectedRevision: 1, expectedVersion: 1 },
      );
      expect(ok).toMatchObject({ title: 'v2', revision: 2 });
    });

    it('answers not found for a conversation never written, deleted or expired', async () => {
      // Prepare
      const tenant = `t-${randomUUID()}`;
      const { clock, store } = clocked(Date.UTC(2026, 10, 30), { ttlSeconds: 60 });
      await store.append(tenant, 'deleted', [user('x')]);
      await store.deleteConversation(tenant, 'deleted');
      await store.append(tenant, 'expired', [user('x')]);
      clock.now += 61_000;

      // Act / Assess
      for (const id of ['never', 'deleted', 'expired']) {
        await expect(store.patchConversation(tenant, id, { title: 'x' })).rejects.toThrow(
          ConversationNotFoundError,
        );
      }
    });

    it('replays a keyed patch, refuses its key for another request, and shares keys with appends', async () => {
      // Prepare
      const tenant = `t-${randomUUID()}`;
      const store = makeStore();
      await store.append(tenant, 'c', [user('hi')], { idempotencyKey: 'append-key' });
      const first = await store.patchConversation(tenant, 'c', { title: 'One' }, { idempotencyKey: 'k' });
      await store.patchConversation(tenant, 'c', { title: 'Two' });

      // Act
      const replay = await store.patchConversation(tenant, 'c', { title: 'One' }, { idempotencyKey: 'k' });

      // Assess
      expect(replay).toEqual({ ...first, replayed: true, consumedCapacity: replay.consumedCapacity });
      expect(await store.getConversation(tenant, 'c')).toMatchObject({ title: 'Two', revision: 2 });
      await expect(
        store.patchConversation(tenant, 'c', { title: 'Three' }, { idempotencyKey: 'k' }),
      ).rejects.toThrow(IdempotencyKeyReusedError);
      await expect(
        store.patchConversation(tenant, 'c', { title: 'One' }, { idempotencyKey: 'append-key' }),
      ).rejects.toThrow(IdempotencyKeyReusedError);
      await expect(store.append(tenant, 'c', [user('hi')], { idempotencyKey: 'k' })).rejects.toThrow(
        IdempotencyKeyReusedError,
      );
    });

    it('records the key of a keyed patch that changes nothing', async () => {
      // Prepare
      const tenant = `t-${randomUUID()}`;
      const store = makeStore();
      await store.append(tenant, 'c', [user('hi')], { title: 'Same' });

      // Act
      const first = await store.patchConversation(tenant, 'c', { title: 'Same' }, { idempotencyKey: 'noop' });

      // Assess
      expect(first).toMatchObject({ revision: 0, replayed: false });
      await expect(
        store.patchConversation(tenant, 'c', { title: 'Other' }, { idempotencyKey: 'noop' }),
      ).rejects.toThrow(IdempotencyKeyReusedError);
    });

    it('refuses metadata over 4 KiB and bad patches, changing nothing', async () => {
      // Prepare
      const tenant = `t-${randomUUID()}`;
      const store = makeStore();
      await store.append(tenant, 'c', [user('hi')]);

      // Act / Assess
      await expect(
        store.patchConversation(tenant, 'c', { metadata: { blob: 'x'.repeat(4096) } }),
      ).rejects.toThrow(PayloadTooLargeError);
      for (const patch of [{}, { title: 5 }, { metadata: [1] }, { metadata: 'x' }, { color: 'red' }]) {
        await expect(store.patchConversation(tenant, 'c', patch as never)).rejects.toThrow(
          InvalidRequestError,
        );
      }
      expect(await store.getConversation(tenant, 'c')).toMatchObject({ revision: 0 });
    });

    it('changes neither the listing order nor updatedAt, and writes no index', async () => {
      // Prepare
      const tenant = `t-${randomUUID()}`;
      const { clock, store } = clocked();
      await store.append(tenant, 'older', [user('a')]);
      clock.now += minute;
      await store.append(tenant, 'newer', [user('b')]);
      const entries = await indexEntries(table, tenant, 'older');
      clock.now += minute;

      // Act
      await store.patchConversation(tenant, 'older', { title: 'Renamed', metadata: { pinned: true } });

      // Assess
      const page = await store.listConversations(tenant);
      expect(ids(page.conversations)).toEqual(['newer', 'older']);
      expect(page.conversations[1]).toMatchObject({ title: 'Renamed', metadata: { pinned: true } });
      expect(await indexEntries(table, tenant, 'older')).toEqual(entries);
    });
  });
});

/** The conversation's entries in both listing indexes, as DynamoDB holds them. */
async function indexEntries(table: Table, tenant: string, conversationId: string) {
  const shard = listingKeys.shardOf(conversationId);
  const scope = listingKeys.scopeOf(conversationId);
  const read = async (index: string, attribute: string, partition: string) =>
    (
      await table.client.send(
        new QueryCommand({
          TableName: table.tableName,
          IndexName: index,
          KeyConditionExpression: `${attribute} = :p`,
          ExpressionAttributeValues: { ':p': partition },
        }),
      )
    ).Items?.filter((item) => item.pk === keys.partition(tenant, conversationId));
  return {
    listing: await read(listing.index, 'lpk', listingKeys.partition(tenant, shard)),
    scoped:
      scope === undefined
        ? undefined
        : await read(listing.scopedIndex, 'spk', listingKeys.scopedPartition(tenant, shard, scope)),
  };
}

/** The first step of a delete alone, as a delete cut short leaves it. */
function tombstone(table: Table, tenant: string, conversationId: string) {
  return new UpdateCommand({
    TableName: table.tableName,
    ...tombstoneUpdate(keys.partition(tenant, conversationId)),
  });
}
