import { UnavailableError } from '../errors.js';
import type { ItemKey } from '../requests.js';
import { nowSeconds, retryBudget, type StoreContext } from '../store-context.js';
import { type AttachmentMarker, keys, markerShards } from '../table.js';
import { AttachmentStorageError } from './attachment-storage.js';
import { dueMarkersQuery, type MarkerItem, markerClaim, markerDelete, markerPut } from './marker-requests.js';
import { sha } from './offload.js';

/*
 * Markers keep S3 and the table in step without a transaction across both. Before an offloading write uploads
 * anything, it writes a `pending` marker listing the objects it will write; its commit deletes the marker in
 * the same transaction, on condition that it is still pending. So after a crash between the uploads and the
 * commit (or a commit that never came), the marker is still there; once it is due (the grace a slow write may
 * still take), a sweep claims it (after which no commit can release it), deletes its objects, then the marker.
 * A transaction that removes messages (an edit, a delete) writes a `garbage` marker for their objects, due at
 * once, and sweeps it itself right after; a crash in between leaves it to the next sweep. Lifecycle rules
 * cannot tell such objects from referenced ones: the markers can.
 */

/** Which marker partition an operation's markers go to (spread by its random id). */
function shardOf(id: string): number {
  return Number.parseInt(sha(Buffer.from(id)).slice(0, 4), 16) % markerShards;
}

export function markerItem(
  id: string,
  marker: Omit<AttachmentMarker, 'due'> & { readonly dueSeconds: number },
): MarkerItem {
  const { dueSeconds, ...rest } = marker;
  return { pk: keys.markerPartition(shardOf(id)), sk: keys.marker(dueSeconds, id), ...rest, due: dueSeconds };
}

export function markerKey(item: MarkerItem): ItemKey {
  return { pk: item.pk, sk: item.sk };
}

/** Writes a marker on its own (one item, before the uploads it lists). */
export async function putMarker(store: StoreContext, item: MarkerItem): Promise<void> {
  const outcome = await store.table.commit([markerPut(item)], retryBudget(store));
  if (outcome.status !== 'committed') {
    throw new UnavailableError('DynamoDB did not record the upload. Retry shortly.', 1, {
      cause: 'error' in outcome ? outcome.error : undefined,
    });
  }
}

/**
 * Sweeps one marker: claims it, deletes its objects, then the marker. Returns how many objects it deleted
 * (0 when the marker is gone: a commit released it, or another sweep finished it). Safe to repeat: a sweep cut
 * short leaves the claimed marker to the next one.
 */
export async function sweepMarker(store: StoreContext, key: ItemKey): Promise<number> {
  const storage = store.attachments?.storage;
  if (storage === undefined) return 0;
  const marker = await store.table.update<AttachmentMarker>(markerClaim(key), retryBudget(store));
  if (marker === undefined) return 0;
  await storage.delete(marker.keys).catch((error: unknown) => {
    throw storageUnavailable(error);
  });
  await store.table.commit(markerDelete(key), retryBudget(store));
  return marker.keys.length;
}

/** Sweeps a marker now if it can, else leaves it to a later sweep: never fails the caller's request. */
export async function sweepSoon(store: StoreContext, key: ItemKey | undefined): Promise<void> {
  if (key === undefined) return;
  try {
    await sweepMarker(store, key);
  } catch {
    // The marker stays; the periodic sweep deletes its objects.
  }
}

export interface SweepResult {
  /** Markers swept. */
  readonly markers: number;
  /** Objects deleted. */
  readonly objects: number;
}

/** Every marker that is due, in every partition: what the scheduled sweep (and the local server) runs. */
export async function sweepDueMarkers(store: StoreContext): Promise<SweepResult> {
  let markers = 0;
  let objects = 0;
  for (let shard = 0; shard < markerShards; shard++) {
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await store.table.query(dueMarkersQuery(shard, nowSeconds(store)), { startKey });
      for (const item of page.items) {
        objects += await sweepMarker(store, { pk: item.pk, sk: item.sk });
        markers++;
      }
      startKey = page.nextKey;
    } while (startKey);
  }
  return { markers, objects };
}

/** S3 failed after the SDK's retries: the contract's 503. */
export function storageUnavailable(error: unknown): unknown {
  if (!(error instanceof AttachmentStorageError)) return error;
  return new UnavailableError('S3 is throttling or unreachable. Retry shortly.', 1, { cause: error });
}
