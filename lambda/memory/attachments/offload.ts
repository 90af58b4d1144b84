import { createHash } from 'node:crypto';
import { InvalidRequestError } from '../errors.js';
import type { MessageInput } from '../message.js';
import type { Encoding, ValuePath } from '../store-types.js';

export type { Encoding, ValuePath };

/*
 * Which values of a message leave the item for S3, and how each comes back byte for byte. Pure functions: the
 * store decides here, writes the bytes (./attachment-writes.ts) and keeps, next to the message's JSON, one record
 * per value it moved (the item's `att`), so that reads put every value back exactly where it was.
 *
 *   the content, when it is one large string              -> the string (utf8)
 *   a content part whose JSON is over the threshold:
 *     dominated by one string (>= half of the part)        -> that string; a base64 data URL or base64 field as
 *                                                             its decoded bytes (an image is stored as an image)
 *     otherwise                                            -> the whole part, as JSON
 *   `{type: 'attachment', attachment: {uploadId}}`        -> an upload (./uploads.ts), copied for the message
 *
 * Then, while the message's JSON is still over the per-message limit, its largest remaining part goes as well.
 * A moved value is `null` in the stored JSON; its record says where it goes and how to turn bytes into it.
 */

/** One moved value, as the message item keeps it (the item's `att`, JSON). Short names: it is in every read. */
export interface AttachmentRecord {
  /** Where the value goes back. */
  readonly p: ValuePath;
  /** The object's id within the conversation (`<op id>/<sha256 hex>`, or `<op id>/u-<upload>`). */
  readonly i: string;
  readonly e: Encoding;
  /** data_url: everything up to and including the comma. */
  readonly x?: string;
  /** The object's media type. */
  readonly t: string;
  /** The object's size in bytes. */
  readonly n: number;
  /** SHA-256 of the bytes, hex (not for uploads: their bytes never pass through the store). */
  readonly h?: string;
  /** Uploads: the file name declared with the upload. */
  readonly f?: string;
}

/** A value to move, with its bytes. */
export interface PlannedValue {
  readonly path: ValuePath;
  readonly encoding: Exclude<Encoding, 'upload'>;
  readonly prefix?: string;
  readonly mediaType: string;
  readonly bytes: Buffer;
  readonly sha256: string;
}

/** A reference to an upload in a message, found in place. */
export interface PlannedUpload {
  readonly path: ValuePath;
  readonly uploadId: string;
}

export interface OffloadPlan {
  /** The message as stored: every moved value replaced by `null`. */
  readonly stored: MessageInput;
  /** Its JSON's size in bytes. */
  readonly bytes: number;
  readonly values: readonly PlannedValue[];
  readonly uploads: readonly PlannedUpload[];
}

/** The reserved part type: an upload reference on input, a value given by reference on output. */
export const attachmentPartType = 'attachment';

/** The smallest value the fitting pass moves: below it, moving saves less than the record costs. */
const minimumMovedBytes = 1024;

const byteLength = (value: unknown) => Buffer.byteLength(JSON.stringify(value) ?? '');

/**
 * Plans which values of `message` (plain JSON, as validated) move to S3: every part over `thresholdBytes`, then
 * the largest others while the message is over `messageLimitBytes`. Throws InvalidRequestError for an
 * `attachment` part that is not an upload reference.
 */
export function planOffload(
  message: MessageInput,
  thresholdBytes: number,
  messageLimitBytes: number,
): OffloadPlan {
  const stored = structuredClone(message) as Omit<MessageInput, 'content'> & { content: unknown };
  const values: PlannedValue[] = [];
  const uploads: PlannedUpload[] = [];
  const content = stored.content;
  if (typeof content === 'string') {
    if (Buffer.byteLength(content) > thresholdBytes) {
      values.push(stringValue(['content'], content, undefined, undefined));
      stored.content = null;
    }
    return { stored: stored as MessageInput, bytes: byteLength(stored), values, uploads };
  }
  const parts = content as Array<Record<string, unknown> | null>;
  const candidates: number[] = [];
  parts.forEach((part, index) => {
    if (part?.type === attachmentPartType) {
      uploads.push({ path: ['content', index], uploadId: uploadIdOf(part, index) });
      return;
    }
    if (byteLength(part) > thresholdBytes) values.push(movePart(parts, index));
    else candidates.push(index);
  });
  let bytes = byteLength(stored);
  if (bytes > messageLimitBytes) {
    const bySize = candidates
      .map((index) => ({ index, size: byteLength(parts[index]) }))
      .filter(({ size }) => size >= minimumMovedBytes)
      .sort((a, b) => b.size - a.size || a.index - b.index);
    for (const { index } of bySize) {
      if (bytes <= messageLimitBytes) break;
      values.push(movePart(parts, index));
      bytes = byteLength(stored);
    }
  }
  return { stored: stored as MessageInput, bytes, values, uploads };
}

function uploadIdOf(part: Record<string, unknown>, index: number): string {
  const attachment = part.attachment as Record<string, unknown> | undefined;
  const keys = Object.keys(part).sort().join(',');
  if (
    keys !== 'attachment,type' ||
    typeof attachment !== 'object' ||
    attachment === null ||
    Object.keys(attachment).join(',') !== 'uploadId' ||
    typeof attachment.uploadId !== 'string'
  ) {
    throw new InvalidRequestError(
      `content.${index}: parts of type "attachment" are reserved; on input such a part is exactly ` +
        '{"type": "attachment", "attachment": {"uploadId": "..."}}, a file uploaded through POST .../uploads.',
    );
  }
  return attachment.uploadId;
}

/** Moves part `index`: its dominant string if it has one, else the whole part as JSON. */
function movePart(parts: Array<Record<string, unknown> | null>, index: number): PlannedValue {
  const part = parts[index] as Record<string, unknown>;
  const size = byteLength(part);
  const leaf = largestString(part);
  if (leaf && Buffer.byteLength(leaf.value) * 2 >= size) {
    setAt(part, leaf.path, null);
    return stringValue(['content', index, ...leaf.path], leaf.value, part, leaf.path.at(-1));
  }
  parts[index] = null;
  const bytes = Buffer.from(JSON.stringify(part));
  return {
    path: ['content', index],
    encoding: 'json',
    mediaType: 'application/json',
    bytes,
    sha256: sha(bytes),
  };
}

/**
 * A string as bytes that give it back exactly: a base64 data URL or a declared-binary base64 field as its
 * decoded bytes (only when re-encoding them gives the same text), text as UTF-8 (only when it is well-formed),
 * anything else as JSON.
 */
function stringValue(
  path: ValuePath,
  value: string,
  part: Record<string, unknown> | undefined,
  field: string | number | undefined,
): PlannedValue {
  const dataUrl = /^data:([\w.+-]+\/[\w.+-]+)((?:;[\w.+-]+=[\w.+-]+)*);base64,/.exec(value);
  if (dataUrl) {
    const prefix = dataUrl[0];
    const bytes = canonicalBase64(value.slice(prefix.length));
    if (bytes) {
      return {
        path,
        encoding: 'data_url',
        prefix,
        mediaType: dataUrl[1] as string,
        bytes,
        sha256: sha(bytes),
      };
    }
  }
  const declared = part && declaredMediaType(part);
  if (declared && typeof field === 'string' && binaryFields.has(field)) {
    const bytes = canonicalBase64(value);
    if (bytes) return { path, encoding: 'base64', mediaType: declared, bytes, sha256: sha(bytes) };
  }
  const utf8 = Buffer.from(value, 'utf8');
  if (utf8.toString('utf8') === value) {
    return { path, encoding: 'utf8', mediaType: 'text/plain; charset=utf-8', bytes: utf8, sha256: sha(utf8) };
  }
  const json = Buffer.from(JSON.stringify(value));
  return { path, encoding: 'json', mediaType: 'application/json', bytes: json, sha256: sha(json) };
}

/** Fields that common SDKs use for base64 bytes next to a declared media type (AI SDK, Anthropic, ...). */
const binaryFields = new Set(['data', 'image', 'file_data', 'bytes', 'base64']);

function declaredMediaType(part: Record<string, unknown>): string | undefined {
  for (const name of ['mediaType', 'media_type', 'mimeType', 'mime_type']) {
    const value = part[name];
    if (typeof value === 'string' && /^[\w.+-]+\/[\w.+-]+$/.test(value)) return value;
  }
  const source = part.source as Record<string, unknown> | undefined;
  return typeof source === 'object' && source !== null ? declaredMediaType(source) : undefined;
}

/** The decoded bytes, when `text` is exactly what Node's base64 encoder makes of them. */
function canonicalBase64(text: string): Buffer | undefined {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}

/** The part's largest string value and where it is (iterative: parts may nest 30 levels). */
function largestString(
  part: Record<string, unknown>,
): { path: (string | number)[]; value: string } | undefined {
  let best: { path: (string | number)[]; value: string } | undefined;
  const stack: Array<{ node: unknown; path: (string | number)[] }> = [{ node: part, path: [] }];
  while (stack.length > 0) {
    const { node, path } = stack.pop() as { node: unknown; path: (string | number)[] };
    if (typeof node === 'string') {
      if (path.length > 0 && (!best || node.length > best.value.length)) best = { path, value: node };
    } else if (Array.isArray(node)) {
      for (const [index, child] of node.entries()) stack.push({ node: child, path: [...path, index] });
    } else if (node !== null && typeof node === 'object') {
      for (const [key, child] of Object.entries(node)) {
        if (path.length === 0 && key === 'type') continue;
        stack.push({ node: child, path: [...path, key] });
      }
    }
  }
  return best;
}

export function sha(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Sets the value at `path` under `root` (the path exists: it was found there). */
export function setAt(root: unknown, path: ValuePath, value: unknown): void {
  let node = root as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = path.at(-1) as string | number;
  // defineProperty: a `__proto__` key stays a key, as JSON.parse made it.
  Object.defineProperty(node, last, { value, enumerable: true, writable: true, configurable: true });
}

export function getAt(root: unknown, path: ValuePath): unknown {
  let node = root as Record<string | number, unknown> | undefined;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = node[key] as Record<string | number, unknown> | undefined;
  }
  return node;
}

/** The value a record's bytes stand for (not for uploads). */
export function valueFromBytes(record: Pick<AttachmentRecord, 'e' | 'x'>, bytes: Buffer): unknown {
  switch (record.e) {
    case 'utf8':
      return bytes.toString('utf8');
    case 'json':
      return JSON.parse(bytes.toString('utf8'));
    case 'base64':
      return bytes.toString('base64');
    case 'data_url':
      return `${record.x ?? ''}${bytes.toString('base64')}`;
    case 'upload':
      throw new Error('An upload has no inline value.');
  }
}

/** The bytes a value of this record's encoding is stored as, to compare it with a record (edits). */
export function bytesOf(record: Pick<AttachmentRecord, 'e' | 'x'>, value: unknown): Buffer | undefined {
  switch (record.e) {
    case 'utf8':
      return typeof value === 'string' ? Buffer.from(value, 'utf8') : undefined;
    case 'json':
      return value === undefined ? undefined : Buffer.from(JSON.stringify(value));
    case 'base64':
      return typeof value === 'string' ? canonicalBase64(value) : undefined;
    case 'data_url': {
      const prefix = record.x ?? '';
      return typeof value === 'string' && value.startsWith(prefix)
        ? canonicalBase64(value.slice(prefix.length))
        : undefined;
    }
    case 'upload':
      return undefined;
  }
}
