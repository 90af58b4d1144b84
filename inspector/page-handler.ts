import { readFileSync } from 'node:fs';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { inspectorDocument, inspectorFileName, inspectorHeaders } from './inspector-document.js';

/**
 * GET /inspector on a deployed stack (the construct's `inspector: true`): the page built next to this bundle at
 * synth (./build.ts), read once per cold start. The page itself is public and holds nothing; its requests carry
 * the reader's bearer token to the API's authorizer like any other client's.
 */
const page = inspectorDocument(
  readFileSync(new URL(`./${inspectorFileName}`, import.meta.url), 'utf8'),
  'bearer',
  // Set by the construct when the stack keeps attachments: the bucket's origin, for images by presigned URL.
  process.env.ATTACHMENTS_ORIGIN,
);

export const handler = async (): Promise<APIGatewayProxyStructuredResultV2> => ({
  statusCode: 200,
  headers: { ...inspectorHeaders },
  body: page,
});
