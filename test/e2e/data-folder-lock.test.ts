import { afterAll, describe, expect, it } from 'vitest';
import { spawnServer, startServer, stopAllServers, temporaryDataDir } from './server-process.js';

const path = '/v1/conversations/shared/messages';

// A server SIGKILLed on a data folder leaves a stale lock that the next one takes over: cold-start-survival
// restarts on one folder after SIGKILLs.
describe('local server: one server per data folder', () => {
  afterAll(stopAllServers);

  it('refuses a second server on a folder in use, which then runs as the message says, on the same data', async () => {
    // Prepare
    const dataDir = temporaryDataDir();
    const first = await startServer({ dataDir });
    const appended = await first.request('POST', path, {
      body: { messages: [{ role: 'user', content: 'Written through the first server.' }] },
    });
    expect(appended.status).toBe(201);

    // Act
    const second = await spawnServer({ dataDir });
    const exit = await second.exited;

    // Assess: refused before starting a DynamoDB Local of its own, saying how to run it instead.
    expect(exit.code).toBe(1);
    const message = second.output();
    expect(message).toContain(
      `The data folder ${dataDir} is in use by a local server (pid ${first.pid}, ${first.url})`,
    );
    expect(message).toContain('PORT=3001 DATA_DIR=.data-2 npm start');
    expect(message).not.toContain('DynamoDB Local (pid');
    const [, endpoint, s3Endpoint] =
      /DYNAMODB_ENDPOINT=(\S+) S3_ENDPOINT=(\S+) PORT=3001 npm start/.exec(message) ?? [];
    expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    // The first server's s3rver too: attachments are shared like the table.
    expect(s3Endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    // The first server is untouched.
    expect((await first.request('GET', path)).json.version).toBe(1);

    // Act: as the message says, on the first one's DynamoDB Local and s3rver.
    const third = await startServer({ dynamoDbEndpoint: endpoint, env: { S3_ENDPOINT: s3Endpoint } });

    // Assess: the same data, and writes through either are seen by both.
    expect((await third.request('GET', path)).json.messages).toEqual(appended.json.messages);
    const more = await third.request('POST', path, {
      body: { messages: [{ role: 'assistant', content: 'Written through the third.' }], expectedVersion: 1 },
    });
    expect(more.status).toBe(201);
    expect((await first.request('GET', path)).json.version).toBe(2);
  });
});
