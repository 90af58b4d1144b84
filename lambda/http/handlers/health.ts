import type { HealthResponse } from '../api-schemas.js';
import { httpHandler } from '../http-handler.js';
import { jsonResponse } from '../responses.js';

/** GET /health: needs no table, so the function has no access to it. */
export const handler = httpHandler('Health', async () =>
  jsonResponse(200, { status: 'ok' } satisfies HealthResponse),
);
