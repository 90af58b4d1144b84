import { InvalidRequestError } from './errors.js';
import { conversationIdSchema, idempotencyKeySchema } from './message.js';
import { keys } from './table.js';

/*
 * The checks of what every public method of the store is given, before anything is read or written: the
 * store enforces the contract's rules itself, so that embedders get them too.
 */

/** The conversation's partition key, once tenant and id are known to be well-formed. */
export function partitionOf(tenant: string, conversationId: string): string {
  requireTenant(tenant);
  requireMatch(conversationIdSchema, conversationId, 'conversationId');
  const pk = keys.partition(tenant, conversationId);
  // DynamoDB's partition key limit: a tenant of many non-ASCII characters can exceed it once encoded.
  if (Buffer.byteLength(pk) > 2048) throw new InvalidRequestError('The tenant is too long.');
  return pk;
}

export function requireTenant(tenant: string): void {
  if (typeof tenant !== 'string' || tenant.length < 1 || tenant.length > 512) {
    throw new InvalidRequestError('The tenant must be 1-512 characters.');
  }
  try {
    encodeURIComponent(tenant);
  } catch {
    throw new InvalidRequestError('The tenant is not well-formed Unicode.'); // a lone surrogate
  }
}

export function requireIdempotencyKey(key: string): void {
  requireMatch(idempotencyKeySchema, key, 'idempotencyKey');
}

/** A version, seq or revision: an integer >= 0. */
export function requireSeq(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidRequestError(`${name} must be an integer >= 0.`);
  }
}

function requireMatch(schema: typeof conversationIdSchema, value: unknown, name: string): void {
  const result = schema.safeParse(value);
  if (!result.success)
    throw new InvalidRequestError(`${name} ${result.error.issues[0]?.message ?? 'is invalid'}.`);
}
