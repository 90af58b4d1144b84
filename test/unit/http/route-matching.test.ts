import { describe, expect, it } from 'vitest';
import { decodePathParameter, findRoute } from '../../../lambda/http/pipeline/route-matching.js';
import { matchRoute } from '../../../local/api-gateway-event.js';

describe('findRoute, the one route matcher (the 404/405 handler and the local server)', () => {
  it('finds a route and its path parameters as sent, still URL-encoded', () => {
    const match = findRoute('POST', '/v1/conversations/user-42%3Aticket-7/messages');

    expect(match).toMatchObject({
      kind: 'found',
      route: { id: 'AppendMessages' },
      pathParameters: { conversationId: 'user-42%3Aticket-7' },
    });
  });

  it.each([
    ['PUT', '/v1/conversations/c', { kind: 'method_not_allowed', allow: ['DELETE', 'GET', 'PATCH'] }],
    ['GET', '/v1/conversations//messages', { kind: 'not_found' }],
    ['GET', '/v1/conversations/c/messages/', { kind: 'not_found' }],
    ['GET', '/nowhere', { kind: 'not_found' }],
  ])('answers %s %s as %o', (method, path, expected) => {
    expect(findRoute(method, path)).toEqual(expected);
  });

  it('decodes a parameter as API Gateway does, leaving a malformed escape for the schema to refuse', () => {
    expect(decodePathParameter('user-42%3Aticket-7')).toBe('user-42:ticket-7');
    expect(decodePathParameter('%ZZ')).toBe('%ZZ');
  });

  it('is what the local server dispatches with: the route with decoded parameters, or $default', () => {
    expect(matchRoute('GET', '/v1/conversations/a%3Ab')).toMatchObject({
      kind: 'route',
      routeKey: 'GET /v1/conversations/{conversationId}',
      pathParameters: { conversationId: 'a:b' },
    });
    expect(matchRoute('PUT', '/v1/conversations/a')).toMatchObject({
      kind: 'fallback',
      routeKey: '$default',
    });
  });
});
