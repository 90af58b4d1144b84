import type { ItemKey, QueryRequest, UpdateRequest, WriteItem } from '../requests.js';
import { type AttachmentMarker, keys } from '../table.js';

/*
 * The requests of the attachment markers (./markers.ts explains the protocol), beside the store's other
 * requests (../requests.ts): a marker is released inside a write's transaction, claimed and deleted by a sweep.
 */

export type MarkerItem = AttachmentMarker & { readonly pk: string; readonly sk: string };

/** A marker, written on its own (a one-item transaction) or inside the transaction that makes garbage. */
export const markerPut = (marker: MarkerItem): WriteItem => ({ Put: { Item: marker } });

/** In a write's transaction: its uploads are referenced now, unless a sweep took them (then nothing commits). */
export const markerRelease = (key: ItemKey): WriteItem => ({
  Delete: {
    Key: key,
    ConditionExpression: '#state = :pending',
    ExpressionAttributeNames: { '#state': 'state' },
    ExpressionAttributeValues: { ':pending': 'pending' },
  },
});

/** The markers of a shard that are due. */
export const dueMarkersQuery = (shard: number, nowSec: number): QueryRequest => ({
  KeyConditionExpression: 'pk = :pk AND sk <= :due',
  ExpressionAttributeValues: { ':pk': keys.markerPartition(shard), ':due': keys.marker(nowSec, '~') },
});

/** A sweep takes a marker: from then on no commit releases it. The marker as it is now, or none. */
export const markerClaim = (key: ItemKey): UpdateRequest => ({
  Key: key,
  UpdateExpression: 'SET #state = :sweeping',
  ConditionExpression: 'attribute_exists(pk)',
  ExpressionAttributeNames: { '#state': 'state' },
  ExpressionAttributeValues: { ':sweeping': 'sweeping' },
  ReturnValues: 'ALL_NEW',
});

/** Once its objects are deleted. */
export const markerDelete = (key: ItemKey): WriteItem[] => [
  {
    Delete: {
      Key: key,
      ConditionExpression: '#state = :sweeping',
      ExpressionAttributeNames: { '#state': 'state' },
      ExpressionAttributeValues: { ':sweeping': 'sweeping' },
    },
  },
];
