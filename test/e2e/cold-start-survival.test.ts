import { afterAll, describe, expect, it } from 'vitest';
import {
  type HttpAnswer,
  processAlive,
  startServer,
  stopAllServers,
  temporaryDataDir,
  waitUntil,
} from './server-process.js';

const path = '/v1/conversations/survivor/messages';

/** One append per server generation, each with its own key; generation 1 sends two messages. */
const appends = [
  {
    key: 'append-generation-1',
    messages: [
      { role: 'system', content: 'You remember everything.' },
      { role: 'user', content: [{ type: 'text', text: 'My name is Ada.' }], metadata: { turn: 1 } },
    ],
  },
  { key: 'append-generation-2', messages: [{ role: 'assistant', content: 'Noted, Ada.' }] },
  { key: 'append-generation-3', messages: [{ role: 'user', content: 'What is my name?' }] },
];

describe('local server: cold-start survival', () => {
  afterAll(stopAllServers);

  it('keeps every acknowledged append across SIGKILLs sent right after the answer, and honours earlier idempotency keys', async () => {
    // Prepare: one data directory that every server generation opens in turn.
    const dataDir = temporaryDataDir();
    const acknowledged: HttpAnswer[] = [];

    for (const [generation, append] of appends.entries()) {
      const server = await startServer({ dataDir });

      // Assess (what the previous generation acknowledged): the whole history, in order.
      const history = await server.request('GET', `${path}?limit=1000`);
      expect(history.status).toBe(200);
      expect(history.json.messages).toEqual(acknowledged.flatMap((answer) => answer.json.messages));
      expect(history.json.version).toBe(history.json.messages.length);
      // ...and every earlier key replays its original answer, appending nothing.
      for (const [earlier, answer] of acknowledged.entries()) {
        const replay = await server.request('POST', path, {
          body: { messages: appends[earlier]?.messages },
          headers: { 'Idempotency-Key': appends[earlier]?.key ?? '' },
        });
        expect(replay.status).toBe(200);
        expect(replay.headers.get('idempotent-replayed')).toBe('true');
        expect(replay.json).toEqual(answer.json);
      }
      expect((await server.request('GET', path)).json.version).toBe(history.json.version);

      // Act: append, then SIGKILL the whole process group the moment the answer is in.
      const answer = await server.request('POST', path, {
        body: { messages: append.messages },
        headers: { 'Idempotency-Key': append.key },
      });
      server.signalGroup('SIGKILL');
      expect(answer.status, server.output()).toBe(201);
      acknowledged.push(answer);
      await server.exited;
      const javaPid = server.dynamoDbLocalPid;
      expect(javaPid, `generation ${generation + 1}`).toBeDefined();
      expect(await waitUntil(() => !processAlive(javaPid ?? 0), 2000)).toBe(true);
    }

    // Assess: a last fresh process serves all of it.
    const last = await startServer({ dataDir });
    const history = await last.request('GET', `${path}?limit=1000`);
    expect(history.json.messages).toEqual(acknowledged.flatMap((answer) => answer.json.messages));
    expect(history.json.messages.map((message: { seq: number }) => message.seq)).toEqual([1, 2, 3, 4]);
    const replay = await last.request('POST', path, {
      body: { messages: appends[0]?.messages },
      headers: { 'Idempotency-Key': appends[0]?.key ?? '' },
    });
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.json).toEqual(acknowledged[0]?.json);
  });
});
