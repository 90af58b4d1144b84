import { randomUUID } from 'node:crypto';
import { ttlAttribute } from '../memory/table.js';
import type { Item } from './checkpoint-table.js';
import { threadKeys } from './thread-keys.js';

/** A value as LangGraph's serde serialized it. */
export interface TypedBytes {
  readonly type: string;
  readonly bytes: Uint8Array;
}

/** One serialized value of an item's payload: its serde type and byte length (plus, for writes, its channel). */
export interface PartDescriptor {
  readonly t: string;
  readonly n: number;
  /** Channel (pending writes). */
  readonly c?: string;
  /** Write index (pending writes). */
  readonly i?: number;
}

/** The payload attributes of an item: its parts, and their bytes inline or in chunk items. */
export interface PayloadAttributes {
  readonly parts: PartDescriptor[];
  readonly data?: Uint8Array;
  readonly chunks?: { readonly set: string; readonly count: number };
}

/** DynamoDB's item limit is 400 KiB (409,600 bytes), names and keys included. */
const ITEM_BYTES = 400 * 1024;
/** A chunk's bytes: its key and names (at most ~3 KB) always fit next to them. */
export const CHUNK_BYTES = 384 * 1024;
/** An item keeps its payload inline below this estimated size; above, the payload goes to chunks. */
const INLINE_ITEM_BYTES = ITEM_BYTES - 16 * 1024;

/**
 * An item holding serialized parts: inline when the item stays under DynamoDB's item limit, otherwise in
 * chunk items of their own (a fresh chunk set, so the chunks of two writes never mix), which expire with it.
 * `attributes` are the item's other attributes.
 */
export function payloadItem(
  pk: string,
  sk: string,
  parts: readonly (TypedBytes & { channel?: string; index?: number })[],
  attributes: Record<string, unknown>,
): { item: Item; chunks: Item[] } {
  const descriptors = parts.map(
    ({ type, bytes, channel, index }): PartDescriptor => ({
      t: type,
      n: bytes.byteLength,
      ...(channel === undefined ? {} : { c: channel }),
      ...(index === undefined ? {} : { i: index }),
    }),
  );
  const data = concat(parts.map((part) => part.bytes));
  const inline = { pk, sk, ...attributes, parts: descriptors, ...(data.byteLength > 0 ? { data } : {}) };
  if (estimateItemBytes(inline) <= INLINE_ITEM_BYTES) return { item: inline, chunks: [] };
  const set = randomUUID();
  const expiry = attributes[ttlAttribute] === undefined ? {} : { [ttlAttribute]: attributes[ttlAttribute] };
  const chunks: Item[] = [];
  for (let offset = 0; offset < data.byteLength; offset += CHUNK_BYTES) {
    chunks.push({
      pk,
      sk: threadKeys.chunk(set, chunks.length),
      data: data.subarray(offset, offset + CHUNK_BYTES),
      ...expiry,
    });
  }
  return {
    item: { pk, sk, ...attributes, parts: descriptors, chunks: { set, count: chunks.length } },
    chunks,
  };
}

/**
 * The parts of a stored payload, from the item and (when chunked) its chunks' bytes in order. Undefined when
 * anything is missing: a payload is whole or absent, never partial.
 */
export function readPayload(
  item: PayloadAttributes,
  chunkData?: readonly Uint8Array[],
): (TypedBytes & PartDescriptor)[] | undefined {
  const parts = item.parts ?? [];
  const expected = parts.reduce((sum, part) => sum + part.n, 0);
  let data: Uint8Array | undefined;
  if (item.chunks === undefined) data = item.data ?? new Uint8Array();
  else if (chunkData !== undefined && chunkData.length === item.chunks.count) data = concat(chunkData);
  if (data === undefined || data.byteLength !== expected) return undefined;
  let offset = 0;
  return parts.map((part) => {
    const bytes = data.subarray(offset, offset + part.n);
    offset += part.n;
    return { ...part, type: part.t, bytes };
  });
}

function concat(pieces: readonly Uint8Array[]): Uint8Array {
  return pieces.length === 1 && pieces[0] !== undefined ? pieces[0] : Buffer.concat(pieces);
}

/**
 * The size DynamoDB bills an item at, estimated from its document-client form by the documented rules
 * (names and strings as UTF-8, binary as is, numbers at their maximum of 21 bytes): never below the truth.
 */
export function estimateItemBytes(item: Record<string, unknown>): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) {
    if (value !== undefined) size += Buffer.byteLength(name) + valueBytes(value);
  }
  return size;
}

function valueBytes(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (value instanceof Uint8Array) return value.byteLength;
  if (typeof value === 'number') return 21;
  if (typeof value === 'boolean' || value === null) return 1;
  if (Array.isArray(value))
    return 3 + value.reduce((sum: number, element) => sum + 1 + valueBytes(element), 0);
  if (typeof value === 'object')
    return 3 + estimateItemBytes(value as Record<string, unknown>) + Object.keys(value).length;
  return 0;
}
