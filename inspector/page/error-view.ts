import { AgentMemoryError } from '../../client/errors.js';
import { h, prettyJson } from './element.js';

/**
 * An error as a person reads it: what failed, the contract's status and code, its message, its other fields
 * (`currentVersion`, ...) and the request id to quote. API Gateway's own refusals (deployed: 401/403 from the
 * authorizer, 429 from throttling) carry no contract body, so they get a hint instead.
 */
export function renderError(what: string, error: unknown, retry?: () => void): HTMLElement {
  const box = h('div', { class: 'error', role: 'alert' });
  if (error instanceof AgentMemoryError) {
    const status = error.status === 0 ? 'no answer' : String(error.status);
    box.append(
      h('p', { class: 'error-title' }, `${what} failed: `, h('code', {}, `${status} ${error.code}`)),
      h('p', {}, error.message),
    );
    const hint = hintFor(error);
    if (hint) box.append(h('p', { class: 'hint' }, hint));
    if (Object.keys(error.details).length > 0)
      box.append(h('pre', { class: 'json' }, prettyJson(error.details)));
    if (error.requestId)
      box.append(h('p', { class: 'request-id' }, 'Request id: ', h('code', {}, error.requestId)));
  } else {
    box.append(
      h('p', { class: 'error-title' }, `${what} failed.`),
      h('p', {}, error instanceof Error ? error.message : String(error)),
    );
  }
  if (retry) box.append(h('button', { type: 'button', onclick: retry }, 'Try again'));
  return box;
}

function hintFor(error: AgentMemoryError): string | undefined {
  switch (error.code) {
    case 'unauthorized':
      return 'The API did not accept the credentials: paste a valid, unexpired token (Connection, above).';
    case 'forbidden':
      return 'The API knows the caller but refuses it: check the token, and that it carries the tenant claim.';
    case 'network_error':
    case 'timeout':
      return 'The server did not answer. Is it running (npm start), and is this page served by it?';
    case 'throttled':
    case 'unavailable':
      return 'The server asked to retry later.';
    default:
      return undefined;
  }
}
