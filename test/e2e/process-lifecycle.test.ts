import { createServer } from 'node:net';
import { afterAll, describe, expect, inject, it } from 'vitest';
import {
  processAlive,
  processGroupMembers,
  spawnServer,
  startServer,
  stopAllServers,
  temporaryDataDir,
  waitUntil,
} from './server-process.js';

/** The bound of "exits within a few seconds". */
const stopWithinMs = 5000;

describe('local server: process lifecycle', () => {
  afterAll(stopAllServers);

  it.each(['SIGTERM', 'SIGINT'] as const)(
    'exits cleanly within a few seconds of %s to its process group, leaving no DynamoDB Local behind',
    async (signal) => {
      // Prepare
      const server = await startServer();
      const javaPid = server.dynamoDbLocalPid;
      expect(javaPid).toBeDefined();
      expect(processAlive(javaPid ?? 0)).toBe(true);
      const written = await server.request('POST', '/v1/conversations/before-stop/messages', {
        body: { messages: [{ role: 'user', content: 'still here after the stop' }] },
      });
      expect(written.status).toBe(201);

      // Act: the terminal signals the group; under `npm start`, npm forwards the same signal a moment later.
      const signalledAt = Date.now();
      server.signalGroup(signal);
      await new Promise((resolve) => setTimeout(resolve, 100));
      process.kill(server.pid, signal);
      const exit = await server.exited;
      const stoppedAfterMs = Date.now() - signalledAt;

      // Assess
      expect(exit).toEqual({ code: 0, signal: null });
      expect(stoppedAfterMs).toBeLessThan(stopWithinMs);
      expect(await waitUntil(() => !processAlive(javaPid ?? 0), 1000)).toBe(true);
      expect(processGroupMembers(server.pid)).toEqual([]);
      expect(server.output()).toContain('Stopped.');
      // A clean stop loses nothing either.
      const restarted = await startServer({ dataDir: server.dataDir });
      expect((await restarted.request('GET', '/v1/conversations/before-stop/messages')).json.version).toBe(1);
    },
  );

  it('takes DynamoDB Local with it when only the server process is SIGKILLed (Linux: parent-death signal)', async () => {
    // Prepare
    const server = await startServer();
    const javaPid = server.dynamoDbLocalPid ?? 0;

    // Act
    process.kill(server.pid, 'SIGKILL');
    await server.exited;

    // Assess
    expect(await waitUntil(() => !processAlive(javaPid), stopWithinMs)).toBe(true);
  });

  it('says that Java is missing and how to install it, and exits 1', async () => {
    // Prepare: a PATH without java (node itself is started by its absolute path).
    const server = await spawnServer({ env: { PATH: temporaryDataDir() } });

    // Act
    const exit = await server.exited;

    // Assess
    expect(exit.code).toBe(1);
    expect(server.output()).toMatch(/needs Java 17 or newer, and `java` is not on the PATH/);
    expect(server.output()).toMatch(/apt-get install -y openjdk-17-jre-headless/);
    expect(processGroupMembers(server.pid)).toEqual([]);
  });

  it('says that the port is taken, and exits 1', async () => {
    // Prepare
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const { port } = squatter.address() as { port: number };

    // Act
    const server = await spawnServer({
      port,
      dynamoDbEndpoint: inject('dynamoDbEndpoint'),
      tableName: 'e2e-port-taken',
    });
    const exit = await server.exited;
    squatter.close();

    // Assess
    expect(exit.code).toBe(1);
    expect(server.output()).toContain(`Port ${port} is in use`);
    // ...and how to run a second server: its own port, and its own data or the first one's DynamoDB.
    expect(server.output()).toContain('PORT=3001 DATA_DIR=.data-2 npm start');
    expect(server.output()).toContain('PORT=3001 DYNAMODB_ENDPOINT=');
  });
});
