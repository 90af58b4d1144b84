import type { HealthResponse } from '../contract/response-schemas.js';
import { httpHandler } from '../pipeline/http-handler.js';
import { jsonResponse } from '../pipeline/responses.js';

/** GET /health: needs no table, so the function has no access to it. */
export const handler = httpHandler('Health', async () =>
  jsonResponse(200, { status: 'ok' } satisfies HealthResponse),
);
