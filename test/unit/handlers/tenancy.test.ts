import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { keys } from '../../../lambda/memory/table.js';
import {
  conversationEvent,
  iamAuthorizer,
  jsonBody,
  jwtAuthorizer,
} from '../../support/api-gateway-events.js';

vi.hoisted(() => {
  process.env.TABLE_NAME = 'memory-test';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

const { handler } = await import('../../../lambda/http/handlers/get-conversation.js');

const dynamo = mockClient(DynamoDBDocumentClient);

/** The partition key the handler read, i.e. the tenant it resolved. */
const partitionRead = () => dynamo.commandCalls(GetCommand)[0]?.args[0].input.Key?.pk;

const getAs = (authorizer: unknown, headers?: Record<string, string>) =>
  handler(conversationEvent('GET', 'conv-1', { authorizer, headers }));

describe('tenancy', () => {
  beforeEach(() => {
    dynamo.reset();
    dynamo.on(GetCommand).resolves({});
  });

  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  describe('JWT authorizer', () => {
    it('takes the tenant from the sub claim and ignores an X-Tenant-Id header', async () => {
      // Act
      await getAs(jwtAuthorizer({ sub: 'tenant-a' }), { 'x-tenant-id': 'tenant-b' });

      // Assess
      expect(partitionRead()).toBe(keys.partition('tenant-a', 'conv-1'));
    });

    it('keeps two tenants with the same conversation id apart', async () => {
      // Act
      await getAs(jwtAuthorizer({ sub: 'tenant-a' }));
      await getAs(jwtAuthorizer({ sub: 'tenant-b' }));

      // Assess
      const partitions = dynamo.commandCalls(GetCommand).map((call) => call.args[0].input.Key?.pk);
      expect(partitions).toEqual([
        keys.partition('tenant-a', 'conv-1'),
        keys.partition('tenant-b', 'conv-1'),
      ]);
    });

    it('accepts a numeric claim as its decimal text', async () => {
      // Act
      await getAs(jwtAuthorizer({ sub: 42 }));

      // Assess
      expect(partitionRead()).toBe(keys.partition('42', 'conv-1'));
    });

    it.each([
      ['missing', {}],
      ['empty', { sub: '' }],
      ['a list', { sub: ['a', 'b'] }],
      ['longer than 512 characters', { sub: 't'.repeat(513) }],
    ])('answers 403 forbidden when the claim is %s', async (_, claims) => {
      // Act
      const response = await getAs(jwtAuthorizer(claims));

      // Assess
      expect(response.statusCode).toBe(403);
      expect(jsonBody(response).error.code).toBe('forbidden');
      expect(dynamo).not.toHaveReceivedAnyCommand();
    });

    it('accepts a tenant of exactly 512 characters', async () => {
      // Act
      const response = await getAs(jwtAuthorizer({ sub: 't'.repeat(512) }));

      // Assess
      expect(response.statusCode).toBe(404);
      expect(partitionRead()).toBe(keys.partition('t'.repeat(512), 'conv-1'));
    });

    it('takes the tenant from the claim TENANT_CLAIM names', async () => {
      // Prepare: a fresh module graph, so that the configuration is read again.
      vi.resetModules();
      vi.stubEnv('TENANT_CLAIM', 'custom:org');
      const fresh = await import('../../../lambda/http/handlers/get-conversation.js');

      // Act
      await fresh.handler(
        conversationEvent('GET', 'conv-1', {
          authorizer: jwtAuthorizer({ sub: 'user-1', 'custom:org': 'org-9' }),
        }),
      );

      // Assess
      expect(partitionRead()).toBe(keys.partition('org-9', 'conv-1'));
    });
  });

  describe('IAM authorizer', () => {
    it('takes the tenant from the IAM user ARN and ignores an X-Tenant-Id header', async () => {
      // Prepare
      const userArn = 'arn:aws:iam::123456789012:user/alice';

      // Act
      await getAs(iamAuthorizer(userArn), { 'x-tenant-id': 'tenant-b' });

      // Assess
      expect(partitionRead()).toBe(keys.partition(userArn, 'conv-1'));
    });

    it('makes every session of an assumed role one tenant: the role', async () => {
      // Act
      await getAs(iamAuthorizer('arn:aws:sts::123456789012:assumed-role/app-role/session-1'));
      await getAs(iamAuthorizer('arn:aws:sts::123456789012:assumed-role/app-role/i-0abc.lambda'));

      // Assess
      const partitions = dynamo.commandCalls(GetCommand).map((call) => call.args[0].input.Key?.pk);
      const role = keys.partition('arn:aws:sts::123456789012:assumed-role/app-role', 'conv-1');
      expect(partitions).toEqual([role, role]);
    });

    it('keeps two roles apart, in any partition', async () => {
      // Act
      await getAs(iamAuthorizer('arn:aws-cn:sts::123456789012:assumed-role/role-a/s'));
      await getAs(iamAuthorizer('arn:aws-cn:sts::123456789012:assumed-role/role-b/s'));

      // Assess
      const partitions = dynamo.commandCalls(GetCommand).map((call) => call.args[0].input.Key?.pk);
      expect(partitions).toEqual([
        keys.partition('arn:aws-cn:sts::123456789012:assumed-role/role-a', 'conv-1'),
        keys.partition('arn:aws-cn:sts::123456789012:assumed-role/role-b', 'conv-1'),
      ]);
    });

    it('gives each Cognito identity pool user a tenant of its own, though they share the role', async () => {
      // Prepare
      const roleSession = 'arn:aws:sts::123456789012:assumed-role/pool-role/CognitoIdentityCredentials';
      const identity = (identityId: string) => ({
        amr: ['authenticated'],
        identityId,
        identityPoolId: 'us-east-1:pool',
      });

      // Act
      await getAs(iamAuthorizer(roleSession, identity('us-east-1:user-1')));
      await getAs(iamAuthorizer(roleSession, identity('us-east-1:user-2')));

      // Assess
      const partitions = dynamo.commandCalls(GetCommand).map((call) => call.args[0].input.Key?.pk);
      expect(partitions).toEqual([
        keys.partition('cognito-identity:us-east-1:user-1', 'conv-1'),
        keys.partition('cognito-identity:us-east-1:user-2', 'conv-1'),
      ]);
    });

    it('answers 403 forbidden without a principal ARN', async () => {
      // Act
      const response = await getAs({ iam: { accountId: '123456789012', userArn: null } });

      // Assess
      expect(response.statusCode).toBe(403);
      expect(dynamo).not.toHaveReceivedAnyCommand();
    });
  });

  it.each([
    ['no authorizer context', null],
    ['an empty authorizer context', {}],
    ['a Lambda authorizer context', { lambda: { tenant: 'tenant-a' } }],
  ])('answers 401 unauthorized for %s, whatever the headers say', async (_, authorizer) => {
    // Act
    const response = await getAs(authorizer, { 'x-tenant-id': 'tenant-a' });

    // Assess
    expect(response.statusCode).toBe(401);
    expect(jsonBody(response)).toEqual({
      error: { code: 'unauthorized', message: 'The request carries no authenticated identity.' },
    });
    expect(dynamo).not.toHaveReceivedAnyCommand();
  });
});
