import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConversationStore, type ConversationStoreOptions } from '../../lambda/memory/conversation-store.js';
import { removePastLife } from '../../lambda/memory/delete.js';
import {
  IdempotencyKeyReusedError,
  IdempotentResultGoneError,
  InvalidRequestError,
  PayloadTooLargeError,
  SuffixMismatchError,
  VersionConflictError,
} from '../../lambda/memory/errors.js';
import type { MessageInput } from '../../lambda/memory/message.js';
import type { StoreContext } from '../../lambda/memory/store-context.js';
import { keys } from '../../lambda/memory/table.js';
import { createTestTable } from '../support/dynamodb.js';

type Table = Awaited<ReturnType<typeof createTestTable>>;

const user = (content: string): MessageInput => ({ role: 'user', content });
const texts = (messages: Array<{ content: unknown }>) => messages.map((message) => message.content);
const seqs = (messages: Array<{ seq: number }>) => messages.map((message) => message.seq);
const seqOf = (sk: unknown) =>
  Number(
    String(sk)
      .replace(/^MSG#/, '')
      .replace(/^IDEM#.*/, '0'),
  );
let counter = 0;
const newId = () => `conv-${++counter}`;

async function itemsOf(table: Table, tenant: string, conversationId: string) {
  const output = await table.client.send(
    new QueryCommand({
      TableName: table.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': keys.partition(tenant, conversationId) },
      ConsistentRead: true,
    }),
  );
  return output.Items ?? [];
}

async function fill(store: ConversationStore, tenant: string, id: string, count: number, size = 0) {
  const padding = 'x'.repeat(size);
  const perBatch = size > 10_000 ? 10 : 50;
  for (let start = 1; start <= count; start += perBatch) {
    const batch = Array.from({ length: Math.min(perBatch, count - start + 1) }, (_, i) =>
      user(`m${start + i}${padding}`),
    );
    await store.append(tenant, id, batch);
  }
}

describe('ConversationStore on DynamoDB Local', () => {
  let table: Table;
  let store: ConversationStore;
  const makeStore = (options: Partial<ConversationStoreOptions> = {}) =>
    new ConversationStore({ client: table.client, tableName: table.tableName, ...options });

  beforeAll(async () => {
    table = await createTestTable('store');
    store = makeStore();
  });

  describe('append and load', () => {
    it('round-trips every message field exactly and adds seq, id and createdAt', async () => {
      // Prepare
      const id = newId();
      const messages: MessageInput[] = [
        { role: 'system', content: 'You are terse.' },
        {
          id: 'client-id-1',
          role: 'user',
          content: [
            { type: 'text', text: 'What is in this picture? 🦆 ünïcödé' },
            { type: 'image', source: { kind: 'url', url: 'https://example.com/a.png' }, detail: null },
          ],
          name: 'alice',
          metadata: { nested: { list: [1, 2.5, -3e300, true, null, ''], empty: {} }, n: 0 },
        },
        {
          role: 'assistant',
          content: '',
          toolCalls: [
            { id: 'call_1', name: 'lookup', arguments: '{"q":"duck"}' },
            {
              id: 'call_2',
              name: 'search',
              arguments: { q: 'duck', limit: 3, deep: { a: [] } },
              extra: 'kept',
            },
          ],
        },
        { role: 'tool', content: '{"result":"a duck"}', toolCallId: 'call_1' },
        { role: 'developer', content: [{ type: 'text', text: 'be nice' }] },
      ];

      // Act
      const appended = await store.append('t', id, messages);
      const page = await store.load('t', id);

      // Assess
      expect(appended.version).toBe(5);
      expect(page.version).toBe(5);
      expect(page.messages).toEqual(appended.messages);
      page.messages.forEach((stored, index) => {
        const { seq, createdAt, id: storedId, ...rest } = stored;
        expect(seq).toBe(index + 1);
        expect(new Date(createdAt).toISOString()).toBe(createdAt);
        expect({ ...rest, ...(messages[index]?.id ? { id: storedId } : {}) }).toEqual(messages[index]);
      });
      expect(page.messages[1]?.id).toBe('client-id-1');
      expect(page.messages[0]?.id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
      expect((page.messages[2]?.id ?? '') > (page.messages[0]?.id ?? '')).toBe(true);
    });

    it('reads an unknown conversation as version 0 with no messages', async () => {
      const page = await store.load('t', newId());

      expect(page).toMatchObject({ version: 0, messages: [], nextBefore: null });
      expect(await store.getConversation('t', newId())).toBeUndefined();
    });

    it('describes a conversation with its head', async () => {
      const id = newId();
      await store.append('t', id, [user('a'), user('b')]);
      await store.append('t', id, [user('c')]);

      const info = await store.getConversation('t', id);

      expect(info).toMatchObject({ conversationId: id, version: 3, messageCount: 3 });
      expect(info && info.updatedAt >= info.createdAt).toBe(true);
      expect(info?.expiresAt).toBeUndefined();
    });

    it('keeps tenants apart: the same id under two tenants is two conversations', async () => {
      const id = newId();
      await store.append('tenant-a', id, [user('for a')]);
      await store.append('tenant-b', id, [user('for b'), user('again b')]);

      const [a, b] = await Promise.all([store.load('tenant-a', id), store.load('tenant-b', id)]);

      expect(texts(a.messages)).toEqual(['for a']);
      expect(texts(b.messages)).toEqual(['for b', 'again b']);
      expect(await store.getConversation('tenant-c', id)).toBeUndefined();
    });
  });

  describe('pagination', () => {
    const id = newId();
    beforeAll(async () => {
      await fill(store, 't', id, 25);
    });

    it('pages backward from the newest messages with nextBefore', async () => {
      const first = await store.load('t', id, { limit: 10 });
      const second = await store.load('t', id, { limit: 10, before: first.nextBefore ?? -1 });
      const third = await store.load('t', id, { limit: 10, before: second.nextBefore ?? -1 });

      expect(seqs(first.messages)).toEqual([16, 17, 18, 19, 20, 21, 22, 23, 24, 25]);
      expect(first.nextBefore).toBe(16);
      expect(seqs(second.messages)).toEqual([6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
      expect(second.nextBefore).toBe(6);
      expect(seqs(third.messages)).toEqual([1, 2, 3, 4, 5]);
      expect(third.nextBefore).toBeNull();
      expect(third.version).toBe(25);
    });

    it('pages forward from the oldest messages with nextAfter', async () => {
      const first = await store.load('t', id, { limit: 10, after: 0 });
      const second = await store.load('t', id, { limit: 10, after: first.nextAfter ?? -1 });
      const third = await store.load('t', id, { limit: 10, after: second.nextAfter ?? -1 });

      expect(seqs(first.messages)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(first.nextAfter).toBe(10);
      expect(seqs(second.messages)).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
      expect(seqs(third.messages)).toEqual([21, 22, 23, 24, 25]);
      expect(third.nextAfter).toBeNull();
      expect(third.nextBefore).toBeUndefined();
    });

    it('combines after and before as exclusive bounds', async () => {
      const forward = await store.load('t', id, { after: 5, before: 12, limit: 4 });
      const rest = await store.load('t', id, { after: forward.nextAfter ?? -1, before: 12, limit: 4 });
      const backward = await store.load('t', id, { before: 3 });

      expect(seqs(forward.messages)).toEqual([6, 7, 8, 9]);
      expect(forward.nextAfter).toBe(9);
      expect(seqs(rest.messages)).toEqual([10, 11]);
      expect(rest.nextAfter).toBeNull();
      expect(seqs(backward.messages)).toEqual([1, 2]);
      expect(backward.nextBefore).toBeNull();
    });

    it('returns an exact final page with a null cursor', async () => {
      const page = await store.load('t', id, { limit: 25 });
      const beyond = await store.load('t', id, { after: 25 });

      expect(page.messages).toHaveLength(25);
      expect(page.nextBefore).toBeNull();
      expect(beyond).toMatchObject({ messages: [], nextAfter: null, version: 25 });
    });

    it('rejects bad query values', async () => {
      for (const options of [
        { limit: 0 },
        { limit: 1001 },
        { limit: 1.5 },
        { before: -1 },
        { after: Number.NaN },
      ]) {
        await expect(store.load('t', id, options)).rejects.toBeInstanceOf(InvalidRequestError);
      }
    });

    it('stops a page below its byte budget and points at the rest', async () => {
      const big = newId();
      await fill(store, 't', big, 30, 200_000); // 30 x ~200 KB = 6 MB, more than one page may carry

      const pages = [await store.load('t', big, { limit: 30 })];
      for (let page = pages[0]; page?.nextBefore; page = pages.at(-1)) {
        pages.push(await store.load('t', big, { limit: 30, before: page.nextBefore }));
      }

      const first = pages[0];
      expect(first?.messages.length).toBeLessThan(30);
      expect(first?.nextBefore).toBe(first?.messages[0]?.seq);
      for (const page of pages) {
        const bytes = page.messages.reduce((sum, m) => sum + Buffer.byteLength(JSON.stringify(m)), 0);
        expect(bytes).toBeLessThanOrEqual(1024 * 1024);
      }
      const all = pages.reverse().flatMap((page) => seqs(page.messages));
      expect(all).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    });
  });

  describe('conditional append', () => {
    it('commits on the expected version and rejects a stale one, writing nothing', async () => {
      const id = newId();
      await store.append('t', id, [user('one')], { expectedVersion: 0 });
      await store.append('t', id, [user('two')], { expectedVersion: 1 });

      const stale = await store.append('t', id, [user('late')], { expectedVersion: 1 }).catch((e) => e);
      const fresh = await store.append('t', newId(), [user('x')], { expectedVersion: 3 }).catch((e) => e);

      expect(stale).toMatchObject({ name: 'VersionConflictError', currentVersion: 2 });
      expect(fresh).toMatchObject({ name: 'VersionConflictError', currentVersion: 0 });
      expect(texts((await store.load('t', id)).messages)).toEqual(['one', 'two']);
    });

    it('rejects expectedVersion 0 on an existing conversation', async () => {
      const id = newId();
      await store.append('t', id, [user('one')]);

      await expect(store.append('t', id, [user('two')], { expectedVersion: 0 })).rejects.toBeInstanceOf(
        VersionConflictError,
      );
    });
  });

  describe('idempotency', () => {
    it('replays the original result for the same key and body, writing nothing', async () => {
      const id = newId();
      const first = await store.append('t', id, [user('hello'), user('world')], { idempotencyKey: 'key-1' });
      await store.append('t', id, [user('later')]);
      const before = await itemsOf(table, 't', id);

      const replay = await store.append('t', id, [user('hello'), user('world')], { idempotencyKey: 'key-1' });

      expect(replay).toMatchObject({ replayed: true, version: 2 });
      expect(replay.messages).toEqual(first.messages);
      expect(await itemsOf(table, 't', id)).toEqual(before);
    });

    it('replays a conditional append even after the version moved on', async () => {
      const id = newId();
      const first = await store.append('t', id, [user('a')], { expectedVersion: 0, idempotencyKey: 'k' });
      await store.append('t', id, [user('b')]);

      const replay = await store.append('t', id, [user('a')], { expectedVersion: 0, idempotencyKey: 'k' });

      expect(replay).toMatchObject({ replayed: true, version: 1, messages: first.messages });
    });

    it('treats key order inside the body as the same request', async () => {
      const id = newId();
      await store.append('t', id, [{ role: 'user', content: 'x', metadata: { a: 1, b: 2 } }], {
        idempotencyKey: 'k',
      });

      const replay = await store.append('t', id, [{ metadata: { b: 2, a: 1 }, content: 'x', role: 'user' }], {
        idempotencyKey: 'k',
      });

      expect(replay.replayed).toBe(true);
    });

    it('rejects the same key with another body and writes nothing', async () => {
      const id = newId();
      await store.append('t', id, [user('original')], { idempotencyKey: 'key-2' });
      const before = await itemsOf(table, 't', id);

      const reused = await store
        .append('t', id, [user('different')], { idempotencyKey: 'key-2' })
        .catch((e) => e);
      const otherVersion = await store
        .append('t', id, [user('original')], { idempotencyKey: 'key-2', expectedVersion: 1 })
        .catch((e) => e);

      expect(reused).toBeInstanceOf(IdempotencyKeyReusedError);
      expect(otherVersion).toBeInstanceOf(IdempotencyKeyReusedError);
      expect(await itemsOf(table, 't', id)).toEqual(before);
    });

    it('scopes keys to the tenant and the conversation', async () => {
      const id = newId();
      const other = newId();
      await store.append('t', id, [user('a')], { idempotencyKey: 'shared' });

      const sameTenant = await store.append('t', other, [user('b')], { idempotencyKey: 'shared' });
      const otherTenant = await store.append('u', id, [user('c')], { idempotencyKey: 'shared' });

      expect(sameTenant.replayed).toBe(false);
      expect(otherTenant.replayed).toBe(false);
    });

    it('gives concurrent retries of one request exactly one commit', async () => {
      const id = newId();

      const results = await Promise.all(
        Array.from({ length: 8 }, () => store.append('t', id, [user('once')], { idempotencyKey: 'retry' })),
      );

      expect(results.filter((result) => !result.replayed)).toHaveLength(1);
      expect(new Set(results.map((result) => result.messages[0]?.id)).size).toBe(1);
      expect(texts((await store.load('t', id)).messages)).toEqual(['once']);
    });
  });

  describe('limits', () => {
    it('accepts a message of exactly 256 KiB of JSON', async () => {
      const id = newId();
      const overhead = JSON.stringify(user('')).length;

      const result = await store.append('t', id, [user('a'.repeat(256 * 1024 - overhead))]);

      expect(result.version).toBe(1);
    });

    it('rejects what breaks a limit with a typed error and stores nothing', async () => {
      const id = newId();
      const overhead = JSON.stringify(user('')).length;
      let deep: unknown = 'leaf';
      for (let i = 0; i < 32; i++) deep = { deep };
      let hostile: unknown = 'leaf';
      for (let i = 0; i < 200_000; i++) hostile = [hostile];
      const cases: Array<[unknown[], new (...args: never[]) => Error]> = [
        [[], InvalidRequestError],
        [Array.from({ length: 51 }, () => user('x')), InvalidRequestError],
        [[user('a'.repeat(256 * 1024 - overhead + 1))], PayloadTooLargeError],
        [Array.from({ length: 20 }, () => user('a'.repeat(250_000))), PayloadTooLargeError],
        [[{ role: 'user', content: 'x', metadata: deep }], InvalidRequestError],
        [[{ role: 'user', content: 'x', metadata: { hostile } }], InvalidRequestError],
        [[{ role: 'robot', content: 'x' }], InvalidRequestError],
        [[{ role: 'user', content: [{ text: 'no type' }] }], InvalidRequestError],
        [[{ role: 'user', content: 'x', unknownField: 1 }], InvalidRequestError],
        [[{ role: 'user', content: 'x', id: 'i'.repeat(129) }], InvalidRequestError],
      ];

      for (const [messages, errorType] of cases) {
        await expect(store.append('t', id, messages)).rejects.toBeInstanceOf(errorType);
      }
      await expect(store.append('t', 'bad/id', [user('x')])).rejects.toBeInstanceOf(InvalidRequestError);
      await expect(store.append('t', id, [user('x')], { idempotencyKey: 'é' })).rejects.toBeInstanceOf(
        InvalidRequestError,
      );
      expect(await itemsOf(table, 't', id)).toEqual([]);
    });
  });

  describe('deleteConversation', () => {
    it('removes every item of the conversation, and only of it', async () => {
      const id = newId();
      const neighbour = newId();
      await fill(store, 't', id, 150);
      await store.append('t', id, [user('keyed')], { idempotencyKey: 'k' });
      await store.append('t', neighbour, [user('stays')]);

      await store.deleteConversation('t', id);

      expect(await itemsOf(table, 't', id)).toEqual([]);
      expect(await store.load('t', id)).toMatchObject({ version: 0, messages: [] });
      expect(await store.getConversation('t', id)).toBeUndefined();
      expect(texts((await store.load('t', neighbour)).messages)).toEqual(['stays']);
    });

    it('starts a deleted conversation again at version 0, its keys free again', async () => {
      const id = newId();
      await store.append('t', id, [user('old')], { idempotencyKey: 'k' });
      await store.deleteConversation('t', id);

      const deleted = await store.load('t', id);
      const again = await store.append('t', id, [user('new')], { idempotencyKey: 'k', expectedVersion: 0 });

      expect(deleted.version).toBe(0);
      expect(again).toMatchObject({ replayed: false, version: 1 });
      expect(seqs(again.messages)).toEqual([1]);
      expect(texts((await store.load('t', id)).messages)).toEqual(['new']);
    });

    it('succeeds when nothing exists', async () => {
      await expect(store.deleteConversation('t', newId())).resolves.toBeUndefined();
    });

    it('never leaves orphans when appends land in the middle of a delete', async () => {
      // Prepare: 120 messages, so the delete's cleanup takes two transactions (99 + 21 deletes). The store
      // that deletes holds its second cleanup transaction back until 5 appends (of another process) are done:
      // they land between the tombstone and the end of the cleanup, every time.
      const id = newId();
      await fill(store, 't', id, 120);
      let cleanups = 0;
      let racedAt: number | undefined;
      const send = table.client.send.bind(table.client) as (command: unknown) => Promise<unknown>;
      const deleting = new ConversationStore({
        tableName: table.tableName,
        client: Object.assign(Object.create(table.client), {
          send: async (command: { input?: { TransactItems?: Array<{ ConditionCheck?: unknown }> } }) => {
            const cleanup = command.input?.TransactItems?.[0]?.ConditionCheck !== undefined;
            if (cleanup && ++cleanups === 2) {
              racedAt = cleanups;
              for (let i = 0; i < 5; i++) await store.append('t', id, [user(`racer ${i}`)]);
            }
            return send(command);
          },
        }),
      });

      // Act
      await deleting.deleteConversation('t', id);

      // Assess: the racers are one new life above the deleted seqs, whole; the cleanup stopped at it.
      expect(racedAt).toBe(2);
      const page = await store.load('t', id, { limit: 1000 });
      expect(texts(page.messages)).toEqual(Array.from({ length: 5 }, (_, i) => `racer ${i}`));
      expect(seqs(page.messages)).toEqual([121, 122, 123, 124, 125]);
      // What the refused second cleanup transaction would have deleted is left, below the head's floor:
      // the deleted life, invisible to every read.
      const items = await itemsOf(table, 't', id);
      const head = items.find((item) => item.sk === keys.head);
      expect(head?.floor).toBe(120);
      const others = items.filter((item) => item !== head && !seqs(page.messages).includes(seqOf(item.sk)));
      expect(others).toHaveLength(120 - 99);
      expect(others.every((item) => seqOf(item.sk) <= 120)).toBe(true);
    });
  });

  describe('retention (TTL)', () => {
    it('sets expiresAt on every item, refreshes the head and hides what has expired', async () => {
      let now = Date.parse('2026-01-01T00:00:00Z');
      const timed = makeStore({ ttlSeconds: 3600, now: () => now });
      const id = newId();
      await timed.append('t', id, [user('early')], { idempotencyKey: 'k' });
      now += 1800_000;
      await timed.append('t', id, [user('later')]);

      const items = await itemsOf(table, 't', id);
      now += 2400_000; // 'early' (written at 0) has expired, 'later' (at 30 min) has not
      const partly = await timed.load('t', id);
      const info = await timed.getConversation('t', id);

      const head = items.find((item) => item.sk === keys.head);
      expect(items.filter((item) => item !== head).every((item) => typeof item.expiresAt === 'number')).toBe(
        true,
      );
      // The head expires logically but is never swept by DynamoDB's TTL: it keeps the floor.
      expect(head?.expiresAt).toBeUndefined();
      expect(head?.liveUntil).toBe(Date.parse('2026-01-01T01:30:00Z') / 1000);
      expect(texts(partly.messages)).toEqual(['later']);
      expect(info?.expiresAt).toBe('2026-01-01T01:30:00.000Z');
    });

    it('reads a conversation past its expiry as unknown, and starts a new life above its seqs', async () => {
      let now = Date.parse('2026-02-01T00:00:00Z');
      const timed = makeStore({ ttlSeconds: 60, now: () => now });
      const id = newId();
      await timed.append('t', id, [user('a'), user('b'), user('c')], { idempotencyKey: 'k' });
      now += 61_000;

      const expired = await timed.load('t', id);
      const info = await timed.getConversation('t', id);
      const restarted = await timed.append('t', id, [user('fresh')], {
        expectedVersion: 0,
        idempotencyKey: 'k',
      });
      const after = await timed.load('t', id);
      const paged = await timed.load('t', id, { after: 0 });

      expect(expired).toMatchObject({ version: 0, messages: [] });
      expect(info).toBeUndefined();
      // Seqs are never reused, so nothing of the past life can ever be mistaken for the new one.
      expect(restarted).toMatchObject({ version: 4, replayed: false });
      expect(texts(after.messages)).toEqual(['fresh']);
      expect(seqs(after.messages)).toEqual([4]);
      expect(after.nextBefore).toBeNull();
      expect(texts(paged.messages)).toEqual(['fresh']);
    });

    it('keeps a conversation alive when retention is turned off', async () => {
      let now = Date.parse('2026-03-01T00:00:00Z');
      const id = newId();
      await makeStore({ ttlSeconds: 3600, now: () => now }).append('t', id, [user('a')]);
      const kept = makeStore({ now: () => now });
      await kept.append('t', id, [user('b')]);

      now += 7200_000; // past the expiry the first write set
      const page = await kept.load('t', id);

      expect(texts(page.messages)).toEqual(['b']); // 'a' itself expired; the conversation did not
      expect(page.version).toBe(2);
      expect(await kept.getConversation('t', id)).toMatchObject({ version: 2 });
    });
  });

  describe('lives of an id', () => {
    it('does not read the past life of a restarted conversation: the window costs the same', async () => {
      let now = Date.parse('2026-04-01T00:00:00Z');
      const timed = makeStore({ ttlSeconds: 60, now: () => now });
      const id = newId();
      await fill(timed, 't', id, 300);
      now += 61_000;
      await timed.append('t', id, [user('new life')]);
      const fresh = newId();
      await timed.append('t', fresh, [user('new life')]);

      const restarted = await timed.load('t', id, { limit: 20 });
      const reference = await timed.load('t', fresh, { limit: 20 });

      expect(texts(restarted.messages)).toEqual(['new life']);
      expect(restarted.consumedCapacity).toBe(reference.consumedCapacity);
    });

    it('leaves a delete cut short invisible, and a retried delete finishes it', async () => {
      const id = newId();
      await fill(store, 't', id, 60);
      await store.append('t', id, [user('keyed')], { idempotencyKey: 'k' });
      // A store whose cleanup dies after the tombstone, as a Lambda timing out would.
      const original = table.client.send.bind(table.client);
      const crashing = Object.assign(Object.create(table.client), {
        send: (command: { constructor: { name: string } }, ...rest: unknown[]) =>
          command.constructor.name === 'TransactWriteCommand'
            ? Promise.reject(new TypeError('crash'))
            : (original as (...args: unknown[]) => Promise<unknown>)(command, ...rest),
      });
      const failing = new ConversationStore({ client: crashing, tableName: table.tableName });

      await expect(failing.deleteConversation('t', id)).rejects.toThrow();
      const afterCrash = await store.load('t', id);
      const retried = await store.append('t', id, [user('keyed')], { idempotencyKey: 'k' });
      await store.deleteConversation('t', id);

      expect(afterCrash).toMatchObject({ version: 0, messages: [] });
      expect(retried.replayed).toBe(false); // the conversation was deleted: a new one begins
      expect(retried.messages[0]?.seq).toBe(62); // above the tombstone's seqs, which it still hides
      expect(await itemsOf(table, 't', id)).toEqual([]);
    });

    it('lets a cleanup still running from an earlier delete touch nothing of the next life', async () => {
      const id = newId();
      await store.append('t', id, [user('a'), user('b'), user('c')], { idempotencyKey: 'K' });
      await store.deleteConversation('t', id);
      const next = await store.append('t', id, [user('new')], { idempotencyKey: 'K' });

      // The first delete's cleanup, stalled until now, resumes with the tombstone it made (version 3).
      const { context } = store as unknown as { context: StoreContext };
      const where = { pk: keys.partition('t', id), tenant: 't', conversationId: id };
      const resumed = await removePastLife(context, where, 3);
      const replay = await store.append('t', id, [user('new')], { idempotencyKey: 'K' });

      expect(resumed).toBe(false);
      expect(texts((await store.load('t', id)).messages)).toEqual(['new']);
      expect(replay).toMatchObject({ replayed: true, version: next.version });
    });

    it('does not resurrect a deleted conversation when its delete is retried', async () => {
      const id = newId();
      await store.append('t', id, [user('a')]);

      await Promise.all([store.deleteConversation('t', id), store.deleteConversation('t', id)]);
      await store.deleteConversation('t', id);

      expect(await store.load('t', id)).toMatchObject({ version: 0, messages: [] });
    });

    it('answers a replay whose messages an edit removed with a typed error, not a wrong result', async () => {
      const id = newId();
      await store.append('t', id, [user('a'), user('b')], { idempotencyKey: 'k' });
      await store.replaceSuffix('t', id, { expectedSuffix: [user('b')], replacement: [] });

      const replay = await store
        .append('t', id, [user('a'), user('b')], { idempotencyKey: 'k' })
        .catch((e) => e);

      expect(replay).toBeInstanceOf(IdempotentResultGoneError);
      expect(texts((await store.load('t', id)).messages)).toEqual(['a']);
    });

    it('rejects a tenant whose encoded key would exceed DynamoDB limits', async () => {
      const long = await store.load('租'.repeat(230), newId()).catch((e) => e);
      const broken = await store.load('\ud800', newId()).catch((e) => e);

      expect(long).toBeInstanceOf(InvalidRequestError);
      expect(broken).toBeInstanceOf(InvalidRequestError);
    });
  });

  describe('replaceSuffix', () => {
    it('replaces the newest messages atomically, with new seqs and a higher version', async () => {
      const id = newId();
      await store.append('t', id, [user('a'), user('b'), user('c')]);

      const edit = await store.replaceSuffix('t', id, {
        expectedSuffix: [user('b'), user('c')],
        replacement: [user('B'), user('C'), user('D')],
      });
      const page = await store.load('t', id);

      expect(edit).toMatchObject({ version: 6, replayed: false });
      expect(texts(edit.removed)).toEqual(['b', 'c']);
      expect(seqs(edit.messages)).toEqual([4, 5, 6]);
      expect(texts(page.messages)).toEqual(['a', 'B', 'C', 'D']);
      expect(seqs(page.messages)).toEqual([1, 4, 5, 6]);
      expect(await store.getConversation('t', id)).toMatchObject({ version: 6, messageCount: 4 });
    });

    it('raises the version by one for a pure removal, so seqs are never reused', async () => {
      const id = newId();
      await store.append('t', id, [user('a'), user('b')]);

      const pop = await store.replaceSuffix('t', id, { expectedSuffix: [user('b')], replacement: [] });
      const next = await store.append('t', id, [user('c')]);

      expect(pop).toMatchObject({ version: 3, messages: [] });
      expect(next.messages[0]?.seq).toBe(4);
      expect(texts((await store.load('t', id)).messages)).toEqual(['a', 'c']);
    });

    it('appends when expectedSuffix is empty, removing nothing', async () => {
      const id = newId();
      await store.append('t', id, [user('a')]);

      const edit = await store.replaceSuffix('t', id, { expectedSuffix: [], replacement: [user('b')] });

      expect(edit).toMatchObject({ version: 2, removed: [], messages: [{ seq: 2, content: 'b' }] });
    });

    it('compares an expected message with its id when one is given', async () => {
      const id = newId();
      const [written] = (await store.append('t', id, [user('a')])).messages;

      const other = await store
        .replaceSuffix('t', id, { expectedSuffix: [{ ...user('a'), id: 'another' }], replacement: [] })
        .catch((e) => e);
      const same = await store.replaceSuffix('t', id, {
        expectedSuffix: [{ ...user('a'), id: written?.id }],
        replacement: [],
      });

      expect(other).toBeInstanceOf(SuffixMismatchError);
      expect(same.removed).toEqual([written]);
    });

    it('fails on a suffix that does not match and changes nothing', async () => {
      const id = newId();
      await store.append('t', id, [user('a'), user('b')]);
      const before = await itemsOf(table, 't', id);

      const wrong = await store
        .replaceSuffix('t', id, { expectedSuffix: [user('a')], replacement: [user('x')] })
        .catch((e) => e);
      const tooLong = await store
        .replaceSuffix('t', id, { expectedSuffix: [user('0'), user('a'), user('b')], replacement: [] })
        .catch((e) => e);

      expect(wrong).toMatchObject({ name: 'SuffixMismatchError', currentVersion: 2 });
      expect(tooLong).toBeInstanceOf(SuffixMismatchError);
      expect(await itemsOf(table, 't', id)).toEqual(before);
    });

    it('applies an edit once per idempotency key and rejects the key for another edit', async () => {
      const id = newId();
      await store.append('t', id, [user('a'), user('b')]);
      const edit = { expectedSuffix: [user('b')], replacement: [user('B')] };

      const first = await store.replaceSuffix('t', id, edit, { idempotencyKey: 'op-1' });
      const again = await store.replaceSuffix('t', id, edit, { idempotencyKey: 'op-1' });
      const other = await store
        .replaceSuffix('t', id, { expectedSuffix: [user('B')], replacement: [] }, { idempotencyKey: 'op-1' })
        .catch((e) => e);

      expect(first.replayed).toBe(false);
      expect(again).toMatchObject({ replayed: true, version: first.version, messages: first.messages });
      expect(other).toBeInstanceOf(IdempotencyKeyReusedError);
      expect(texts((await store.load('t', id)).messages)).toEqual(['a', 'B']);
    });

    it('lets exactly one of two racing edits of the same suffix win', async () => {
      const id = newId();
      await store.append('t', id, [user('a'), user('b')]);

      const results = await Promise.allSettled([
        store.replaceSuffix('t', id, { expectedSuffix: [user('b')], replacement: [user('first')] }),
        store.replaceSuffix('t', id, { expectedSuffix: [user('b')], replacement: [user('second')] }),
      ]);

      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
      expect((await store.load('t', id)).messages).toHaveLength(2);
    });

    it('rejects a stale expectedVersion', async () => {
      const id = newId();
      await store.append('t', id, [user('a')]);

      const stale = await store
        .replaceSuffix('t', id, { expectedSuffix: [user('a')], replacement: [] }, { expectedVersion: 0 })
        .catch((e) => e);

      expect(stale).toMatchObject({ name: 'VersionConflictError', currentVersion: 1 });
    });
  });

  describe('findIdempotentResult', () => {
    it('finds the result of a request by its own fingerprint without writing', async () => {
      const id = newId();
      const turn = { message: 'hello', system: 'terse' };
      const written = await store.append('t', id, [user('hello'), { role: 'assistant', content: 'hi!' }], {
        idempotencyKey: 'turn-1',
        idempotencyFingerprint: turn,
      });

      const found = await store.findIdempotentResult('t', id, 'turn-1', turn);
      const unknown = await store.findIdempotentResult('t', id, 'turn-2', turn);
      const other = await store.findIdempotentResult('t', id, 'turn-1', { message: 'bye' }).catch((e) => e);

      expect(found).toMatchObject({ replayed: true, version: 2, messages: written.messages });
      expect(unknown).toBeUndefined();
      expect(other).toBeInstanceOf(IdempotencyKeyReusedError);
    });
  });

  describe('concurrency', () => {
    it('keeps the log exact under 32 concurrent appenders on one conversation', async () => {
      // Prepare: 32 writers, 4 batches each, every batch of 1-3 messages under its own idempotency key.
      const id = newId();
      const writers = 32;
      const batches = 4;
      const racing = makeStore({ maxAttempts: 20 });
      const sent: string[][] = Array.from({ length: writers }, () => []);

      // Act: each writer appends its batches in order; a batch that finally gives up (503 or 409) is sent again
      // with the same key, as a client would.
      await Promise.all(
        Array.from({ length: writers }, async (_, w) => {
          for (let b = 0; b < batches; b++) {
            const batch = Array.from({ length: 1 + ((w + b) % 3) }, (_, m) => user(`w${w}-b${b}-m${m}`));
            for (;;) {
              try {
                await racing.append('t', id, batch, { idempotencyKey: `w${w}-b${b}` });
                break;
              } catch (error) {
                if (
                  !(error instanceof Error) ||
                  !['UnavailableError', 'VersionConflictError'].includes(error.name)
                ) {
                  throw error;
                }
              }
            }
            sent[w]?.push(...texts(batch).map(String));
          }
        }),
      );

      // Assess: exactly what was written, seq contiguous from 1, each writer's order kept, batches unbroken.
      const page = await racing.load('t', id, { limit: 1000 });
      const expectedCount = sent.flat().length;
      expect(page.version).toBe(expectedCount);
      expect(seqs(page.messages)).toEqual(Array.from({ length: expectedCount }, (_, i) => i + 1));
      expect([...texts(page.messages)].sort()).toEqual(sent.flat().sort());
      for (let w = 0; w < writers; w++) {
        const own = texts(page.messages).filter((text) => String(text).startsWith(`w${w}-`));
        expect(own).toEqual(sent[w]);
      }
      const batchOf = (text: unknown) => String(text).replace(/-m\d+$/, '');
      const runs = texts(page.messages).filter(
        (text, i, all) => i === 0 || batchOf(text) !== batchOf(all[i - 1]),
      );
      expect(runs).toHaveLength(writers * batches);
    });
  });
});
