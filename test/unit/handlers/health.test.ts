import { describe, expect, it, vi } from 'vitest';
import { apiEvent, jsonBody } from '../../support/api-gateway-events.js';

// Only the conversation handlers need a table: the health function is deployed without one.
vi.hoisted(() => {
  delete process.env.TABLE_NAME;
});

const { handler } = await import('../../../lambda/http/handlers/health.js');

describe('health handler', () => {
  it('answers 200 {"status":"ok"} without an authorizer and without any table configuration', async () => {
    // Prepare
    const event = apiEvent({ method: 'GET', path: '/health', authorizer: null });

    // Act
    const response = await handler(event);

    // Assess
    expect(response.statusCode).toBe(200);
    expect(response.headers).toEqual({ 'Content-Type': 'application/json' });
    expect(jsonBody(response)).toEqual({ status: 'ok' });
  });
});
