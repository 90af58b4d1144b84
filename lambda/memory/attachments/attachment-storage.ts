/**
 * Where attachments live: the one interface the store uses for object storage, so that the store's modules do not
 * import the S3 SDK (an embedder without attachments does not install it). ./s3-attachment-storage.ts implements
 * it on S3 (and on s3rver, locally and in tests). Keys are the store's (./attachment-keys.ts).
 */
export interface AttachmentStorage {
  /** The bucket (for Bedrock's S3 locations and the inspector's image origin). */
  readonly bucket: string;
  put(key: string, bytes: Uint8Array, contentType: string): Promise<void>;
  /** The object's bytes; undefined when there is none. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** The object's size and type; undefined when there is none. */
  head(
    key: string,
  ): Promise<{ readonly bytes: number; readonly contentType: string | undefined } | undefined>;
  /** A server-side copy (a 20 MB upload never passes through the function). */
  copy(from: string, to: string): Promise<void>;
  /** Deletes the objects; a missing one is not an error. */
  delete(keys: readonly string[]): Promise<void>;
  /** A short-lived URL that reads the object. */
  presignGet(key: string, expiresInSeconds: number): Promise<string>;
  /** A short-lived URL that writes the object with exactly this size and type (the headers it needs). */
  presignPut(
    key: string,
    upload: { readonly bytes: number; readonly contentType: string },
    expiresInSeconds: number,
  ): Promise<{ readonly url: string; readonly headers: Readonly<Record<string, string>> }>;
}

/** S3 (or the network to it) failed after the SDK's retries: the store answers 503, nothing is committed. */
export class AttachmentStorageError extends Error {
  override readonly name = 'AttachmentStorageError';
}
