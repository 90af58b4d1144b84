import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { inject } from 'vitest';
import { S3AttachmentStorage, storeS3Client } from '../../lambda/memory/attachments/s3-attachment-storage.js';
import { localClientConfig } from '../../local/dynamodb-local.js';

/** An S3 client on the test setup's s3rver, as the store builds one for a custom endpoint. */
export function testS3Client(endpoint = inject('s3Endpoint')): S3Client {
  const { region, credentials } = localClientConfig(endpoint);
  return storeS3Client({ endpoint, region, credentials });
}

/** The store's attachment storage on the test setup's s3rver and bucket. */
export function testAttachmentStorage(client = testS3Client()): S3AttachmentStorage {
  return new S3AttachmentStorage(client, inject('s3Bucket'));
}

/** Every key in the bucket under `prefix` (all pages). */
export async function listKeys(client: S3Client, bucket: string, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    keys.push(...(page.Contents ?? []).map((object) => object.Key as string));
    token = page.NextContinuationToken;
  } while (token);
  return keys;
}
