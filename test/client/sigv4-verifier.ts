import { createHash, createHmac } from 'node:crypto';
import type { ReceivedRequest } from './stub-api-server.js';

/**
 * An independent SigV4 check (AWS's documented algorithm, written out with node:crypto), so the client's
 * signature is verified by something other than the library that made it.
 */
export function verifySigV4(
  request: ReceivedRequest,
  secretAccessKey: string,
): { valid: boolean; accessKeyId: string; scope: string; signedHeaders: string[] } {
  const authorization = String(request.headers.authorization ?? '');
  const match =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(
      authorization,
    );
  if (!match) throw new Error(`Not a SigV4 Authorization header: ${authorization}`);
  const [, accessKeyId, date, region, service, signedHeaderList, signature] = match as unknown as string[];
  const signedHeaders = (signedHeaderList as string).split(';');
  const amzDate = String(request.headers['x-amz-date']);
  const url = new URL(request.url, 'http://stub');

  const canonicalUri = url.pathname
    .split('/')
    .map((segment) => rfc3986(segment))
    .join('/');
  const canonicalQuery = [...url.searchParams.entries()]
    .map(([name, value]) => [rfc3986(name), rfc3986(value)])
    .sort(([a], [b]) => ((a as string) < (b as string) ? -1 : 1))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
  const canonicalHeaders = signedHeaders
    .map(
      (name) =>
        `${name}:${String(request.headers[name] ?? '')
          .trim()
          .replace(/\s+/g, ' ')}\n`,
    )
    .join('');
  const payloadHash = createHash('sha256').update(request.body).digest('hex');
  const canonicalRequest = [
    request.method,
    canonicalUri,
    canonicalQuery,
    canonicalHeaders,
    signedHeaders.join(';'),
    payloadHash,
  ].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = [
    'AWS4-HMAC-SHA256',
    amzDate,
    scope,
    createHash('sha256').update(canonicalRequest).digest('hex'),
  ].join('\n');
  const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();
  const signingKey = hmac(
    hmac(hmac(hmac(`AWS4${secretAccessKey}`, date as string), region as string), service as string),
    'aws4_request',
  );
  const expected = createHmac('sha256', signingKey).update(stringToSign).digest('hex');
  return { valid: expected === signature, accessKeyId: accessKeyId as string, scope, signedHeaders };
}

function rfc3986(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}
