import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConversationMemory } from '../../client/conversation-memory.js';
import {
  IdempotencyKeyReusedError,
  IdempotencyResultGoneError,
  InvalidRequestError,
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
});
