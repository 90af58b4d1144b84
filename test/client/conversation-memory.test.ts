import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConversationMemory } from '../../client/conversation-memory.js';
import {
  IdempotencyKeyReusedError,
  IdempotencyResultGoneError,
  InvalidRequestError,
  NotFoundError,
  RevisionConflictError,
  SuffixMismatchError,
  VersionConflictError,
} from '../../client/errors.js';
import { memoryBackends } from './memory-backends.js';

const say = (content: string) => ({ role: 'user' as const, content });

/** The ConversationMemory contract, the same on both implementations (the adapters rely on nothing else). */
describe.each(memoryBackends)('ConversationMemory on $name', (backend) => {
  let memory: ConversationMemory;
  const newId = () => `memory-${randomUUID()}`;

  beforeAll(async () => {
    ({ memory } = await backend.start());
  });
  afterAll(() => backend.stop());

  it('appends, replays a repeated idempotency key and refuses it for another request', async () => {
    // Prepare
    const id = newId();

    // Act
    const first = await memory.append(id, [say('one')], { idempotencyKey: 'k1' });
    const replay = await memory.append(id, [say('one')], { idempotencyKey: 'k1' });
    const reused = await memory
      .append(id, [say('two')], { idempotencyKey: 'k1' })
      .catch((caught: unknown) => caught);

    // Assess
    expect(first).toMatchObject({ conversationId: id, version: 1, replayed: false });
    expect(replay).toEqual({ ...first, replayed: true });
    expect(reused).toBeInstanceOf(IdempotencyKeyReusedError);
    expect(reused).toMatchObject({ status: 422, code: 'idempotency_key_reused' });
  });

  it('reports a key whose result a later edit removed as IdempotencyResultGoneError (410), writing nothing', async () => {
    // Prepare: the key's append, then an edit that removes what it wrote.
    const id = newId();
    await memory.append(id, [say('draft')], { idempotencyKey: 'gone' });
    await memory.replaceSuffix(id, { expectedSuffix: [say('draft')], replacement: [] });

    // Act
    const error = await memory
      .append(id, [say('draft')], { idempotencyKey: 'gone' })
      .catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(IdempotencyResultGoneError);
    expect(error).toMatchObject({ status: 410, code: 'idempotency_result_gone' });
    expect((await memory.loadAll(id)).messages).toEqual([]);
  });

  it('refuses a stale expectedVersion with the current version', async () => {
    // Prepare
    const id = newId();
    await memory.append(id, [say('one'), say('two')]);

    // Act
    const error = await memory
      .append(id, [say('three')], { expectedVersion: 1 })
      .catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(VersionConflictError);
    expect(error).toMatchObject({ status: 409, currentVersion: 2 });
  });

  it('loads the newest messages and everything, as one version', async () => {
    // Prepare
    const id = newId();
    await memory.append(id, [say('1'), say('2'), say('3')]);
    await memory.append(id, [say('4'), say('5')]);

    // Act
    const recent = await memory.loadRecent(id, 2);
    const all = await memory.loadAll(id);
    const page = await memory.load(id, { limit: 2, after: 1 });
    const unknown = await memory.loadAll(newId());

    // Assess
    expect(recent.messages.map((message) => message.content)).toEqual(['4', '5']);
    expect(all).toMatchObject({ conversationId: id, version: 5 });
    expect(all.messages.map((message) => message.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(page).toMatchObject({ version: 5, nextAfter: 3 });
    expect(page.messages.map((message) => message.seq)).toEqual([2, 3]);
    expect(unknown).toEqual({ conversationId: unknown.conversationId, version: 0, messages: [] });
  });

  it('replaces a matching suffix with new seqs and refuses a mismatched one, changing nothing', async () => {
    // Prepare
    const id = newId();
    await memory.append(id, [say('keep'), say('draft')]);

    // Act
    const mismatch = await memory
      .replaceSuffix(id, { expectedSuffix: [say('other')], replacement: [say('final')] })
      .catch((caught: unknown) => caught);
    const edit = await memory.replaceSuffix(id, {
      expectedSuffix: [say('draft')],
      replacement: [say('final')],
    });
    const all = await memory.loadAll(id);

    // Assess
    expect(mismatch).toBeInstanceOf(SuffixMismatchError);
    expect(mismatch).toMatchObject({ status: 409, code: 'suffix_mismatch', currentVersion: 2 });
    expect(edit).toMatchObject({ version: 3, replayed: false, removed: [{ seq: 2, content: 'draft' }] });
    expect(all.messages.map(({ seq, content }) => [seq, content])).toEqual([
      [1, 'keep'],
      [3, 'final'],
    ]);
  });

  it('gets, deletes and forgets a conversation', async () => {
    // Prepare
    const id = newId();
    await memory.append(id, [say('one')]);

    // Act
    const info = await memory.getConversation(id);
    await memory.deleteConversation(id);
    await memory.deleteConversation(id);

    // Assess
    expect(info).toMatchObject({ conversationId: id, version: 1, messageCount: 1 });
    expect(await memory.getConversation(id)).toBeUndefined();
    expect((await memory.loadAll(id)).version).toBe(0);
  });

  it('rejects an invalid conversation id as InvalidRequestError', async () => {
    // Act
    const error = await memory.append('bad id with spaces', [say('x')]).catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error).toMatchObject({ status: 400, code: 'invalid_request' });
  });
  it('titles a conversation on its first append, patches title and metadata, and lists it with them', async () => {
    // Prepare: a scope of its own, so the listing holds only this test's conversations
    const scope = `scope${randomUUID().slice(0, 8)}:`;
    const ids = [`${scope}a`, `${scope}b`, `${scope}c`];
    for (const id of ids) await memory.append(id, [say(id)], { title: `Title of ${id}` });

    // Act
    const patched = await memory.patch(ids[0] as string, { metadata: { pinned: true, tags: ['x'] } });
    const merged = await memory.patch(
      ids[0] as string,
      { title: 'Renamed', metadata: { tags: null } },
      {
        expectedRevision: 1,
      },
    );
    const listed = [];
    for await (const conversation of memory.list({ prefix: scope, limit: 2 })) listed.push(conversation);

    // Assess
    expect(patched).toMatchObject({ title: `Title of ${ids[0]}`, metadata: { pinned: true, tags: ['x'] } });
    expect(merged).toMatchObject({
      title: 'Renamed',
      metadata: { pinned: true },
      revision: 2,
      replayed: false,
    });
    expect(listed.map((c) => c.conversationId).sort()).toEqual(ids);
    expect(listed.find((c) => c.conversationId === ids[0])).toEqual(
      expect.objectContaining({ title: 'Renamed', metadata: { pinned: true }, revision: 2, version: 1 }),
    );
    // The documented order: the minute of the last write, newest first, then the id, descending.
    const order = (c: { updatedAt: string; conversationId: string }) =>
      `${String(Math.floor(Date.parse(c.updatedAt) / 60_000)).padStart(10, '0')}#${c.conversationId}`;
    expect(listed.map(order)).toEqual(listed.map(order).sort().reverse());
    const page = await memory.listPage({ prefix: scope, limit: 2 });
    expect(page.conversations).toHaveLength(2);
    expect(page.nextCursor).toEqual(expect.any(String));
  });

  it('refuses a stale expectedRevision with RevisionConflictError and an unknown conversation with NotFoundError', async () => {
    // Prepare
    const id = newId();
    await memory.append(id, [say('hi')]);
    await memory.patch(id, { title: 'First' });

    // Act
    const stale = await memory
      .patch(id, { title: 'Second' }, { expectedRevision: 0 })
      .catch((e: unknown) => e);
    const unknown = await memory.patch(newId(), { title: 'x' }).catch((e: unknown) => e);
    const badPrefix = await memory.listPage({ prefix: 'no-colon' }).catch((e: unknown) => e);

    // Assess
    expect(stale).toBeInstanceOf(RevisionConflictError);
    expect(stale).toMatchObject({ status: 409, code: 'revision_conflict', currentRevision: 1 });
    expect(unknown).toBeInstanceOf(NotFoundError);
    expect(badPrefix).toBeInstanceOf(InvalidRequestError);
    expect(await memory.getConversation(id)).toMatchObject({ title: 'First', revision: 1 });
  });
});
