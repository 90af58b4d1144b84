import { InvalidRequestError } from '../errors.js';
import type { StoredMessage } from '../message.js';
import type { StoreContext } from '../store-context.js';
import type { AttachmentReference, AttachmentView } from '../store-types.js';
import { conversationFolder, objectKey } from './attachment-keys.js';
import { attachRecords, recordsOf } from './loaded-records.js';
import { storageUnavailable } from './markers.js';
import {
  type AttachmentRecord,
  attachmentPartType,
  type Encoding,
  getAt,
  setAt,
  type ValuePath,
  valueFromBytes,
} from './offload.js';

/*
 * Reads: a message loaded from its item has `null` where values moved to S3, and its records. Before it leaves
 * the store, each such value is either put back (inline: the message exactly as it was sent) or replaced by an
 * attachment part that says where to get it (a short-lived presigned URL) and how to put it back:
 *
 *   { "type": "attachment", "attachment": {
 *       "id", "mediaType", "bytes", "sha256"?, "filename"?, "url", "urlExpiresAt",
 *       "restore"?: { "as": "content" | "part" | "field", "encoding", "part"?, "path"?, "prefix"? } } }
 *
 * `restore` is absent for uploads (they have no inline form). `as: 'content'`: the message's content was this one
 * string; `part`: this part is the value (JSON); `field`: this part is `restore.part` with the value at `path`.
 */

/** A message parsed from its item, with the item's records kept beside it (never part of its JSON). */
export function loadedMessage(msg: string, att: string | undefined): StoredMessage {
  const message = JSON.parse(msg) as StoredMessage;
  return att === undefined ? message : attachRecords(message, JSON.parse(att) as AttachmentRecord[]);
}

/**
 * The messages as a read gives them: moved values inline or as attachment parts (see above). `known` holds bytes
 * the caller has already (a write's own), so they are not read back from S3.
 */
export async function presentMessages(
  store: StoreContext,
  where: { readonly tenant: string; readonly conversationId: string },
  messages: readonly StoredMessage[],
  view: AttachmentView,
  known?: ReadonlyMap<string, Uint8Array>,
): Promise<StoredMessage[]> {
  const settings = store.attachments;
  if (settings === undefined || messages.every((message) => recordsOf(message) === undefined)) {
    return [...messages];
  }
  const folder = conversationFolder(where.tenant, where.conversationId);
  let budget = typeof view === 'object' ? view.inlineBudgetBytes : view === 'inline' ? Infinity : 0;
  const fetches: Array<Promise<void>> = [];
  const presented = messages.map((original) => {
    const records = recordsOf(original);
    if (records === undefined) return original;
    const message = structuredClone(original);
    for (const record of records) {
      const key = objectKey(folder, record.i);
      const cost = inlineCost(record);
      if (record.e !== 'upload' && cost <= budget) {
        budget -= cost;
        fetches.push(
          read(store, key, known).then((bytes) => {
            if (bytes === undefined) setAt(message, placeOf(record.p), missingPart(record));
            else putBack(message, record.p, valueFromBytes(record, Buffer.from(bytes)));
          }),
        );
      } else {
        fetches.push(
          referencePart(store, key, record, original).then((part) => setAt(message, placeOf(record.p), part)),
        );
      }
    }
    return message;
  });
  await Promise.all(fetches).catch((error: unknown) => {
    throw storageUnavailable(error);
  });
  return presented;
}

/**
 * Puts back the values of attachment parts (references this store gave out for this conversation), for the
 * messages a turn sends its model: offloaded values inline, uploads with their bytes as `data` (when at most
 * `uploadDataBytes`). Other parts are left as they are.
 */
export async function resolveReferences(
  store: StoreContext,
  where: { readonly tenant: string; readonly conversationId: string },
  messages: readonly StoredMessage[],
  uploadDataBytes: number,
): Promise<StoredMessage[]> {
  const settings = store.attachments;
  if (settings === undefined) return [...messages];
  const folder = conversationFolder(where.tenant, where.conversationId);
  const jobs: Array<Promise<void>> = [];
  const resolved = messages.map((original) => {
    if (!Array.isArray(original.content) || !original.content.some(isReferencePart)) return original;
    const message = structuredClone(original) as Omit<StoredMessage, 'content'> & { content: unknown };
    const parts = message.content as unknown[];
    parts.forEach((part, index) => {
      if (!isReferencePart(part)) return;
      const reference = part.attachment;
      if (!/^[A-Za-z0-9_-]+\/[A-Za-z0-9_-]+$/.test(reference.id)) {
        throw new InvalidRequestError(`An attachment id is malformed: ${JSON.stringify(reference.id)}.`);
      }
      const key = objectKey(folder, reference.id);
      const restore = reference.restore;
      if (restore === undefined && reference.bytes > uploadDataBytes) return;
      jobs.push(
        read(store, key, undefined).then((bytes) => {
          if (bytes === undefined) return;
          const buffer = Buffer.from(bytes);
          if (restore === undefined) {
            parts[index] = { ...part, attachment: { ...reference, data: buffer.toString('base64') } };
            return;
          }
          const value = valueFromBytes({ e: restore.encoding, ...optional('x', restore.prefix) }, buffer);
          if (restore.as === 'content') message.content = value;
          else if (restore.as === 'part') parts[index] = value;
          else {
            const whole = structuredClone(restore.part);
            setAt(whole, restore.path ?? [], value);
            parts[index] = whole;
          }
        }),
      );
    });
    return message as StoredMessage;
  });
  await Promise.all(jobs).catch((error: unknown) => {
    throw storageUnavailable(error);
  });
  return resolved;
}

export function isReferencePart(
  part: unknown,
): part is { readonly type: 'attachment'; readonly attachment: AttachmentReference } {
  const record = part as { type?: unknown; attachment?: { id?: unknown; url?: unknown } } | null;
  return (
    typeof record === 'object' &&
    record !== null &&
    record.type === attachmentPartType &&
    typeof record.attachment?.id === 'string' &&
    typeof record.attachment.url === 'string'
  );
}

/** What inlining a value adds to a response, escaped twice (API Gateway's envelope): exact for base64. */
function inlineCost(record: AttachmentRecord): number {
  switch (record.e) {
    case 'base64':
    case 'data_url':
      return (record.x?.length ?? 0) + 4 * Math.ceil(record.n / 3);
    case 'upload':
      return Infinity;
    default:
      // Text may hold quotes and backslashes, which the envelope escapes twice.
      return record.n * 2;
  }
}

async function read(
  store: StoreContext,
  key: string,
  known: ReadonlyMap<string, Uint8Array> | undefined,
): Promise<Uint8Array | undefined> {
  return known?.get(key) ?? (await store.attachments?.storage.get(key));
}

/** Where a record's stand-in goes: the part it belongs to (the whole content, for `['content']`). */
function placeOf(path: ValuePath): ValuePath {
  return path.length === 1 ? ['content'] : path.slice(0, 2);
}

function putBack(message: StoredMessage, path: ValuePath, value: unknown): void {
  setAt(message, path, value);
}

async function referencePart(
  store: StoreContext,
  key: string,
  record: AttachmentRecord,
  original: StoredMessage,
): Promise<unknown> {
  const settings = store.attachments as NonNullable<StoreContext['attachments']>;
  const url = await settings.storage.presignGet(key, settings.urlExpiresSeconds);
  const expires = new Date(store.now() + settings.urlExpiresSeconds * 1000).toISOString();
  const attachment: AttachmentReference = {
    id: record.i,
    mediaType: record.t,
    bytes: record.n,
    ...optional('sha256', record.h),
    ...optional('filename', record.f),
    url,
    urlExpiresAt: expires,
    ...(record.e === 'upload' ? {} : { restore: restoreOf(record, original) }),
  };
  const part = { type: attachmentPartType, attachment };
  // The whole content was one string: it becomes one attachment part.
  return record.p.length === 1 ? [part] : part;
}

function restoreOf(record: AttachmentRecord, original: StoredMessage): AttachmentReference['restore'] {
  const encoding = record.e as Exclude<Encoding, 'upload'>;
  if (record.p.length === 1) return { as: 'content', encoding };
  if (record.p.length === 2) return { as: 'part', encoding };
  return {
    as: 'field',
    encoding,
    part: structuredClone(getAt(original, record.p.slice(0, 2))),
    path: record.p.slice(2),
    ...optional('prefix', record.x),
  };
}

/** A value whose object is gone (deleted or expired under a message that is still read): said, not hidden. */
function missingPart(record: AttachmentRecord): unknown {
  const part = {
    type: 'attachment_missing',
    attachment: { id: record.i, mediaType: record.t, bytes: record.n },
  };
  return record.p.length === 1 ? [part] : part;
}

function optional<K extends string, V>(name: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [name]: value }) as { [P in K]?: V };
}
