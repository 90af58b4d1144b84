import { randomBytes } from 'node:crypto';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AttachmentStorage } from '../../lambda/memory/attachments/attachment-storage.js';
import { ConversationStore, type ConversationStoreOptions } from '../../lambda/memory/conversation-store.js';
import {
  InvalidRequestError,
  InvalidUploadError,
  PayloadTooLargeError,
  UnavailableError,
} from '../../lambda/memory/errors.js';
import type { MessageInput, StoredMessage } from '../../lambda/memory/message.js';
import type { AttachmentReference } from '../../lambda/memory/store-types.js';
import { keys, markerShards } from '../../lambda/memory/table.js';
import { createTestTable } from '../support/dynamodb.js';
import { listKeys, testAttachmentStorage, testS3Client } from '../support/s3.js';

type Table = Awaited<ReturnType<typeof createTestTable>>;

const tenant = 'acme';
let counter = 0;
const newId = () => `att-${++counter}-${randomBytes(3).toString('hex')}`;

/** A PNG-looking payload of `size` bytes (the signature, then noise), as a data URL part. */
function pngPart(size: number): { part: { type: string; [field: string]: unknown }; bytes: Buffer } {
  const bytes = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), randomBytes(size - 8)]);
  return {
    bytes,
    part: { type: 'image_url', image_url: { url: `data:image/png;base64,${bytes.toString('base64')}` } },
  };
}

const toolResult = (size: number): MessageInput => ({
  role: 'tool',
  toolCallId: 'call_1',
  name: 'search',
  content: JSON.stringify({ rows: 'r"ow\\'.repeat(size / 5) }).slice(0, size),
});

type References = Array<{ type: string; attachment: AttachmentReference }>;

const withoutStoreFields = ({ seq: _s, createdAt: _c, id: _i, ...rest }: StoredMessage) => rest;

describe('ConversationStore with attachments (DynamoDB Local and s3rver)', () => {
  let table: Table;
  let store: ConversationStore;
  const s3 = testS3Client();
  const storage = testAttachmentStorage(s3);
  const makeStore = (options: Partial<ConversationStoreOptions> = {}) =>
    new ConversationStore({
      client: table.client,
      tableName: table.tableName,
      attachments: { storage },
      ...options,
    });
  const objectsOf = async () => (await listKeys(s3, storage.bucket)).filter((key) => key.startsWith('t/'));
  const items = async (conversationId: string) =>
    (
      await table.client.send(
        new QueryCommand({
          TableName: table.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': keys.partition(tenant, conversationId) },
          ConsistentRead: true,
        }),
      )
    ).Items ?? [];
  const markers = async () => {
    const found: Record<string, unknown>[] = [];
    for (let shard = 0; shard < markerShards; shard++) {
      const page = await table.client.send(
        new QueryCommand({
          TableName: table.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': keys.markerPartition(shard) },
          ConsistentRead: true,
        }),
      );
      found.push(...(page.Items ?? []));
    }
    return found;
  };
  const keysOfConversation = async (conversationId: string) => {
    const all = await objectsOf();
    const records = (await items(conversationId))
      .filter((item) => typeof item.att === 'string')
      .flatMap((item) => JSON.parse(item.att as string) as Array<{ i: string }>);
    return all.filter((key) => records.some((record) => key.endsWith(`/${record.i}`)));
  };

  beforeAll(async () => {
    table = await createTestTable('attachments');
    store = makeStore();
  });

  describe('append and load', () => {
    it('stores a 3 MB PNG part and a 1 MB tool result outside the items and gives them back byte for byte', async () => {
      // Prepare
      const id = newId();
      const image = pngPart(3_000_000);
      const message: MessageInput = { role: 'user', content: [{ type: 'text', text: 'look' }, image.part] };
      const result = toolResult(1_000_000);

      // Act
      const appended = await store.append(tenant, id, [message, result]);
      const page = await store.load(tenant, id);

      // Assess
      expect(appended.messages.map(withoutStoreFields)).toEqual([message, result]);
      expect(page.messages.map(withoutStoreFields)).toEqual([message, result]);
      expect(JSON.stringify(page.messages[0]?.content)).toBe(JSON.stringify(message.content));
      const stored = await items(id);
      const messageItems = stored.filter((item) => String(item.sk).startsWith('MSG#0'));
      expect(messageItems).toHaveLength(2);
      for (const item of messageItems) expect(Buffer.byteLength(String(item.msg))).toBeLessThan(1000);
      const objects = await keysOfConversation(id);
      expect(objects).toHaveLength(2);
      const png = await storage.get(objects.find((key) => !key.endsWith('.json')) as string);
      const sizes = await Promise.all(objects.map(async (key) => (await storage.head(key))?.bytes));
      expect(sizes.sort()).toEqual([1_000_000, 3_000_000].sort());
      expect(png).toBeDefined();
      expect(await markers()).toEqual([]);
    });

    it('answers with attachment parts and presigned URLs by reference, or inline within a byte budget', async () => {
      // Prepare
      const id = newId();
      const small = pngPart(100_000);
      const large = pngPart(1_500_000);
      await store.append(tenant, id, [
        { role: 'user', content: [large.part] },
        { role: 'user', content: [small.part] },
      ]);

      // Act
      const byReference = await store.load(tenant, id, { attachments: 'reference' });
      const budgeted = await store.load(tenant, id, { attachments: { inlineBudgetBytes: 1_000_000 } });

      // Assess
      const reference = (byReference.messages[0]?.content as References | undefined)?.[0];
      expect(reference).toMatchObject({
        type: 'attachment',
        attachment: {
          mediaType: 'image/png',
          bytes: 1_500_000,
          restore: {
            as: 'field',
            encoding: 'data_url',
            path: ['image_url', 'url'],
            prefix: 'data:image/png;base64,',
          },
        },
      });
      const fetched = Buffer.from(await (await fetch(reference?.attachment.url as string)).arrayBuffer());
      expect(fetched.equals(large.bytes)).toBe(true);
      expect(Date.parse(reference?.attachment.urlExpiresAt as string)).toBeGreaterThan(Date.now());
      expect((budgeted.messages[0]?.content as References | undefined)?.[0]?.type).toBe('attachment');
      expect(budgeted.messages[1]?.content).toEqual([small.part]);
    });

    it('puts back every kind of value exactly: string content, whole parts, base64 fields, odd text', async () => {
      // Prepare
      const id = newId();
      const bytes = randomBytes(90_000);
      const messages: MessageInput[] = [
        { role: 'assistant', content: `long "quoted" text ✓ ${'é'.repeat(40_000)}` },
        {
          role: 'user',
          content: [
            { type: 'file', mediaType: 'application/pdf', filename: 'a.pdf', data: bytes.toString('base64') },
            { type: 'tool_output', rows: Array.from({ length: 4000 }, (_, i) => ({ i, v: `value ${i}` })) },
            { type: 'text', text: `\ud800 lone surrogate ${'z'.repeat(70_000)}` },
            { type: 'image', image: `${bytes.toString('base64')}\n`, mediaType: 'image/png' },
          ],
          metadata: { keep: true },
        },
      ];

      // Act
      await store.append(tenant, id, messages);
      const inline = await store.load(tenant, id);
      const resolved = await store.resolveAttachments(
        tenant,
        id,
        (await store.load(tenant, id, { attachments: 'reference' })).messages,
      );

      // Assess
      expect(JSON.stringify(inline.messages.map(withoutStoreFields))).toBe(JSON.stringify(messages));
      expect(JSON.stringify(resolved.map(withoutStoreFields))).toBe(JSON.stringify(messages));
      expect(await keysOfConversation(id)).toHaveLength(5);
    });

    it('keeps a message with many medium parts within its item by moving its largest parts', async () => {
      const id = newId();
      const parts = Array.from({ length: 20 }, (_, i) => ({
        type: 'text',
        text: `${i}${'p'.repeat(40_000)}`,
      }));

      await store.append(tenant, id, [{ role: 'user', content: parts }]);

      const [item] = (await items(id)).filter((entry) => String(entry.sk).startsWith('MSG#0'));
      expect(Buffer.byteLength(String(item?.msg))).toBeLessThanOrEqual(256 * 1024);
      expect((await store.load(tenant, id)).messages[0]?.content).toEqual(parts);
    });

    it('refuses what no threshold helps with, and a reserved part that is not an upload, storing nothing', async () => {
      const id = newId();
      const huge = { role: 'user', content: 'x', metadata: { blob: 'm'.repeat(300_000) } };
      const reserved = { role: 'user', content: [{ type: 'attachment', attachment: { url: 'https://x' } }] };

      await expect(store.append(tenant, id, [huge])).rejects.toBeInstanceOf(PayloadTooLargeError);
      await expect(store.append(tenant, id, [reserved])).rejects.toBeInstanceOf(InvalidRequestError);
      await expect(
        store.append(tenant, id, [{ role: 'user', content: 'y'.repeat(6_000_001) }]),
      ).rejects.toBeInstanceOf(PayloadTooLargeError);
      expect(await items(id)).toEqual([]);
    });

    it('without attachments, keeps the 256 KiB limit and writes no marker', async () => {
      const plain = makeStore({ attachments: undefined });
      const id = newId();

      await expect(
        plain.append(tenant, id, [{ role: 'user', content: 'x'.repeat(300_000) }]),
      ).rejects.toBeInstanceOf(PayloadTooLargeError);
      await plain.append(tenant, id, [{ role: 'user', content: 'x'.repeat(100_000) }]);

      expect((await items(id)).map((item) => item.att)).toEqual([undefined, undefined]);
    });
  });

  describe('idempotency, edits and deletes', () => {
    it('writes the objects of a keyed append once: a replay leaves no objects behind', async () => {
      const id = newId();
      const image = pngPart(200_000);
      const message: MessageInput = { role: 'user', content: [image.part] };

      const first = await store.append(tenant, id, [message], { idempotencyKey: 'k1' });
      const replay = await store.append(tenant, id, [message], { idempotencyKey: 'k1' });

      expect(replay.replayed).toBe(true);
      expect(replay.messages.map(withoutStoreFields)).toEqual([message]);
      expect(first.messages[0]?.id).toBe(replay.messages[0]?.id);
      const folder = (await keysOfConversation(id))[0]?.split('/').slice(0, 4).join('/');
      expect((await objectsOf()).filter((key) => key.startsWith(`${folder}/`))).toHaveLength(1);
      expect(await markers()).toEqual([]);
    });

    it('matches an edit by the values it moved, and deletes the objects of what it removed', async () => {
      const id = newId();
      const image = pngPart(300_000);
      const old: MessageInput = { role: 'user', content: [{ type: 'text', text: 'old' }, image.part] };
      await store.append(tenant, id, [old]);
      const [oldObject] = await keysOfConversation(id);

      const edited = await store.replaceSuffix(tenant, id, {
        expectedSuffix: [old],
        replacement: [{ role: 'user', content: 'new' }],
      });

      expect(edited.removed.map(withoutStoreFields)).toEqual([old]);
      expect(await storage.head(oldObject as string)).toBeUndefined();
      expect(await markers()).toEqual([]);
    });

    it('matches an expected message given with the attachment parts a read handed out', async () => {
      const id = newId();
      const image = pngPart(300_000);
      await store.append(tenant, id, [{ role: 'user', content: [image.part] }]);
      const asRead = (await store.load(tenant, id, { attachments: 'reference' }))
        .messages[0] as StoredMessage;

      const edited = await store.replaceSuffix(tenant, id, {
        expectedSuffix: [withoutStoreFields(asRead) as MessageInput],
        replacement: [],
      });

      expect(edited.removed).toHaveLength(1);
    });

    it('deletes a conversation with its objects', async () => {
      const id = newId();
      await store.append(tenant, id, [
        { role: 'user', content: [pngPart(500_000).part] },
        toolResult(200_000),
      ]);
      const objects = await keysOfConversation(id);
      expect(objects).toHaveLength(2);

      await store.deleteConversation(tenant, id);

      for (const key of objects) expect(await storage.head(key)).toBeUndefined();
      expect(await items(id)).toEqual([]);
      expect(await markers()).toEqual([]);
    });
  });

  describe('uploads', () => {
    const upload = async (id: string, bytes: Buffer, mediaType: string, send = bytes) => {
      const ticket = await store.createUpload(tenant, id, {
        bytes: bytes.length,
        mediaType,
        filename: 'r.pdf',
      });
      const put = await fetch(ticket.url, { method: 'PUT', headers: ticket.headers, body: send });
      expect(put.status).toBe(200);
      return ticket.uploadId;
    };

    it('takes a file uploaded to a presigned URL, referenced by a message, and hands it back by URL', async () => {
      const id = newId();
      const file = randomBytes(2_000_000);
      const uploadId = await upload(id, file, 'application/pdf');

      await store.append(tenant, id, [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'read this' },
            { type: 'attachment', attachment: { uploadId } },
          ],
        },
      ]);
      const page = await store.load(tenant, id);
      const part = (page.messages[0]?.content as References | undefined)?.[1];

      expect(part?.attachment).toMatchObject({
        mediaType: 'application/pdf',
        bytes: 2_000_000,
        filename: 'r.pdf',
      });
      expect(part?.attachment.restore).toBeUndefined();
      const fetched = Buffer.from(await (await fetch(part?.attachment.url as string)).arrayBuffer());
      expect(fetched.equals(file)).toBe(true);
    });

    it('refuses an upload that is missing, of another conversation, or not what was declared', async () => {
      const id = newId();
      const other = newId();
      const file = randomBytes(1000);
      const wrongSize = await upload(id, file, 'application/pdf', randomBytes(999));
      const elsewhere = await upload(other, file, 'application/pdf');
      const declared = await store.createUpload(tenant, id, { bytes: 10, mediaType: 'text/plain' });
      const reference = (uploadId: string) => [
        { role: 'user', content: [{ type: 'attachment', attachment: { uploadId } }] },
      ];

      for (const uploadId of [wrongSize, elsewhere, declared.uploadId, 'u1.nope']) {
        await expect(store.append(tenant, id, reference(uploadId))).rejects.toBeInstanceOf(
          InvalidUploadError,
        );
      }
      expect(await items(id)).toEqual([]);
    });
  });

  describe('orphans', () => {
    it('leaves what an unfinished write uploaded to the sweep, once its grace has passed', async () => {
      // Prepare: S3 takes the first object, then fails, so the write stops between its uploads and its commit.
      const id = newId();
      let now = Date.now();
      let puts = 0;
      const failing: AttachmentStorage = Object.assign(Object.create(storage), {
        put: async (key: string, bytes: Uint8Array, type: string) => {
          if (++puts > 1) throw Object.assign(new Error('S3 is down'), { name: 'AttachmentStorageError' });
          await storage.put(key, bytes, type);
        },
      });
      const flaky = makeStore({ attachments: { storage: failing, pendingGraceSeconds: 60 }, now: () => now });
      const before = await objectsOf();

      // Act
      const failure = await flaky
        .append(tenant, id, [{ role: 'user', content: [pngPart(100_000).part] }, toolResult(100_000)])
        .catch((error: unknown) => error);
      const early = await flaky.sweepAttachments();
      now += 61_000;
      const late = await flaky.sweepAttachments();

      // Assess
      expect(failure).toBeInstanceOf(Error);
      expect(await items(id)).toEqual([]);
      expect(early.objects).toBe(0);
      expect(late.markers).toBeGreaterThanOrEqual(1);
      expect((await objectsOf()).filter((key) => !before.includes(key))).toEqual([]);
      expect(await markers()).toEqual([]);
    });

    it('answers 503 when S3 fails, storing no message', async () => {
      const id = newId();
      const down: AttachmentStorage = Object.assign(Object.create(storage), {
        put: async () => {
          const { AttachmentStorageError } = await import(
            '../../lambda/memory/attachments/attachment-storage.js'
          );
          throw new AttachmentStorageError('S3 PutObject failed (ServiceUnavailable).');
        },
      });
      const failing = makeStore({ attachments: { storage: down } });

      await expect(
        failing.append(tenant, id, [{ role: 'user', content: [pngPart(100_000).part] }]),
      ).rejects.toBeInstanceOf(UnavailableError);
      expect(await items(id)).toEqual([]);
    });
  });
});
