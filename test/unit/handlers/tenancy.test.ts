import { afterEach, describe, expect, it, vi } from 'vitest';
import { HttpError } from '../../../lambda/http/pipeline/http-errors.js';
import { tenantOf } from '../../../lambda/http/pipeline/tenancy.js';
import {
  conversationEvent,
  iamAuthorizer,
  jsonBody,
  jwtAuthorizer,
} from '../../support/api-gateway-events.js';
import { stubStore } from './store-stub.js';

/** The tenant a request of this authorizer context (and these headers) belongs to, with the `sub` claim. */
const tenantFor = (authorizer: unknown, headers?: Record<string, string>, claim = 'sub') =>
  tenantOf(conversationEvent('GET', 'conv-1', { authorizer, headers }), claim);

/** The error tenantOf refuses with. */
const refusal = (authorizer: unknown) => {
  try {
    tenantFor(authorizer);
  } catch (error) {
    return error as HttpError;
  }
  throw new Error('no refusal');
};

describe('tenantOf', () => {
  describe('JWT authorizer', () => {
    it('takes the tenant from the sub claim and ignores an X-Tenant-Id header', () => {
      expect(tenantFor(jwtAuthorizer({ sub: 'tenant-a' }), { 'x-tenant-id': 'tenant-b' })).toBe('tenant-a');
    });

    it('takes the tenant from the claim TENANT_CLAIM names', () => {
      const authorizer = jwtAuthorizer({ sub: 'user-1', 'custom:org': 'org-9' });

      expect(tenantFor(authorizer, {}, 'custom:org')).toBe('org-9');
    });

    it('accepts a numeric claim as its decimal text, and a tenant of exactly 512 characters', () => {
      expect(tenantFor(jwtAuthorizer({ sub: 42 }))).toBe('42');
      expect(tenantFor(jwtAuthorizer({ sub: 't'.repeat(512) }))).toBe('t'.repeat(512));
    });

    it.each([
      ['missing', {}],
      ['empty', { sub: '' }],
      ['a list', { sub: ['a', 'b'] }],
      ['longer than 512 characters', { sub: 't'.repeat(513) }],
    ])('refuses with 403 forbidden when the claim is %s', (_, claims) => {
      expect(refusal(jwtAuthorizer(claims))).toMatchObject({ code: 'forbidden' });
    });
  });

  describe('IAM authorizer', () => {
    it('takes the tenant from the IAM user ARN and ignores an X-Tenant-Id header', () => {
      const userArn = 'arn:aws:iam::123456789012:user/alice';

      expect(tenantFor(iamAuthorizer(userArn), { 'x-tenant-id': 'tenant-b' })).toBe(userArn);
    });

    it('makes every session of an assumed role one tenant (the role), keeping roles apart in any partition', () => {
      const session = (arn: string) => tenantFor(iamAuthorizer(arn));

      expect(session('arn:aws:sts::123456789012:assumed-role/app-role/session-1')).toBe(
        'arn:aws:sts::123456789012:assumed-role/app-role',
      );
      expect(session('arn:aws:sts::123456789012:assumed-role/app-role/i-0abc.lambda')).toBe(
        'arn:aws:sts::123456789012:assumed-role/app-role',
      );
      expect(session('arn:aws-cn:sts::123456789012:assumed-role/role-b/s')).toBe(
        'arn:aws-cn:sts::123456789012:assumed-role/role-b',
      );
    });

    it('gives each Cognito identity pool user a tenant of its own, though they share the role', () => {
      const roleSession = 'arn:aws:sts::123456789012:assumed-role/pool-role/CognitoIdentityCredentials';
      const identity = (identityId: string) => ({ amr: ['authenticated'], identityId, identityPoolId: 'p' });

      expect(tenantFor(iamAuthorizer(roleSession, identity('us-east-1:user-1')))).toBe(
        'cognito-identity:us-east-1:user-1',
      );
      expect(tenantFor(iamAuthorizer(roleSession, identity('us-east-1:user-2')))).toBe(
        'cognito-identity:us-east-1:user-2',
      );
    });

    it('refuses with 403 forbidden without a principal ARN', () => {
      expect(refusal({ iam: { accountId: '123456789012', userArn: null } })).toMatchObject({
        code: 'forbidden',
      });
    });
  });

  it.each([
    ['no authorizer context', null],
    ['an empty authorizer context', {}],
    ['a Lambda authorizer context', { lambda: { tenant: 'tenant-a' } }],
  ])('refuses %s with 401 unauthorized, whatever the headers say', (_, authorizer) => {
    const error = refusal(authorizer);

    expect(error).toBeInstanceOf(HttpError);
    expect(error).toMatchObject({
      code: 'unauthorized',
      message: 'The request carries no authenticated identity.',
    });
  });
});

describe('a conversation handler', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  it('reads the claim TENANT_CLAIM names once, at cold start, and scopes the store call to its tenant', async () => {
    // Prepare: a fresh module graph, so that the configuration is read again.
    vi.resetModules();
    vi.stubEnv('TENANT_CLAIM', 'custom:org');
    const { handler } = await import('../../../lambda/http/handlers/get-conversation.js');
    const { store } = await import('../../../lambda/http/runtime/store.js');
    const stub = stubStore(store);
    stub.getConversation.mockResolvedValue(undefined);

    // Act
    const found = await handler(
      conversationEvent('GET', 'conv-1', {
        authorizer: jwtAuthorizer({ sub: 'user-1', 'custom:org': 'org-9' }),
      }),
    );
    const refused = await handler(
      conversationEvent('GET', 'conv-1', { authorizer: jwtAuthorizer({ sub: 'u' }) }),
    );

    // Assess
    expect(stub.getConversation).toHaveBeenCalledExactlyOnceWith('org-9', 'conv-1');
    expect(found.statusCode).toBe(404);
    expect(refused.statusCode).toBe(403);
    expect(jsonBody(refused).error.message).toBe(
      "The token has no 'custom:org' claim to identify the caller's tenant.",
    );
  });
});
