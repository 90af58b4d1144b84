import { InvalidRequestError, InvalidUploadError, PayloadTooLargeError } from '../errors.js';
import { limits, type MessageInput, parseMessages } from '../message.js';
import type { Operation } from '../operation.js';
import type { ItemKey } from '../requests.js';
import { nowSeconds, type StoreContext } from '../store-context.js';
import { conversationFolder, objectKey, parseUploadId, uploadKey } from './attachment-keys.js';
import type { MarkerItem } from './marker-requests.js';
import { markerItem, markerKey, putMarker, storageUnavailable } from './markers.js';
import { type AttachmentRecord, type OffloadPlan, type PlannedValue, planOffload } from './offload.js';

/** A message ready for a write: as sent (`input`, what idempotency compares), as stored, and what moves. */
export interface PreparedMessage {
  readonly input: MessageInput;
  /** As stored: with attachments, every moved value `null`. */
  readonly message: MessageInput;
  readonly bytes: number;
  readonly plan?: OffloadPlan;
}

/**
 * Validates a batch (./message.ts) and plans what of it moves to S3. Without attachments every message must fit its
 * item (256 KiB of JSON); with them a message may be as large as a request, and what is left of it in the item
 * must fit (its large values moved, ./offload.ts).
 */
export function prepareMessages(
  store: StoreContext,
  messages: unknown,
  options: { readonly allowEmpty?: boolean } = {},
): PreparedMessage[] {
  const settings = store.attachments;
  if (settings === undefined) {
    return parseMessages(messages, options).map(({ message, bytes }) => ({ input: message, message, bytes }));
  }
  const parsed = parseMessages(messages, {
    ...options,
    maxMessageBytes: limits.contentRequestBytes,
    maxTotalBytes: Number.POSITIVE_INFINITY,
  });
  let total = 0;
  const prepared = parsed.map(({ message }, index): PreparedMessage => {
    let plan: OffloadPlan;
    try {
      plan = planOffload(message, settings.thresholdBytes, limits.messageBytes);
    } catch (error) {
      if (!(error instanceof InvalidRequestError)) throw error;
      throw new InvalidRequestError(`messages.${index}.${error.message}`, { cause: error });
    }
    if (plan.bytes > limits.messageBytes) {
      throw new PayloadTooLargeError(
        `messages.${index} is still ${plan.bytes} bytes of JSON after its large parts moved to S3; the limit ` +
          `is ${limits.messageBytes} (256 KiB) outside its content parts.`,
      );
    }
    total += plan.bytes;
    const moves = plan.values.length > 0 || plan.uploads.length > 0;
    return { input: message, message: plan.stored, bytes: plan.bytes, ...(moves ? { plan } : {}) };
  });
  if (total > limits.appendBytes) {
    throw new PayloadTooLargeError(
      `The messages add up to ${total} bytes in the table; one append holds at most ${limits.appendBytes} bytes.`,
    );
  }
  return prepared;
}

/** What a write staged in S3 before its commit. */
export interface StagedAttachments {
  /** The pending marker, which the commit releases. */
  readonly marker: ItemKey;
  /** The bytes it wrote, by key: the write's answer shows them without reading them back. */
  readonly known: ReadonlyMap<string, Uint8Array>;
}

/** S3 calls of one write in flight at once. */
const concurrentUploads = 4;

/**
 * Uploads what the write's messages move to S3 (after checking the uploads they reference) and returns each
 * message's records. A pending marker listing every object is written first: a write that never commits leaves
 * only objects a sweep will find. Keys are the operation's, so every attempt of the write uses these same objects.
 */
export async function stageAttachments(
  store: StoreContext,
  where: { readonly pk: string; readonly tenant: string; readonly conversationId: string },
  op: Operation,
  messages: readonly PreparedMessage[],
): Promise<{ records?: Array<AttachmentRecord[] | undefined>; staged?: StagedAttachments }> {
  const settings = store.attachments;
  if (settings === undefined || messages.every((message) => message.plan === undefined)) return {};
  const { storage } = settings;
  const folder = conversationFolder(where.tenant, where.conversationId);
  const puts = new Map<string, PlannedValue>();
  const copies: Array<{ from: string; to: string }> = [];
  const records: Array<AttachmentRecord[] | undefined> = [];
  for (const [index, { plan }] of messages.entries()) {
    if (plan === undefined) {
      records.push(undefined);
      continue;
    }
    const own: AttachmentRecord[] = [];
    for (const value of plan.values) {
      const id = `${op.id}/${value.sha256}`;
      puts.set(objectKey(folder, id), value);
      own.push({
        p: value.path,
        i: id,
        e: value.encoding,
        ...(value.prefix === undefined ? {} : { x: value.prefix }),
        t: value.mediaType,
        n: value.bytes.length,
        h: value.sha256,
      });
    }
    for (const upload of plan.uploads) {
      const declared = parseUploadId(upload.uploadId);
      const where_ = `messages.${index}.${upload.path.join('.')}`;
      if (declared === undefined) throw new InvalidUploadError(`${where_}: not an upload id of this API.`);
      const from = uploadKey(where.tenant, where.conversationId, declared.nonce);
      const found = await storage.head(from).catch((error: unknown) => {
        throw storageUnavailable(error);
      });
      if (found === undefined) {
        throw new InvalidUploadError(
          `${where_}: this conversation has no such upload (never uploaded, or expired a day after it was handed out).`,
        );
      }
      if (found.bytes !== declared.bytes || found.contentType !== declared.mediaType) {
        throw new InvalidUploadError(
          `${where_}: the upload is ${found.bytes} bytes of ${found.contentType ?? 'no type'}, declared as ` +
            `${declared.bytes} bytes of ${declared.mediaType}.`,
        );
      }
      const id = `${op.id}/u-${declared.nonce}`;
      copies.push({ from, to: objectKey(folder, id) });
      own.push({
        p: upload.path,
        i: id,
        e: 'upload',
        t: declared.mediaType,
        n: declared.bytes,
        ...(declared.filename === undefined ? {} : { f: declared.filename }),
      });
    }
    records.push(own);
  }

  const marker = markerItem(op.id, {
    state: 'pending',
    keys: [...puts.keys(), ...copies.map(({ to }) => to)],
    conversation: where.pk,
    dueSeconds: nowSeconds(store) + settings.pendingGraceSeconds,
  });
  await putMarker(store, marker);
  const tasks = [
    ...[...puts].map(
      ([key, value]) =>
        () =>
          storage.put(key, value.bytes, value.mediaType),
    ),
    ...copies.map(
      ({ from, to }) =>
        () =>
          storage.copy(from, to),
    ),
  ];
  await runLimited(tasks, concurrentUploads).catch((error: unknown) => {
    throw storageUnavailable(error);
  });
  const known = new Map([...puts].map(([key, value]) => [key, value.bytes as Uint8Array]));
  return { records, staged: { marker: markerKey(marker), known } };
}

/**
 * A garbage marker for the objects of messages a write removes (due at once), or undefined when they have none.
 * It goes into the write's own transaction.
 */
export function garbageMarker(
  store: StoreContext,
  where: { readonly pk: string; readonly tenant: string; readonly conversationId: string },
  marker: { readonly id: string; readonly dueSeconds: number },
  records: ReadonlyArray<readonly AttachmentRecord[] | undefined>,
): MarkerItem | undefined {
  const folder = conversationFolder(where.tenant, where.conversationId);
  const keys = records.flatMap((own) => (own ?? []).map((record) => objectKey(folder, record.i)));
  if (keys.length === 0 || store.attachments === undefined) return undefined;
  return markerItem(marker.id, {
    state: 'garbage',
    keys,
    conversation: where.pk,
    dueSeconds: marker.dueSeconds,
  });
}

async function runLimited(tasks: ReadonlyArray<() => Promise<unknown>>, limit: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const task = tasks[next++] as () => Promise<unknown>;
      await task();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
}
