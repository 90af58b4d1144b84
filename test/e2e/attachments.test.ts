import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { AgentMemoryClient, tenantHeaderAuth } from '../../client/index.js';
import { conversationFolder } from '../../lambda/memory/attachments/attachment-keys.js';
import { DynamoDbProxy } from '../faults/dynamodb-proxy.js';
import { listKeys, testS3Client } from '../support/s3.js';
import { startServer, stopAllServers, waitUntil } from './server-process.js';

/*
 * The issue's acceptance on `npm start`'s server process (embedded DynamoDB Local and s3rver, data in a folder):
 * large parts round-trip byte for byte across a restart and leave with their conversation; a 20 MB upload
 * round-trips; a server killed between its uploads and its commit leaves nothing once the sweep has run.
 */

const tenant = 'local';

function pngBytes(size: number): Buffer {
  return Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), randomBytes(size - 8)]);
}

/** The embedded s3rver's endpoint, from the start-up banner. */
function s3EndpointOf(output: string): string {
  const endpoint = /s3rver at (http:\/\/[\d.:]+)/.exec(output)?.[1];
  if (endpoint === undefined) throw new Error(`No s3rver in the banner:\n${output}`);
  return endpoint;
}

async function poll<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('local server: large content in S3', () => {
  afterAll(stopAllServers);

  it('round-trips a 3 MB PNG part and a 1 MB tool result across a restart, and deletes their objects with the conversation', async () => {
    // Prepare
    const server = await startServer();
    const id = `big-${randomUUID()}`;
    const png = pngBytes(3 * 1024 * 1024);
    const image = {
      type: 'image_url',
      image_url: { url: `data:image/png;base64,${png.toString('base64')}` },
    };
    const sent = [
      { role: 'user' as const, content: [{ type: 'text', text: 'What is in this screenshot?' }, image] },
      {
        role: 'tool' as const,
        toolCallId: 'call_1',
        name: 'fetch_logs',
        content: `${'log line "quoted"\n'.repeat(52_429)}`,
      },
    ];
    const client = (url: string) => new AgentMemoryClient({ baseUrl: url, auth: tenantHeaderAuth(tenant) });

    // Act
    const appended = await server.request('POST', `/v1/conversations/${id}/messages`, {
      body: { messages: sent },
    });
    const page = await server.request('GET', `/v1/conversations/${id}/messages`);
    const reference = page.json.messages[0].content[1].attachment;
    const fetched = Buffer.from(await (await fetch(reference.url)).arrayBuffer());
    const before = await client(server.url).loadAll(id);
    server.signalGroup('SIGTERM');
    await server.exited;
    const restarted = await startServer({ dataDir: server.dataDir });
    const after = await client(restarted.url).loadAll(id);
    const s3 = testS3Client(s3EndpointOf(restarted.output()));
    const folder = conversationFolder(tenant, id);
    const objectsBefore = await listKeys(s3, 'agent-memory', `${folder}/`);
    const deleted = await restarted.request('DELETE', `/v1/conversations/${id}`);
    const objectsAfter = await listKeys(s3, 'agent-memory', `${folder}/`);

    // Assess
    expect(Buffer.byteLength(JSON.stringify(sent[1]))).toBeGreaterThan(1_000_000);
    expect(appended.status).toBe(201);
    expect(page.status).toBe(200);
    expect(reference).toMatchObject({ mediaType: 'image/png', bytes: png.length });
    expect(fetched.equals(png)).toBe(true);
    for (const snapshot of [before, after]) {
      expect(snapshot.messages.map(({ seq: _s, id: _i, createdAt: _c, ...message }) => message)).toEqual(
        sent,
      );
      expect(JSON.stringify(snapshot.messages[0]?.content)).toBe(JSON.stringify(sent[0]?.content));
    }
    expect(objectsBefore).toHaveLength(2);
    expect(deleted.status).toBe(204);
    expect(objectsAfter).toEqual([]);
    expect((await restarted.request('GET', `/v1/conversations/${id}/messages`)).json.messages).toEqual([]);
  });

  it('takes a 20 MB file through the upload route, referenced by a message, and gives it back', async () => {
    // Prepare
    const server = await startServer();
    const id = `upload-${randomUUID()}`;
    const file = randomBytes(20 * 1024 * 1024);
    const client = new AgentMemoryClient({ baseUrl: server.url, auth: tenantHeaderAuth(tenant) });

    // Act
    const part = await client.upload(id, file, {
      mediaType: 'application/pdf',
      filename: 'annual-report.pdf',
    });
    await client.append(id, [{ role: 'user', content: [{ type: 'text', text: 'Summarise it.' }, part] }]);
    const { messages } = await client.loadAll(id);
    const content = messages[0]?.content as unknown as Array<{ attachment: { url: string } }> | undefined;
    const attachment = content?.[1]?.attachment;
    const read = Buffer.from(await (await fetch(attachment?.url ?? '')).arrayBuffer());

    // Assess
    expect(attachment).toMatchObject({
      mediaType: 'application/pdf',
      bytes: file.length,
      filename: 'annual-report.pdf',
    });
    expect(read.equals(file)).toBe(true);
  });

  it('leaves no message and, after the sweep, no object when killed between its uploads and its commit', async () => {
    // Prepare: DynamoDB through a proxy that holds the write's transaction; S3 the test setup's s3rver.
    const proxy = await DynamoDbProxy.start(inject('dynamoDbEndpoint'));
    const id = `killed-${randomUUID()}`;
    const folder = conversationFolder(tenant, id);
    let held: (() => void) | undefined;
    proxy.rule = (request) => {
      const items = JSON.stringify(request.body?.TransactItems ?? []);
      if (request.operation !== 'TransactWriteItems' || !items.includes('MSG#0000000001')) return 'forward';
      return new Promise((resolve) => {
        held = () => resolve('drop-request');
      });
    };
    const env = {
      ATTACHMENTS_BUCKET: inject('s3Bucket'),
      S3_ENDPOINT: inject('s3Endpoint'),
      ATTACHMENT_GRACE_SECONDS: '1',
      // The restart may sweep before the marker is due (a fast restart is under its grace): sweep again soon.
      SWEEP_INTERVAL_SECONDS: '1',
    };
    const options = { dynamoDbEndpoint: proxy.endpoint, tableName: `killed-${randomUUID()}`, env };
    const server = await startServer(options);
    const s3 = testS3Client();
    const message = {
      role: 'user',
      content: [
        {
          type: 'image_url',
          image_url: { url: `data:image/png;base64,${pngBytes(500_000).toString('base64')}` },
        },
      ],
    };

    // Act: the append uploads, then its commit is held at the proxy; the server dies there.
    const answer = server
      .request('POST', `/v1/conversations/${id}/messages`, { body: { messages: [message] } })
      .catch((error: unknown) => error);
    expect(await waitUntil(() => held !== undefined, 30_000)).toBe(true);
    // s3rver answers a PUT before its file is written; the object shows in a listing a moment later.
    const uploaded = await poll(
      () => listKeys(s3, inject('s3Bucket'), `${folder}/`),
      (keys) => keys.length > 0,
    );
    server.signalGroup('SIGKILL');
    await server.exited;
    held?.();
    await answer;
    proxy.rule = () => 'forward';
    const restarted = await startServer(options);
    const swept = await waitUntil(
      () => /Attachment sweep: 1 objects of 1 markers deleted/.test(restarted.output()),
      30_000,
    );
    const page = await restarted.request('GET', `/v1/conversations/${id}/messages`);
    const left = await listKeys(s3, inject('s3Bucket'), `${folder}/`);
    await proxy.stop();

    // Assess
    expect(uploaded).toHaveLength(1);
    expect(swept).toBe(true);
    expect(page.json).toMatchObject({ version: 0, messages: [] });
    expect(left).toEqual([]);
  });
});
