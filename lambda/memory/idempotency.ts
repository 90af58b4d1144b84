import { createHash } from 'node:crypto';
import { requireIdempotencyKey } from './arguments.js';
import { canonicalJson } from './canonical-json.js';
import { IdempotencyKeyReusedError, IdempotentResultGoneError } from './errors.js';
import { isLiveRecord } from './head.js';
import { readRange } from './load.js';
import { headKey } from './requests.js';
import { nowSeconds, type StoreContext } from './store-context.js';
import type { AppendOptions, AppendResult } from './store-types.js';
import { type Head, type IdempotencyRecord, keys } from './table.js';

/*
 * Idempotency keys: a write with a key stores a record of what it wrote, in the same transaction as the write.
 * A later request with the key is answered from the record: the same request (same hash of its fingerprint)
 * gets the original result back, re-read from the messages it wrote, and writes nothing; another request is
 * refused. Records live as long as what they wrote (a past life of the id, or retention, frees the key).
 */

/** A key as the store writes it: the key and the hash of what makes a request with it "the same". */
export interface IdempotencyKey {
  readonly key: string;
  readonly hash: string;
}

export function idempotencyKeyOf(
  options: AppendOptions,
  defaultFingerprint: () => unknown,
): IdempotencyKey | undefined {
  const { idempotencyKey } = options;
  if (idempotencyKey === undefined) return undefined;
  requireIdempotencyKey(idempotencyKey);
  const fingerprint = options.idempotencyFingerprint ?? defaultFingerprint();
  return {
    key: idempotencyKey,
    hash: createHash('sha256').update(canonicalJson(fingerprint)).digest('base64url'),
  };
}

// The client's AI SDK adapter compares stored messages with it too, without loading the store.
export { canonicalJson };

export async function readRecord(
  store: StoreContext,
  pk: string,
  key: string,
): Promise<{ record?: IdempotencyRecord; capacity: number }> {
  const { item, capacity } = await store.table.get<IdempotencyRecord>({ pk, sk: keys.idempotency(key) });
  return { record: item, capacity };
}

/** The live result of a key, read with the head (a record of a past life of this id is dead). */
export async function findReplay(
  store: StoreContext,
  pk: string,
  conversationId: string,
  idempotency: IdempotencyKey,
): Promise<AppendResult | undefined> {
  const [{ record, capacity }, { item: head, capacity: headCapacity }] = await Promise.all([
    readRecord(store, pk, idempotency.key),
    store.table.get<Head>(headKey(pk)),
  ]);
  if (!record || !isLiveRecord(record, head, nowSeconds(store))) return undefined;
  const replay = await replayFrom(store, pk, conversationId, record, idempotency.hash);
  return { ...replay, consumedCapacity: replay.consumedCapacity + capacity + headCapacity };
}

/** The original result of a live idempotency record, re-read from the messages it wrote. */
export async function replayFrom(
  store: StoreContext,
  pk: string,
  conversationId: string,
  record: IdempotencyRecord,
  hash: string,
): Promise<AppendResult> {
  if (record.hash !== hash) throw new IdempotencyKeyReusedError();
  const expected = record.lastSeq - record.firstSeq + 1;
  const range =
    expected > 0
      ? await readRange(store, pk, record.firstSeq, record.lastSeq)
      : { messages: [], capacity: 0 };
  if (range.messages.length !== expected) throw new IdempotentResultGoneError();
  return {
    conversationId,
    version: record.version,
    messages: range.messages,
    replayed: true,
    consumedCapacity: range.capacity,
  };
}
