import { afterEach, describe, expect, it, vi } from 'vitest';
import { readConfig } from '../../../lambda/http/contract/environment.js';
import { ConfigurationError } from '../../../lambda/validation/environment.js';

describe('readConfig', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  it('reads the table, the retention and the tenant claim', () => {
    // Act
    const config = readConfig({ TABLE_NAME: 'memory', TTL_SECONDS: '86400', TENANT_CLAIM: 'custom:tenant' });

    // Assess
    expect(config).toEqual({ tableName: 'memory', ttlSeconds: 86400, tenantClaim: 'custom:tenant' });
  });

  it('defaults the tenant claim to sub and keeps conversations forever without TTL_SECONDS', () => {
    // Act
    const config = readConfig({ TABLE_NAME: 'memory' });

    // Assess
    expect(config).toEqual({ tableName: 'memory', ttlSeconds: undefined, tenantClaim: 'sub' });
  });

  it.each([
    [{}, /TABLE_NAME: is required/],
    [{ TABLE_NAME: '' }, /TABLE_NAME: must not be empty/],
    [{ TABLE_NAME: 't', TTL_SECONDS: '0' }, /TTL_SECONDS: must be a positive integer/],
    [{ TABLE_NAME: 't', TTL_SECONDS: '1.5' }, /TTL_SECONDS: must be a positive integer/],
    [{ TABLE_NAME: 't', TTL_SECONDS: 'a day' }, /TTL_SECONDS: must be a positive integer/],
    [{ TABLE_NAME: 't', TENANT_CLAIM: '' }, /TENANT_CLAIM: must not be empty/],
  ])('fails naming the variable for %o', (environment, message) => {
    // Act
    const read = () => readConfig(environment);

    // Assess
    expect(read).toThrow(ConfigurationError);
    expect(read).toThrow(message);
  });

  it('fails a conversation handler at import (the cold start) when TABLE_NAME is missing', async () => {
    // Prepare
    vi.stubEnv('TABLE_NAME', undefined);

    // Act
    const load = import('../../../lambda/http/handlers/load-messages.js');

    // Assess
    await expect(load).rejects.toThrow('Invalid environment: TABLE_NAME: is required.');
  });
});
