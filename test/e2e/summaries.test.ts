import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  type HttpAnswer,
  noModelEnvironment,
  type ServerProcess,
  startServer,
  stopAllServers,
} from './server-process.js';

const fact = 'My name is Ada Lovelace and my cat is called Euclid.';

/** Message `n` (1-based) of the conversation: the user's third message states the fact, the first asks. */
function message(n: number) {
  if (n % 2 === 0) return { role: 'assistant', content: `Reply ${n}: noted.` };
  if (n === 1) return { role: 'user', content: 'Hello! Can you help me plan a trip?' };
  return { role: 'user', content: n === 3 ? fact : `Note ${n}: the weather was fine today.` };
}

async function pollSummary(server: ServerProcess, id: string, throughSeq: number): Promise<HttpAnswer> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const answer = await server.request('GET', `/v1/conversations/${id}/summaries`);
    if (answer.json?.summaries?.[0]?.throughSeq === throughSeq || Date.now() > deadline) return answer;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('local server: summaries of long conversations', () => {
  let server: ServerProcess;
  const tableName = `e2e-summaries-${randomUUID()}`;
  const start = () =>
    startServer({
      dynamoDbEndpoint: inject('dynamoDbEndpoint'),
      tableName,
      env: { ...noModelEnvironment, MODEL_PROVIDER: 'offline' },
    });

  beforeAll(async () => {
    server = await start();
  });
  afterAll(stopAllServers);

  it('gives a turn at message 300 the summary that keeps message 3, reports what it covers, and changes no message', async () => {
    // Prepare: 299 messages, appended 10 at a time (each append crosses a multiple of 10: the compactor's wake).
    // The last wake is at 290; the last 9 messages are appended once its compaction is done (a compaction that
    // started after them would fold them in too: the summary would reach 289 instead of 280).
    const id = `long-${randomUUID()}`;
    const append = async (first: number, count: number) => {
      const batch = Array.from({ length: count }, (_, i) => message(first + i));
      const answer = await server.request('POST', `/v1/conversations/${id}/messages`, {
        body: { messages: batch },
      });
      expect(answer.status).toBe(201);
    };
    for (let first = 1; first <= 290; first += 10) await append(first, 10);
    // It covers all but the newest half window (10) of that moment.
    const summaries = await pollSummary(server, id, 280);
    await append(291, 9);
    const before = (await server.request('GET', `/v1/conversations/${id}/messages?limit=1000`)).json.messages;

    // Act
    const turn = await server.request('POST', `/v1/conversations/${id}/turns`, {
      body: { message: 'What is my name, and what is my cat called?' },
    });

    // Assess: the background compaction made the summary, with the fact, through 280...
    expect(summaries.status).toBe(200);
    expect(summaries.json.summaries).toEqual([
      expect.objectContaining({ fromSeq: 1, throughSeq: 280, messageCount: 280, model: 'offline' }),
    ]);
    expect(summaries.json.summaries[0].text).toContain(`- [3] ${fact}`);
    expect(server.output()).toMatch(
      /summary of long-\S+ \(tenant local\): messages 1-280 \(280\) by offline/,
    );
    // ...the turn was given it and the 19 messages after it, and says so...
    expect(turn.status).toBe(201);
    expect(turn.json.context).toEqual({
      messages: 19,
      summary: { fromSeq: 1, throughSeq: 280, messageCount: 280 },
      omitted: 0,
    });
    expect(turn.json.messages.map((stored: { seq: number }) => stored.seq)).toEqual([300, 301]);
    expect(turn.json.reply.content).toContain('summary of messages 1-280');
    expect(turn.json.reply.content).toContain(fact);
    // ...and every stored message is still there, unchanged.
    const after = (await server.request('GET', `/v1/conversations/${id}/messages?limit=1000`)).json.messages;
    expect(after.slice(0, 299)).toEqual(before);
    expect(after).toHaveLength(301);
  });

  it('keeps the summary across a restart and answers "summary + recent" in one read', async () => {
    // Prepare
    const id = `restart-${randomUUID()}`;
    for (let first = 1; first <= 40; first += 10) {
      const batch = Array.from({ length: 10 }, (_, i) => message(first + i));
      await server.request('POST', `/v1/conversations/${id}/messages`, { body: { messages: batch } });
    }
    await pollSummary(server, id, 30);
    server.signalGroup('SIGTERM');
    await server.exited;
    server = await start();

    // Act
    const answer = await server.request('GET', `/v1/conversations/${id}/summaries?recent=5`);

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({
      conversationId: id,
      version: 40,
      summaries: [{ fromSeq: 1, throughSeq: 30, messageCount: 30 }],
    });
    expect(answer.json.messages.map((stored: { seq: number }) => stored.seq)).toEqual([36, 37, 38, 39, 40]);
  });

  it('keeps no summaries with SUMMARIES=off', async () => {
    // Prepare
    const off = await startServer({
      dynamoDbEndpoint: inject('dynamoDbEndpoint'),
      tableName: `e2e-summaries-off-${randomUUID()}`,
      env: { ...noModelEnvironment, SUMMARIES: 'off' },
    });
    const id = `off-${randomUUID()}`;
    for (let first = 1; first <= 40; first += 10) {
      const batch = Array.from({ length: 10 }, (_, i) => message(first + i));
      await off.request('POST', `/v1/conversations/${id}/messages`, { body: { messages: batch } });
    }

    // Act
    const turn = await off.request('POST', `/v1/conversations/${id}/turns`, {
      body: { message: 'Hi again.' },
    });

    // Assess
    expect(off.output()).toContain('summaries: off');
    expect(turn.json.context).toEqual({ messages: 20, summary: null, omitted: 20 });
  });
});
