import type { StoredMessage } from './conversation-memory.js';

/*
 * Attachment parts, as the API gives values it keeps in S3 when they do not fit an answer (docs/http-contract.md,
 * "Large content"): `{type: 'attachment', attachment: {id, mediaType, bytes, url, urlExpiresAt, restore?, ...}}`.
 * The client puts back what `restore` describes, so that callers (and the framework adapters) get every message
 * exactly as it was sent. Uploads (no `restore`) stay attachment parts: fetch their `url` for the bytes.
 */

interface Restore {
  readonly as: 'content' | 'part' | 'field';
  readonly encoding: 'utf8' | 'json' | 'base64' | 'data_url';
  readonly part?: unknown;
  readonly path?: ReadonlyArray<string | number>;
  readonly prefix?: string;
}

interface ReferencePart {
  readonly type: 'attachment';
  readonly attachment: { readonly url: string; readonly restore: Restore };
}

function isRestorable(part: unknown): part is ReferencePart {
  const attachment = (part as { type?: unknown; attachment?: { url?: unknown; restore?: unknown } } | null)
    ?.attachment;
  return (
    (part as { type?: unknown }).type === 'attachment' &&
    typeof attachment?.url === 'string' &&
    typeof attachment.restore === 'object' &&
    attachment.restore !== null
  );
}

/** Puts back every value the messages give by reference, reading each URL once (in parallel). */
export async function restoreAttachments(
  messages: readonly StoredMessage[],
  read: (url: string) => Promise<Uint8Array>,
): Promise<StoredMessage[]> {
  const jobs: Array<Promise<void>> = [];
  const restored = messages.map((original) => {
    if (!Array.isArray(original.content) || !original.content.some(isRestorable)) return original;
    const message = structuredClone(original) as Omit<StoredMessage, 'content'> & { content: unknown };
    const parts = message.content as unknown[];
    parts.forEach((part, index) => {
      if (!isRestorable(part)) return;
      const { url, restore } = part.attachment;
      jobs.push(
        read(url).then((bytes) => {
          const value = decode(restore, bytes);
          if (restore.as === 'content') message.content = value;
          else if (restore.as === 'part') parts[index] = value;
          else parts[index] = withValue(restore.part, restore.path ?? [], value);
        }),
      );
    });
    return message as StoredMessage;
  });
  await Promise.all(jobs);
  return restored;
}

function decode(restore: Restore, bytes: Uint8Array): unknown {
  switch (restore.encoding) {
    case 'utf8':
      return new TextDecoder().decode(bytes);
    case 'json':
      return JSON.parse(new TextDecoder().decode(bytes));
    case 'base64':
      return base64(bytes);
    case 'data_url':
      return `${restore.prefix ?? ''}${base64(bytes)}`;
  }
}

/** Base64 without Node's Buffer, so the client runs in browsers too. */
function base64(bytes: Uint8Array): string {
  let binary = '';
  for (let start = 0; start < bytes.length; start += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(start, start + 0x8000));
  }
  return btoa(binary);
}

function withValue(part: unknown, path: ReadonlyArray<string | number>, value: unknown): unknown {
  const whole = structuredClone(part) as Record<string | number, unknown>;
  let node = whole;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  Object.defineProperty(node, path.at(-1) as string | number, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
  return whole;
}
