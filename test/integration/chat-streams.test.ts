import { randomUUID } from 'node:crypto';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { replayStream, StreamRecording } from '../../lambda/chat/resumable-stream.js';
import { ChatStreamLog } from '../../lambda/memory/chat-stream-log.js';
import { keys } from '../../lambda/memory/table.js';
import { createTestTable } from '../support/dynamodb.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function collect(pieces: AsyncIterable<string>): Promise<string> {
  let text = '';
  for await (const piece of pieces) text += piece;
  return text;
}

describe('resumable chat streams on DynamoDB Local', () => {
  let table: Awaited<ReturnType<typeof createTestTable>>;
  let log: ChatStreamLog;
  const tenant = 'tenant-1';
  const newStream = (startedAt = Date.now()) => ({
    streamId: `S${randomUUID().replaceAll('-', '')}`,
    messageId: `m-${randomUUID()}`,
    startedAt,
    deadline: startedAt + 60_000,
  });

  beforeAll(async () => {
    table = await createTestTable('chat-streams');
    log = new ChatStreamLog({ client: table.client, tableName: table.tableName });
  });

  it('records in batches, and a client that joins mid-stream replays them and follows until done', async () => {
    // Prepare: 20 pieces 20 ms apart, batched every 100 ms.
    const chatId = `chat-${randomUUID()}`;
    const stream = newStream();
    const errors: unknown[] = [];
    const recording = new StreamRecording({
      log,
      tenant,
      chatId,
      stream,
      flushMs: 100,
      onError: (e) => errors.push(e),
    });
    const pieces = Array.from(
      { length: 20 },
      (_, index) => `data: {"type":"text-delta","delta":"${index} "}\n\n`,
    );

    // Act: a reader joins after 5 pieces, polling every 30 ms.
    let reader: Promise<string> | undefined;
    for (const [index, piece] of pieces.entries()) {
      recording.record(piece);
      await sleep(20);
      if (index === 4) {
        await sleep(150); // let the first batch land
        const active = await log.active(tenant, chatId);
        expect(active).toEqual(stream);
        reader = collect(replayStream(log, tenant, chatId, active ?? stream, { pollMs: 30 }));
      }
    }
    await recording.finish();
    const replayed = await reader;
    const { Items: batches = [] } = await table.client.send(
      new QueryCommand({
        TableName: table.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: {
          ':pk': keys.partition(tenant, chatId),
          ':prefix': `STREAM#${stream.streamId}#`,
        },
      }),
    );

    // Assess: everything, in order, from far fewer writes than pieces; the pointer is gone, the batches expire.
    expect(replayed).toBe(pieces.join(''));
    expect(errors).toEqual([]);
    expect(batches.length).toBeGreaterThanOrEqual(3);
    expect(batches.length).toBeLessThan(pieces.length / 2);
    expect(batches.at(-1)?.done).toBe(true);
    for (const batch of batches) {
      expect(batch.expiresAt).toBeGreaterThan(Date.now() / 1000 + 3500);
      expect(batch.expiresAt).toBeLessThan(Date.now() / 1000 + 3700);
    }
    expect(await log.active(tenant, chatId)).toBeUndefined();
    expect(await collect(replayStream(log, tenant, chatId, stream))).toBe(pieces.join(''));
  });

  it('a newer stream replaces the pointer, and the older one ending does not remove it', async () => {
    // Prepare
    const chatId = `chat-${randomUUID()}`;
    const older = newStream();
    const newer = newStream();
    // One after the other, as two turns of a chat start: the second's pointer is written after the first's.
    const first = new StreamRecording({ log, tenant, chatId, stream: older, onError: () => undefined });
    await vi.waitFor(async () => expect(await log.active(tenant, chatId)).toEqual(older));
    const second = new StreamRecording({ log, tenant, chatId, stream: newer, onError: () => undefined });
    await vi.waitFor(async () => expect(await log.active(tenant, chatId)).toEqual(newer));

    // Act
    await first.finish();

    // Assess
    expect(await log.active(tenant, chatId)).toEqual(newer);
    await second.finish();
    expect(await log.active(tenant, chatId)).toBeUndefined();
  });

  it('ends a replay with an error chunk when the writer is gone (past its deadline, no done batch)', async () => {
    // Prepare: a recording that wrote one batch, then its function died.
    const chatId = `chat-${randomUUID()}`;
    const stream = { ...newStream(Date.now() - 120_000), deadline: Date.now() - 60_000 };
    await log.start(tenant, chatId, stream);
    await log.write(tenant, chatId, stream.streamId, {
      index: 0,
      chunks: 'data: {"type":"start"}\n\n',
      done: false,
    });

    // Act
    const replayed = await collect(replayStream(log, tenant, chatId, stream, { pollMs: 10 }));

    // Assess
    expect(replayed.startsWith('data: {"type":"start"}\n\n')).toBe(true);
    expect(replayed).toContain('"type":"error"');
    expect(replayed.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('treats an expired pointer as none (DynamoDB deletes expired items late)', async () => {
    // Prepare
    const chatId = `chat-${randomUUID()}`;
    const stream = newStream();
    await log.start(tenant, chatId, stream);
    const later = new ChatStreamLog({
      client: table.client,
      tableName: table.tableName,
      now: () => Date.now() + 3601_000,
    });

    // Act / Assess
    expect(await log.active(tenant, chatId)).toEqual(stream);
    expect(await later.active(tenant, chatId)).toBeUndefined();
    const { Item } = await table.client.send(
      new GetCommand({
        TableName: table.tableName,
        Key: { pk: keys.partition(tenant, chatId), sk: keys.activeStream },
      }),
    );
    expect(Item?.expiresAt).toBeTypeOf('number');
  });

  it('reports a failed write once and stops recording; the stream it records goes on', async () => {
    // Prepare: a table that does not exist.
    const broken = new ChatStreamLog({ client: table.client, tableName: `missing-${randomUUID()}` });
    const errors: unknown[] = [];
    const recording = new StreamRecording({
      log: broken,
      tenant,
      chatId: 'chat-x',
      stream: newStream(),
      flushMs: 10,
      onError: (error) => errors.push(error),
    });

    // Act
    recording.record('data: {"type":"start"}\n\n');
    await sleep(50);
    recording.record('data: {"type":"finish"}\n\n');
    await recording.finish();

    // Assess
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'internal' });
  });
});
