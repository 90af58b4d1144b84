import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import S3rver from 's3rver';

/*
 * An S3-compatible server in this process (s3rver: objects as files under a folder), for `npm start` and the tests:
 * the store's attachments go through the same AWS SDK S3 client as on AWS, with an endpoint and path-style
 * addresses. s3rver runs no lifecycle rules (the sweep of ../lambda/memory/attachments/markers.ts is what removes
 * orphans, there as on AWS) and knows no flexible checksums (the store keeps its own SHA-256).
 */

const require = createRequire(import.meta.url);

/**
 * Like DynamoDB Local, it takes any credentials: s3rver checks that the access key is one it knows (it does not
 * verify SigV4 signatures), and the handlers sign with the local server's dummy keys or with yours.
 */
function acceptAnyAccessKey(): void {
  const accounts = require('s3rver/lib/models/account') as {
    registry: Map<string, unknown>;
    DUMMY_ACCOUNT: unknown;
  };
  const { registry } = accounts;
  if ((registry as { anyKey?: boolean }).anyKey) return;
  const known = registry.get.bind(registry);
  registry.get = (accessKeyId: string) => known(accessKeyId) ?? accounts.DUMMY_ACCOUNT;
  (registry as { anyKey?: boolean }).anyKey = true;
}

export interface S3Local {
  readonly endpoint: string;
  readonly bucket: string;
  stop(): Promise<void>;
}

/** Starts s3rver on a loopback port (`port` 0: a free one) with `bucket`, keeping objects under `directory`. */
export async function startS3Local(options: {
  readonly directory: string;
  readonly bucket: string;
  readonly port?: number;
}): Promise<S3Local> {
  acceptAnyAccessKey();
  mkdirSync(options.directory, { recursive: true });
  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port ?? 0,
    silent: true,
    directory: options.directory,
    configureBuckets: [{ name: options.bucket, configs: [] }],
  });
  const address = (await server.run()) as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    bucket: options.bucket,
    stop: () => server.close() as Promise<void>,
  };
}
