import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type HttpAnswer, type ServerProcess, startServer, stopAllServers } from './server-process.js';

const editsOf = (conversationId: string) => `/v1/conversations/${conversationId}/edits`;
const messagesOf = (conversationId: string) => `/v1/conversations/${conversationId}/messages`;

const user = (content: string) => ({ role: 'user', content });
const assistant = (content: string) => ({ role: 'assistant', content });

describe('local server: history edits', () => {
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServer({
      dynamoDbEndpoint: inject('dynamoDbEndpoint'),
      tableName: `e2e-edits-${randomUUID()}`,
      env: { MODEL_PROVIDER: 'offline', MODEL_ID: undefined, CONTEXT_MAX_MESSAGES: undefined },
    });
  });
  afterAll(stopAllServers);

  /** A fresh conversation holding `messages`, appended in one request. */
  async function conversationWith(...messages: unknown[]): Promise<string> {
    const conversation = `edit-${randomUUID()}`;
    const appended = await server.request('POST', messagesOf(conversation), { body: { messages } });
    expect(appended.status, server.output()).toBe(201);
    return conversation;
  }

  const edit = (conversation: string, body: unknown, headers: Record<string, string> = {}) =>
    server.request('POST', editsOf(conversation), { body, headers });

  const history = async (conversation: string): Promise<HttpAnswer> =>
    server.request('GET', `${messagesOf(conversation)}?limit=1000`);

  const contents = (page: HttpAnswer) =>
    page.json.messages.map((message: { content: string }) => message.content);

  it('replaces the newest messages: the replacement gets new seqs after the version', async () => {
    // Prepare
    const conversation = await conversationWith(user('hi'), assistant('wrong answer'), user('really?'));

    // Act
    const edited = await edit(conversation, {
      expectedSuffix: [assistant('wrong answer'), user('really?')],
      replacement: [assistant('right answer')],
    });

    // Assess
    expect(edited.status).toBe(200);
    expect(edited.headers.get('idempotent-replayed')).toBeNull();
    expect(edited.json).toMatchObject({
      conversationId: conversation,
      version: 4,
      removed: [
        { ...assistant('wrong answer'), seq: 2 },
        { ...user('really?'), seq: 3 },
      ],
      messages: [{ ...assistant('right answer'), seq: 4 }],
    });
    const page = await history(conversation);
    expect(page.json.version).toBe(4);
    expect(page.json.messages.map((message: { seq: number }) => message.seq)).toEqual([1, 4]);
    expect(contents(page)).toEqual(['hi', 'right answer']);
    expect(page.json.messages[1]).toEqual(edited.json.messages[0]);
  });

  it('removes the last message (pop), raising the version by one; the next append continues after it', async () => {
    // Prepare
    const conversation = await conversationWith(user('one'), assistant('two'));

    // Act
    const popped = await edit(conversation, { expectedSuffix: [assistant('two')], replacement: [] });
    const appended = await server.request('POST', messagesOf(conversation), {
      body: { messages: [user('three')] },
    });

    // Assess
    expect(popped.status).toBe(200);
    expect(popped.json).toMatchObject({ version: 3, messages: [], removed: [{ seq: 2 }] });
    expect(appended.json.messages[0].seq).toBe(4);
    const page = await history(conversation);
    expect(page.json.messages.map((message: { seq: number }) => message.seq)).toEqual([1, 4]);
    expect((await server.request('GET', `/v1/conversations/${conversation}`)).json).toMatchObject({
      version: 4,
      messageCount: 2,
    });
  });

  it('answers 409 suffix_mismatch with currentVersion when the conversation ends otherwise, changing nothing', async () => {
    // Prepare
    const conversation = await conversationWith(user('hi'), assistant('hello'));
    const before = await history(conversation);

    // Act
    const mismatch = await edit(conversation, {
      expectedSuffix: [assistant('something else')],
      replacement: [assistant('replacement')],
    });

    // Assess
    expect(mismatch.status).toBe(409);
    expect(mismatch.json.error).toMatchObject({ code: 'suffix_mismatch', currentVersion: 2 });
    expect((await history(conversation)).json).toEqual(before.json);
  });

  it('answers 409 version_conflict for a stale expectedVersion, changing nothing', async () => {
    // Prepare
    const conversation = await conversationWith(user('hi'), assistant('hello'));
    const before = await history(conversation);

    // Act
    const stale = await edit(conversation, {
      expectedSuffix: [assistant('hello')],
      replacement: [],
      expectedVersion: 1,
    });

    // Assess
    expect(stale.status).toBe(409);
    expect(stale.json.error).toMatchObject({ code: 'version_conflict', currentVersion: 2 });
    expect((await history(conversation)).json).toEqual(before.json);
  });

  it('replays an edit with the same Idempotency-Key (nothing changes again), and refuses the key for another body', async () => {
    // Prepare
    const conversation = await conversationWith(user('hi'), assistant('draft'));
    const body = { expectedSuffix: [assistant('draft')], replacement: [assistant('final')] };
    const headers = { 'Idempotency-Key': 'edit-1' };
    const first = await edit(conversation, body, headers);
    const after = await history(conversation);

    // Act
    const replay = await edit(conversation, body, headers);
    const reused = await edit(
      conversation,
      { expectedSuffix: [assistant('final')], replacement: [] },
      headers,
    );
    const byAppend = await server.request('POST', messagesOf(conversation), {
      body: { messages: [user('same key')] },
      headers,
    });

    // Assess
    expect(first.status).toBe(200);
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.json).toEqual({ ...first.json, removed: [] });
    expect(reused.status).toBe(422);
    expect(reused.json.error.code).toBe('idempotency_key_reused');
    expect(byAppend.status).toBe(422);
    expect((await history(conversation)).json).toEqual(after.json);
  });

  it('gives the next agent turn the edited history', async () => {
    // Prepare
    const conversation = await conversationWith(user('a'), assistant('b'), user('c'), assistant('d'));
    await edit(conversation, { expectedSuffix: [user('c'), assistant('d')], replacement: [] });

    // Act
    const turn = await server.request('POST', `/v1/conversations/${conversation}/turns`, {
      body: { message: 'next' },
    });

    // Assess
    expect(turn.status).toBe(201);
    expect(turn.json).toMatchObject({ contextMessages: 2, version: 7 });
    expect(turn.json.reply.content).toBe('[offline] history: 2 messages, you said: next');
  });

  it('answers 400 for an edit of no messages, and 405 for another method on the path', async () => {
    // Prepare
    const conversation = await conversationWith(user('hi'));

    // Act
    const empty = await edit(conversation, { expectedSuffix: [], replacement: [] });
    const get = await server.request('GET', editsOf(conversation));

    // Assess
    expect(empty.status).toBe(400);
    expect(empty.json.error.code).toBe('invalid_request');
    expect(get.status).toBe(405);
    expect(get.json.error.code).toBe('method_not_allowed');
  });
});
