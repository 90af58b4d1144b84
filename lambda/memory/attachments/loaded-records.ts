import type { AttachmentRecord } from './offload.js';

/*
 * A message in stored form (values moved to S3 are `null`) carries its records beside it, never in its JSON: the
 * records come from the item (or the write), and only the store puts values back (./presentation.ts).
 */
const recordsByMessage = new WeakMap<object, readonly AttachmentRecord[]>();

export function attachRecords<T extends object>(
  message: T,
  records: readonly AttachmentRecord[] | undefined,
): T {
  if (records !== undefined && records.length > 0) recordsByMessage.set(message, records);
  return message;
}

export function recordsOf(message: object): readonly AttachmentRecord[] | undefined {
  return recordsByMessage.get(message);
}
