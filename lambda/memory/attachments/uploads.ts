import { partitionOf } from '../arguments.js';
import { InvalidRequestError } from '../errors.js';
import { limits } from '../message.js';
import type { StoreContext } from '../store-context.js';
import { newUploadId, uploadKey } from './attachment-keys.js';
import { storageUnavailable } from './markers.js';

/** What a caller declares before uploading a file. */
export interface UploadRequest {
  /** The file's exact size. */
  readonly bytes: number;
  /** Its media type, e.g. `application/pdf`; the PUT must send it as Content-Type. */
  readonly mediaType: string;
  readonly filename?: string;
}

/** Where and how to upload it, and the id a message then references. */
export interface UploadTicket {
  readonly uploadId: string;
  readonly method: 'PUT';
  readonly url: string;
  /** Send these with the PUT (the URL is signed for them and for the declared size). */
  readonly headers: Readonly<Record<string, string>>;
  /** The URL works until then; the upload waits a day for a message to use it. */
  readonly expiresAt: string;
}

const maxUploadBytes = limits.uploadBytes;

/** ConversationStore.createUpload: validates the declaration, presigns a PUT under the tenant and conversation. */
export async function createUpload(
  store: StoreContext,
  tenant: string,
  conversationId: string,
  upload: UploadRequest,
): Promise<UploadTicket> {
  partitionOf(tenant, conversationId);
  const settings = store.attachments;
  if (settings === undefined) {
    throw new InvalidRequestError('This deployment keeps no attachments, so it takes no uploads.');
  }
  const { bytes, mediaType, filename } = upload;
  if (!Number.isSafeInteger(bytes) || bytes < 1 || bytes > maxUploadBytes) {
    throw new InvalidRequestError(`bytes must be an integer from 1 to ${maxUploadBytes} (5 GiB).`);
  }
  if (typeof mediaType !== 'string' || !/^[\w.+-]{1,127}\/[\w.+-]{1,127}$/.test(mediaType)) {
    throw new InvalidRequestError('mediaType must be a media type such as application/pdf.');
  }
  if (filename !== undefined && !isFileName(filename)) {
    throw new InvalidRequestError(
      'filename must be 1-255 characters, without control characters or slashes.',
    );
  }
  const declared = newUploadId({ bytes, mediaType, ...(filename === undefined ? {} : { filename }) });
  const key = uploadKey(tenant, conversationId, declared.nonce);
  const signed = await settings.storage
    .presignPut(key, { bytes, contentType: mediaType }, settings.urlExpiresSeconds)
    .catch((error: unknown) => {
      throw storageUnavailable(error);
    });
  return {
    uploadId: declared.id,
    method: 'PUT',
    url: signed.url,
    headers: signed.headers,
    expiresAt: new Date(store.now() + settings.urlExpiresSeconds * 1000).toISOString(),
  };
}

function isFileName(name: unknown): boolean {
  return (
    typeof name === 'string' &&
    name.length >= 1 &&
    name.length <= 255 &&
    ![...name].some((char) => char.charCodeAt(0) < 32 || char === '/' || char === '\\')
  );
}
