import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type HttpAnswer, type ServerProcess, startServer, stopAllServers } from './server-process.js';

/** Appends with a fresh Idempotency-Key, retrying what the contract allows under contention (409, 503). */
async function appendUntilStored(server: ServerProcess, path: string, content: string): Promise<HttpAnswer> {
  const key = randomUUID();
  for (let attempt = 1; ; attempt++) {
    const answer = await server.request('POST', path, {
      body: { messages: [{ role: 'user', content }] },
      headers: { 'Idempotency-Key': key },
    });
    if ((answer.status !== 409 && answer.status !== 503) || attempt === 20) return answer;
    await new Promise((resolve) => setTimeout(resolve, 20 * attempt));
  }
}

describe('local server: replicas sharing one DynamoDB', () => {
  let one: ServerProcess;
  let two: ServerProcess;

  beforeAll(async () => {
    // Both start at once on a table that does not exist yet: one creates it, the other waits for it.
    const shared = {
      dynamoDbEndpoint: inject('dynamoDbEndpoint'),
      tableName: `e2e-replicas-${randomUUID()}`,
    };
    [one, two] = await Promise.all([startServer(shared), startServer(shared)]);
  });
  afterAll(stopAllServers);

  it('serves through one replica what was written through the other, at once', async () => {
    // Prepare
    const path = '/v1/conversations/handover/messages';

    // Act
    const written = await one.request('POST', path, {
      body: { messages: [{ role: 'user', content: 'Written through replica one.' }] },
    });
    const read = await two.request('GET', path);
    const info = await two.request('GET', '/v1/conversations/handover');

    // Assess
    expect(written.status).toBe(201);
    expect(read.status).toBe(200);
    expect(read.json).toEqual({
      conversationId: 'handover',
      version: 1,
      messages: written.json.messages,
      nextBefore: null,
    });
    expect(info.json).toMatchObject({ conversationId: 'handover', version: 1, messageCount: 1 });
  });

  it('replays through one replica an idempotency key first used through the other', async () => {
    // Prepare
    const path = '/v1/conversations/retry-elsewhere/messages';
    const request = {
      body: { messages: [{ role: 'user', content: 'Sent twice, stored once.' }] },
      headers: { 'Idempotency-Key': 'retry-1' },
    };
    const first = await one.request('POST', path, request);

    // Act
    const retried = await two.request('POST', path, request);

    // Assess
    expect(first.status).toBe(201);
    expect(retried.status).toBe(200);
    expect(retried.headers.get('idempotent-replayed')).toBe('true');
    expect(retried.json).toEqual(first.json);
    expect((await one.request('GET', path)).json.version).toBe(1);
  });

  it('keeps seq contiguous and loses nothing when both replicas append concurrently', async () => {
    // Prepare
    const path = '/v1/conversations/contended/messages';
    const contents = Array.from({ length: 24 }, (_, index) => `${index % 2 === 0 ? 'one' : 'two'}-${index}`);

    // Act
    const answers = await Promise.all(
      contents.map((content, index) => appendUntilStored(index % 2 === 0 ? one : two, path, content)),
    );

    // Assess
    expect(answers.map((answer) => answer.status)).toEqual(contents.map(() => 201));
    const history = await one.request('GET', `${path}?limit=1000`);
    expect(history.json.version).toBe(contents.length);
    expect(history.json.messages.map((message: { seq: number }) => message.seq)).toEqual(
      contents.map((_, index) => index + 1),
    );
    expect(history.json.messages.map((message: { content: string }) => message.content).sort()).toEqual(
      [...contents].sort(),
    );
    // Each writer was told the seq its message really has.
    for (const answer of answers) {
      const [stored] = answer.json.messages;
      expect(history.json.messages[stored.seq - 1]).toEqual(stored);
    }
    expect((await two.request('GET', `${path}?limit=1000`)).json).toEqual(history.json);
  });

  it('lets exactly one of two replicas win an expectedVersion race; the other gets 409 version_conflict', async () => {
    // Prepare
    const path = '/v1/conversations/raced/messages';
    await one.request('POST', path, { body: { messages: [{ role: 'user', content: 'base' }] } });

    // Act
    const answers = await Promise.all(
      [one, two].map((server, index) =>
        server.request('POST', path, {
          body: { messages: [{ role: 'assistant', content: `reply ${index}` }], expectedVersion: 1 },
        }),
      ),
    );

    // Assess
    expect(answers.map((answer) => answer.status).sort()).toEqual([201, 409]);
    const conflict = answers.find((answer) => answer.status === 409);
    expect(conflict?.json.error).toMatchObject({ code: 'version_conflict', currentVersion: 2 });
    expect((await two.request('GET', path)).json.version).toBe(2);
  });
});
