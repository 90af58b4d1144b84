import type { SignatureV4 } from '@smithy/signature-v4';
import type { RequestAuth } from './request-auth.js';

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}

/** Returns current credentials; called for every signature, so it should cache (the SDK's providers do). */
export type AwsCredentialsProvider = () => Promise<AwsCredentials>;

export interface SigV4AuthOptions {
  /** The API's region. @default process.env.AWS_REGION */
  readonly region?: string;
  /**
   * Credentials, or a provider of them.
   * @default the AWS SDK's default chain (`@aws-sdk/credential-provider-node`'s defaultProvider: environment,
   * SSO, shared files, container and instance metadata), loaded on first use
   */
  readonly credentials?: AwsCredentials | AwsCredentialsProvider;
  /** @default 'execute-api' (API Gateway with an IAM authorizer) */
  readonly service?: string;
}

/**
 * AWS Signature Version 4 for deployments with the IAM authorizer: signs the method, path, query, headers and
 * body of every attempt (so a retry is never refused as a stale or replayed signature).
 */
export function sigV4Auth(options: SigV4AuthOptions = {}): RequestAuth {
  const region = options.region ?? process.env.AWS_REGION;
  if (!region) throw new TypeError('sigV4Auth needs a region (the region option or AWS_REGION).');
  const credentials = options.credentials ?? defaultCredentials();
  // Imported on first use: the client's other users never load the signing libraries.
  let signer: Promise<SignatureV4> | undefined;
  const createSigner = async () => {
    const [{ SignatureV4 }, { Sha256 }] = await Promise.all([
      import('@smithy/signature-v4'),
      import('@aws-crypto/sha256-js'),
    ]);
    return new SignatureV4({
      service: options.service ?? 'execute-api',
      region,
      credentials,
      sha256: Sha256,
    });
  };
  return {
    async headersFor(request) {
      const { url } = request;
      signer ??= createSigner();
      const signed = await (await signer).sign({
        method: request.method,
        protocol: url.protocol,
        hostname: url.hostname,
        ...(url.port === '' ? {} : { port: Number(url.port) }),
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        // `host` is signed (SigV4 requires it) but not sent by us: fetch sets it to the same url.host.
        headers: { ...request.headers, host: url.host },
        ...(request.body === undefined ? {} : { body: request.body }),
      });
      const { host: _host, ...headers } = signed.headers;
      return headers;
    },
  };
}

/** The SDK's default chain, imported on first use so that non-IAM users never load it. */
function defaultCredentials(): AwsCredentialsProvider {
  let provider: Promise<AwsCredentialsProvider> | undefined;
  return async () => {
    provider ??= import('@aws-sdk/credential-provider-node').then(({ defaultProvider }) => defaultProvider());
    return (await provider)();
  };
}
