import { HttpError } from '../pipeline/http-errors.js';
import { httpHandler } from '../pipeline/http-handler.js';
import { findRoute } from '../pipeline/route-matching.js';

/** Every request no route took (API Gateway's `$default`, the local server's fallback): 405 or 404. */
export const handler = httpHandler('NotFound', async ({ event }) => {
  const { method } = event.requestContext.http;
  const match = findRoute(method, event.rawPath);
  if (match.kind === 'method_not_allowed') {
    throw new HttpError(
      'method_not_allowed',
      `${method} is not allowed here; use ${match.allow.join(' or ')}.`,
      {
        Allow: match.allow.join(', '),
      },
    );
  }
  throw new HttpError('not_found', `No route matches ${method} ${event.rawPath}.`);
});
