/*
 * Serving the built inspector (./build.ts), the same way from the local server and from the deployed function.
 */

/** The built page's file name, next to the deployed function's bundle. */
export const inspectorFileName = 'inspector.html';

/** Where the page is served, at the root of the API. */
export const inspectorPath = '/inspector';

/** How the page's requests authenticate: the local server's X-Tenant-Id header, or a JWT bearer token. */
export type InspectorAuthMode = 'tenant-header' | 'bearer';

/**
 * The document for one server: the built page with that server's way of authenticating, and the origin its
 * attachments' presigned URLs point to (the bucket), from which it may show images.
 */
export function inspectorDocument(html: string, auth: InspectorAuthMode, attachmentsOrigin?: string): string {
  const withAuth = html.replace(
    '<meta name="agent-memory-auth" content="tenant-header">',
    `<meta name="agent-memory-auth" content="${auth}">`,
  );
  if (attachmentsOrigin === undefined || !/^https?:\/\/[A-Za-z0-9.:-]+$/.test(attachmentsOrigin))
    return withAuth;
  return withAuth.replace('img-src data: blob:', `img-src data: blob: ${attachmentsOrigin}`);
}

/**
 * The page's CSP is in the document (a meta element, next to the hashes it lists); framing can only be refused
 * by a header. The page holds no data: everything it shows is read with the caller's credentials.
 */
export const inspectorHeaders: Readonly<Record<string, string>> = {
  'Content-Type': 'text/html; charset=utf-8',
  'Cache-Control': 'no-cache',
  'Content-Security-Policy': "frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};
