import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import type { APIGatewayTokenAuthorizerEvent } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';

vi.hoisted(() => {
  process.env.JWT_ISSUER = 'https://issuer.example.com';
  process.env.JWT_AUDIENCE = 'agents, other-app';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

const { jwtAuthorizer } = await import('../../../lambda/http/authorizers/jwt-authorizer.js');

const issuer = 'https://issuer.example.com';
const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...keys.publicKey.export({ format: 'jwk' }), kid: 'key-1', alg: 'RS256', use: 'sig' };
const authorizer = jwtAuthorizer({
  issuer,
  audience: ['agents'],
  jwksUri: `${issuer}/keys`,
  jwks: { keys: [jwk as never] },
});
const methodArn = 'arn:aws:execute-api:eu-west-1:123456789012:api/stream/POST/v1/conversations/c/turns';

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A real RS256 JWT, signed with `key`. */
function token(claims: Record<string, unknown>, key: KeyObject = keys.privateKey): string {
  const now = Math.floor(Date.now() / 1000);
  const unsigned = `${base64url({ alg: 'RS256', kid: 'key-1', typ: 'JWT' })}.${base64url({
    iss: issuer,
    sub: 'user-1',
    iat: now,
    exp: now + 300,
    ...claims,
  })}`;
  return `${unsigned}.${sign('RSA-SHA256', Buffer.from(unsigned), key).toString('base64url')}`;
}

const authorize = (authorizationToken: string) =>
  authorizer({ type: 'TOKEN', authorizationToken, methodArn } as APIGatewayTokenAuthorizerEvent);

describe('JWT authorizer of the streaming REST API', () => {
  it('allows a valid token for this method and passes its verified claims on', async () => {
    // Act
    const result = await authorize(`Bearer ${token({ aud: 'agents', 'custom:tenant': 'acme' })}`);

    // Assess
    expect(result.principalId).toBe('user-1');
    expect(result.policyDocument.Statement).toEqual([
      { Action: 'execute-api:Invoke', Effect: 'Allow', Resource: methodArn },
    ]);
    expect(JSON.parse(String(result.context?.claims))).toMatchObject({
      sub: 'user-1',
      'custom:tenant': 'acme',
    });
  });

  it('accepts client_id in place of aud (Cognito access tokens), as the HTTP API does', async () => {
    const result = await authorize(`Bearer ${token({ client_id: 'agents', token_use: 'access' })}`);
    expect(result.principalId).toBe('user-1');
  });

  it.each([
    ['another audience', () => `Bearer ${token({ aud: 'someone-else' })}`],
    ['another issuer', () => `Bearer ${token({ aud: 'agents', iss: 'https://evil.example.com' })}`],
    [
      'an expired token',
      () => `Bearer ${token({ aud: 'agents', exp: Math.floor(Date.now() / 1000) - 120 })}`,
    ],
    ['a signature by another key', () => `Bearer ${token({ aud: 'agents' }, stranger.privateKey)}`],
    ['no bearer token', () => 'Basic abc'],
  ])('refuses %s with API Gateway’s Unauthorized', async (_, header) => {
    await expect(authorize(header())).rejects.toThrow(/^Unauthorized$/);
  });
});
