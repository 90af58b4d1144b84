import type { RequestListener } from 'node:http';
import { buildInspector } from '../inspector/build.js';
import { inspectorDocument, inspectorHeaders, inspectorPath } from '../inspector/inspector-document.js';

/**
 * Serves the memory inspector at GET /inspector in front of the API (every other request goes to `api`). The page
 * is built on its first request (esbuild, a few hundred ms) and kept; its requests carry X-Tenant-Id, as the local
 * API takes the tenant from that header.
 */
export function withInspectorPage(
  api: RequestListener,
  log: (line: string) => void,
  logError: (line: string, error: unknown) => void,
  attachmentsEndpoint?: string,
): RequestListener {
  let page: Promise<string> | undefined;
  return (request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (
      (request.method !== 'GET' && request.method !== 'HEAD') ||
      (path !== inspectorPath && path !== `${inspectorPath}/`)
    ) {
      api(request, response);
      return;
    }
    const started = performance.now();
    page ??= buildInspector().then(({ html }) =>
      inspectorDocument(html, 'tenant-header', attachmentsEndpoint && new URL(attachmentsEndpoint).origin),
    );
    page.then(
      (html) => {
        response.writeHead(200, { ...inspectorHeaders, 'Content-Length': Buffer.byteLength(html) });
        response.end(request.method === 'HEAD' ? undefined : html);
        log(`${request.method} ${path} 200 ${Math.round(performance.now() - started)}ms (inspector)`);
      },
      (error: unknown) => {
        page = undefined;
        logError('The inspector page could not be built', error);
        response.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
        response.end('The inspector page could not be built; the server log says why.\n');
      },
    );
  };
}
