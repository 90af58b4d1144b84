import type { AttachmentStorage } from './attachment-storage.js';
import type { S3AttachmentStorage } from './s3-attachment-storage.js';

/**
 * S3AttachmentStorage, loaded on first use: a function whose requests carry no attachment never loads the S3 SDK
 * (a bundle holds it, but evaluating it would add to every cold start). `endpoint`: an S3-compatible server.
 */
export class LazyS3AttachmentStorage implements AttachmentStorage {
  private loaded: Promise<S3AttachmentStorage> | undefined;

  constructor(
    readonly bucket: string,
    private readonly endpoint?: string,
  ) {}

  private storage(): Promise<S3AttachmentStorage> {
    this.loaded ??= import('./s3-attachment-storage.js').then(
      ({ S3AttachmentStorage, storeS3Client }) =>
        new S3AttachmentStorage(
          storeS3Client(this.endpoint === undefined ? {} : { endpoint: this.endpoint }),
          this.bucket,
        ),
    );
    return this.loaded;
  }

  async put(key: string, bytes: Uint8Array, contentType: string) {
    return (await this.storage()).put(key, bytes, contentType);
  }
  async get(key: string) {
    return (await this.storage()).get(key);
  }
  async head(key: string) {
    return (await this.storage()).head(key);
  }
  async copy(from: string, to: string) {
    return (await this.storage()).copy(from, to);
  }
  async delete(keys: readonly string[]) {
    return (await this.storage()).delete(keys);
  }
  async presignGet(key: string, expiresInSeconds: number) {
    return (await this.storage()).presignGet(key, expiresInSeconds);
  }
  async presignPut(
    key: string,
    upload: { readonly bytes: number; readonly contentType: string },
    expiresInSeconds: number,
  ) {
    return (await this.storage()).presignPut(key, upload, expiresInSeconds);
  }
}
