import { describe, expect, it } from 'vitest';
import { handler } from '../../../lambda/http/handlers/not-found.js';
import { apiEvent, jsonBody } from '../../support/api-gateway-events.js';

describe('notFound handler', () => {
  it.each([
    ['GET', '/'],
    ['GET', '/v2/conversations/c1'],
    ['GET', '/v1/conversations/c1/messages/'],
    ['GET', '/v1/conversations//messages'],
    ['POST', '/v1/conversations/c1/turns'],
  ])('answers 404 not_found for %s %s', async (method, path) => {
    // Act
    const response = await handler(apiEvent({ method, path, authorizer: null }));

    // Assess
    expect(response.statusCode).toBe(404);
    expect(jsonBody(response)).toEqual({
      error: { code: 'not_found', message: `No route matches ${method} ${path}.` },
    });
  });

  it.each([
    ['PUT', '/v1/conversations/c1/messages', 'GET, POST'],
    ['DELETE', '/v1/conversations/c1/messages', 'GET, POST'],
    ['POST', '/v1/conversations/user-42:ticket-7', 'DELETE, GET, PATCH'],
    ['PUT', '/v1/conversations/c1', 'DELETE, GET, PATCH'],
    ['POST', '/v1/conversations', 'GET'],
    ['POST', '/health', 'GET'],
  ])('answers 405 method_not_allowed for %s %s with Allow: %s', async (method, path, allow) => {
    // Act
    const response = await handler(apiEvent({ method, path, authorizer: null }));

    // Assess
    expect(response.statusCode).toBe(405);
    expect(response.headers).toEqual({ 'Content-Type': 'application/json', Allow: allow });
    expect(jsonBody(response).error.code).toBe('method_not_allowed');
  });
});
