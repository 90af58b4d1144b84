import {
  CopyObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { type AttachmentStorage, AttachmentStorageError } from './attachment-storage.js';

/**
 * The S3 client the store expects: checksums only where S3 requires them (S3-compatible servers such as s3rver
 * know no flexible checksums, and the store keeps its own SHA-256 of every value), path-style addressing when an
 * endpoint is given (s3rver), the SDK's standard retries.
 */
export function storeS3Client(config: S3ClientConfig = {}): S3Client {
  return new S3Client({
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    ...(config.endpoint === undefined ? {} : { forcePathStyle: true }),
    ...config,
  });
}

/** DeleteObjects takes at most this many keys. */
const deleteBatch = 1000;

/** AttachmentStorage on an S3 bucket. Every SDK failure leaves as AttachmentStorageError (the store's 503). */
export class S3AttachmentStorage implements AttachmentStorage {
  constructor(
    private readonly client: S3Client,
    readonly bucket: string,
  ) {}

  async put(key: string, bytes: Uint8Array, contentType: string): Promise<void> {
    await this.call('PutObject', () =>
      this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: bytes, ContentType: contentType }),
      ),
    );
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      const output = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return await (output.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
    } catch (error) {
      if (error instanceof NoSuchKey || isNotFound(error)) return undefined;
      throw failure('GetObject', error);
    }
  }

  async head(key: string) {
    try {
      const output = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { bytes: output.ContentLength ?? 0, contentType: output.ContentType };
    } catch (error) {
      if (error instanceof NotFound || isNotFound(error)) return undefined;
      throw failure('HeadObject', error);
    }
  }

  async copy(from: string, to: string): Promise<void> {
    await this.call('CopyObject', () =>
      this.client.send(
        // Keys are [A-Za-z0-9/_.-] (./attachment-keys.ts): the copy source needs no encoding.
        new CopyObjectCommand({ Bucket: this.bucket, Key: to, CopySource: `${this.bucket}/${from}` }),
      ),
    );
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (let start = 0; start < keys.length; start += deleteBatch) {
      const batch = keys.slice(start, start + deleteBatch);
      const output = await this.call('DeleteObjects', () =>
        this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
        ),
      );
      const failed = (output.Errors ?? []).filter((error) => error.Code !== 'NoSuchKey');
      if (failed.length > 0) {
        throw new AttachmentStorageError(
          `S3 did not delete ${failed.length} objects (${failed[0]?.Code}: ${failed[0]?.Message}).`,
        );
      }
    }
  }

  presignGet(key: string, expiresInSeconds: number): Promise<string> {
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: key }), {
      expiresIn: expiresInSeconds,
    });
  }

  async presignPut(
    key: string,
    upload: { readonly bytes: number; readonly contentType: string },
    expiresInSeconds: number,
  ) {
    const url = await getSignedUrl(
      this.client,
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        ContentType: upload.contentType,
        ContentLength: upload.bytes,
      }),
      // Signed, so S3 refuses a PUT of another size or type.
      { expiresIn: expiresInSeconds, signableHeaders: new Set(['content-type', 'content-length']) },
    );
    return { url, headers: { 'Content-Type': upload.contentType } };
  }

  private async call<T>(operation: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw failure(operation, error);
    }
  }
}

function isNotFound(error: unknown): boolean {
  return error instanceof S3ServiceException && error.$metadata.httpStatusCode === 404;
}

function failure(operation: string, error: unknown): AttachmentStorageError {
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new AttachmentStorageError(`S3 ${operation} failed (${detail}).`, { cause: error });
}
