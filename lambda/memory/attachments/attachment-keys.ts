import { createHash, randomBytes } from 'node:crypto';

/*
 * Object keys. Every object belongs to one conversation of one tenant, and its key says so without holding either
 * name (both are hashed: ids may hold `:` and `@`, tenants anything, and S3's copy source would need them
 * encoded):
 *
 *   t/<tenant hash>/c/<conversation hash>/<op id>/<sha256 hex>     a value a message moved out of its item
 *   t/<tenant hash>/c/<conversation hash>/<op id>/u-<nonce>        an upload, copied for the message that uses it
 *   uploads/t/<tenant hash>/c/<conversation hash>/<nonce>           an upload not used yet (the bucket expires it)
 *
 * Keyed by the write's operation id (fixed for every attempt of one call) and the bytes' hash, an object is
 * written once per call whatever the retries, and referenced only by the messages of that operation: deleting
 * the messages of an operation (an edit, a conversation delete) may delete their objects without asking whether
 * anything else uses them. Reads derive keys from the tenant and conversation being read, so a record can never
 * point into another conversation.
 */

const hash = (text: string) => createHash('sha256').update(text).digest('base64url').slice(0, 22);

/** The folder of a conversation's objects. */
export function conversationFolder(tenant: string, conversationId: string): string {
  return `t/${hash(tenant)}/c/${hash(conversationId)}`;
}

/** The key of an object of the conversation, by its id (`<op id>/<name>`). */
export function objectKey(folder: string, id: string): string {
  return `${folder}/${id}`;
}

export const uploadsPrefix = 'uploads/';

/** Where an upload waits until a message uses it. */
export function uploadKey(tenant: string, conversationId: string, nonce: string): string {
  return `${uploadsPrefix}${conversationFolder(tenant, conversationId)}/${nonce}`;
}

/** What an upload id says: its nonce and what the caller declared. */
export interface UploadDeclaration {
  readonly nonce: string;
  readonly bytes: number;
  readonly mediaType: string;
  readonly filename?: string;
}

/**
 * An upload id carries its declaration (`u1.<nonce>.<bytes>.<media type>[.<file name>]`, base64url parts), so a
 * message that uses it is checked against what was declared without a lookup: the object must exist under the
 * caller's tenant and conversation with exactly that size and type.
 */
export function newUploadId(
  declaration: Omit<UploadDeclaration, 'nonce'>,
): UploadDeclaration & { id: string } {
  const nonce = randomBytes(16).toString('base64url');
  const encode = (text: string) => Buffer.from(text).toString('base64url');
  const parts = ['u1', nonce, String(declaration.bytes), encode(declaration.mediaType)];
  if (declaration.filename !== undefined) parts.push(encode(declaration.filename));
  return { ...declaration, nonce, id: parts.join('.') };
}

export function parseUploadId(id: string): UploadDeclaration | undefined {
  const match = /^u1\.([A-Za-z0-9_-]{22})\.(\d{1,12})\.([A-Za-z0-9_-]+)(?:\.([A-Za-z0-9_-]+))?$/.exec(id);
  if (!match) return undefined;
  const decode = (text: string) => Buffer.from(text, 'base64url').toString('utf8');
  return {
    nonce: match[1] as string,
    bytes: Number(match[2]),
    mediaType: decode(match[3] as string),
    ...(match[4] === undefined ? {} : { filename: decode(match[4]) }),
  };
}
