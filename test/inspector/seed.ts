import { crc32 } from 'node:zlib';
import type { ServerProcess } from '../e2e/server-process.js';

/** A 16x16 PNG of four coloured squares (96 bytes), as an inline image part carries it. */
export const smallPngBase64 =
  'iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAIAAACQkWg2AAAAJ0lEQVR4nGO4o6aGFakmv8aKGEY10ETDrzOiWJHYYi+saFQDTTQAAHATXlCkALpJAAAAAElFTkSuQmCC';

/**
 * The 16x16 PNG grown to `bytes` by a private ancillary chunk (`prVt`, which decoders skip): a real image as
 * large as a screenshot, so the store keeps it in S3 and a page answers it by reference.
 */
export function largePngBase64(bytes: number): string {
  const png = Buffer.from(smallPngBase64, 'base64');
  const iend = png.length - 12;
  const data = Buffer.alloc(bytes - png.length - 12, 7);
  const type = Buffer.from('prVt');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([type, data])));
  return Buffer.concat([png.subarray(0, iend), length, type, data, crc, png.subarray(iend)]).toString(
    'base64',
  );
}

/** Appends through the API as any client would; fails loudly on anything but 201. */
export async function append(
  server: ServerProcess,
  tenant: string,
  conversationId: string,
  messages: readonly Record<string, unknown>[],
  expectedVersion?: number,
): Promise<{ version: number }> {
  const answer = await server.request(
    'POST',
    `/v1/conversations/${encodeURIComponent(conversationId)}/messages`,
    {
      headers: { 'x-tenant-id': tenant },
      body: { messages, ...(expectedVersion === undefined ? {} : { expectedVersion }) },
    },
  );
  if (answer.status !== 201) throw new Error(`append answered ${answer.status}: ${answer.text}`);
  return answer.json;
}

/**
 * `count` messages in batches of 50 (the largest append), one append after the other, each conditional on the
 * version the previous one answered (so the store reads no head first). Concurrent appends to one conversation
 * would only race each other.
 */
export async function seedMessages(
  server: ServerProcess,
  tenant: string,
  conversationId: string,
  count: number,
): Promise<number> {
  let version = 0;
  for (let first = 0; first < count; first += 50) {
    const size = Math.min(50, count - first);
    ({ version } = await append(
      server,
      tenant,
      conversationId,
      Array.from({ length: size }, (_, index) => ({
        role: (first + index) % 2 === 0 ? 'user' : 'assistant',
        content: `Message ${first + index + 1} of ${count}: some text of a typical length for a chat turn.`,
      })),
      version,
    ));
  }
  return version;
}

/** A conversation with what the inspector must show: text, an image part, a tool call and its result, metadata. */
export async function seedToolConversation(server: ServerProcess, tenant: string, conversationId: string) {
  await append(server, tenant, conversationId, [
    { role: 'system', content: 'You are a travel assistant.' },
    {
      role: 'user',
      content: [
        { type: 'text', text: 'What should I wear in Paris? Here is the sky right now:' },
        { type: 'image_url', image_url: { url: `data:image/png;base64,${smallPngBase64}` } },
      ],
      metadata: { channel: 'web', userId: 'user-42' },
    },
    {
      role: 'assistant',
      content: '',
      toolCalls: [{ id: 'call_weather_1', name: 'weather', arguments: '{"city":"Paris"}' }],
      metadata: { model: 'offline', stopReason: 'tool_use' },
    },
    { role: 'tool', toolCallId: 'call_weather_1', name: 'weather', content: '18°C, light rain' },
    { role: 'assistant', content: 'Take a light raincoat: 18°C and light rain in Paris.' },
  ]);
}
