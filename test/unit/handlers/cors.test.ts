import { describe, expect, it } from 'vitest';
import { corsHeaders, readCorsConfig } from '../../../lambda/http/pipeline/cors.js';
import { ConfigurationError } from '../../../lambda/validation/environment.js';

describe('CORS of the streaming API', () => {
  it('is off without CORS_ALLOW_ORIGINS, and refuses a malformed setting with its name', () => {
    expect(readCorsConfig({})).toBeUndefined();
    expect(corsHeaders(undefined, 'https://app.example.com')).toEqual({});
    expect(() => readCorsConfig({ CORS_ALLOW_ORIGINS: 'x', CORS_ALLOW_CREDENTIALS: 'yes' })).toThrow(
      ConfigurationError,
    );
    expect(() => readCorsConfig({ CORS_ALLOW_ORIGINS: 'x', CORS_ALLOW_CREDENTIALS: 'yes' })).toThrow(
      /CORS_ALLOW_CREDENTIALS/,
    );
  });

  it('answers an allowed origin with itself, and varies on Origin', () => {
    // Prepare
    const cors = readCorsConfig({
      CORS_ALLOW_ORIGINS: 'https://a.example, https://b.example',
      CORS_EXPOSE_HEADERS: 'Idempotent-Replayed',
    });

    // Act / Assess
    expect(corsHeaders(cors, 'https://b.example')).toEqual({
      'Access-Control-Allow-Origin': 'https://b.example',
      Vary: 'Origin',
      'Access-Control-Expose-Headers': 'Idempotent-Replayed',
    });
    expect(corsHeaders(cors, 'https://evil.example')).toEqual({});
    expect(corsHeaders(cors, undefined)).toEqual({});
  });

  it('answers any origin with * unless credentials are allowed (then with the origin, as browsers require)', () => {
    expect(corsHeaders(readCorsConfig({ CORS_ALLOW_ORIGINS: '*' }), 'https://x.example')).toEqual({
      'Access-Control-Allow-Origin': '*',
    });
    expect(
      corsHeaders(
        readCorsConfig({ CORS_ALLOW_ORIGINS: '*', CORS_ALLOW_CREDENTIALS: 'true' }),
        'https://x.example',
      ),
    ).toEqual({
      'Access-Control-Allow-Origin': 'https://x.example',
      Vary: 'Origin',
      'Access-Control-Allow-Credentials': 'true',
    });
  });
});
