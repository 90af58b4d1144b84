import { afterEach, describe, expect, it, vi } from 'vitest';
import { apiEvent, conversationEvent } from '../../support/api-gateway-events.js';
import { appended, stored, stubStore } from './store-stub.js';

const appendEvent = () =>
  conversationEvent('POST', 'conv-1', {
    suffix: '/messages',
    body: { messages: [{ role: 'user', content: 'hi' }] },
  });

/** Fresh handler and Powertools modules, for the environment the test has set, on a store that appends. */
async function loadModules() {
  vi.resetModules();
  const observability = await import('../../../lambda/http/runtime/observability.js');
  const append = await import('../../../lambda/http/handlers/append-messages.js');
  const health = await import('../../../lambda/http/handlers/health.js');
  const { store } = await import('../../../lambda/http/runtime/store.js');
  stubStore(store).append.mockResolvedValue(appended('conv-1', [stored({ role: 'user', content: 'hi' }, 1)]));
  return { ...observability, append: append.handler, health: health.handler };
}

describe('observability', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  it('logs one line per request with route, requestId, tenant, conversationId, version, status and duration', async () => {
    // Prepare
    const { append, logger } = await loadModules();
    const info = vi.spyOn(logger, 'info');

    // Act
    await append(appendEvent());

    // Assess
    expect(info).toHaveBeenCalledOnce();
    expect(info).toHaveBeenCalledWith('request handled', {
      route: 'AppendMessages',
      requestId: 'request-1',
      tenant: 'tenant-a',
      conversationId: 'conv-1',
      version: 1,
      replayed: false,
      messageCount: 1,
      statusCode: 201,
      durationMs: expect.any(Number),
    });
  });

  it('logs a 4xx with its message at info level, not as an error', async () => {
    // Prepare
    const { append, logger } = await loadModules();
    const info = vi.spyOn(logger, 'info');
    const error = vi.spyOn(logger, 'error');

    // Act
    await append(conversationEvent('POST', 'conv-1', { suffix: '/messages', body: '{' }));

    // Assess
    expect(error).not.toHaveBeenCalled();
    expect(info).toHaveBeenCalledWith(
      'request handled',
      expect.objectContaining({ statusCode: 400, errorMessage: expect.stringMatching(/not valid JSON/) }),
    );
  });

  it('drops the metrics outside Lambda instead of printing them', async () => {
    // Prepare
    vi.stubEnv('AWS_LAMBDA_FUNCTION_NAME', undefined);
    const { append, metrics } = await loadModules();
    const publish = vi.spyOn(metrics, 'publishStoredMetrics');

    // Act
    await append(appendEvent());

    // Assess
    expect(publish).not.toHaveBeenCalled();
    expect(metrics.hasStoredMetrics()).toBe(false);
  });

  it('publishes the metrics in Lambda, and nothing for a request without metrics', async () => {
    // Prepare
    vi.stubEnv('AWS_LAMBDA_FUNCTION_NAME', 'agent-memory-append');
    const { append, health, metrics } = await loadModules();
    const publish = vi.spyOn(metrics, 'publishStoredMetrics').mockReturnThis();
    const coldStart = vi.spyOn(metrics, 'captureColdStartMetric').mockReturnValue();

    // Act
    await health(apiEvent({ path: '/health', authorizer: null }));
    const publishedForHealth = publish.mock.calls.length;
    await append(appendEvent());

    // Assess
    expect(publishedForHealth).toBe(0);
    expect(publish).toHaveBeenCalledOnce();
    expect(coldStart).toHaveBeenCalledWith('agent-memory-append');
  });
});
