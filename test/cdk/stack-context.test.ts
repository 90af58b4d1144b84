import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { synthStack } from './synth.js';

const jwt = { auth: 'jwt', jwtIssuer: 'https://issuer.example.com/', jwtAudience: 'agents' };

describe('AgentMemoryStack context', () => {
  describe('auth', () => {
    it('defaults to IAM', () => {
      // Act
      const { template } = synthStack();
      // Assess
      template.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 0);
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: '$default',
        AuthorizationType: 'AWS_IAM',
      });
    });

    it('reads the JWT issuer, comma-separated audiences and the default tenant claim', () => {
      // Act
      const { template } = synthStack({ ...jwt, jwtAudience: 'agents, dashboards' });
      // Assess
      template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
        JwtConfiguration: { Issuer: 'https://issuer.example.com/', Audience: ['agents', 'dashboards'] },
      });
      template.allResourcesProperties('AWS::Lambda::Function', {
        Environment: { Variables: Match.objectLike({ TENANT_CLAIM: 'sub' }) },
      });
    });

    it('accepts a JSON array of audiences from cdk.json', () => {
      const { template } = synthStack({ ...jwt, jwtAudience: ['a', 'b'] });
      template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
        JwtConfiguration: Match.objectLike({ Audience: ['a', 'b'] }),
      });
    });

    it.each([
      [{ auth: 'cognito' }, /Context 'auth': expected 'iam' or 'jwt', got "cognito"/],
      [{ auth: 'jwt' }, /Context 'jwtIssuer': expected the token issuer, an https:\/\/ URL/],
      [
        { ...jwt, jwtIssuer: 'http://issuer.example.com' },
        /Context 'jwtIssuer'.*got "http:\/\/issuer.example.com"/,
      ],
      [{ auth: 'jwt', jwtIssuer: jwt.jwtIssuer }, /Context 'jwtAudience': expected one or more audiences/],
      [{ ...jwt, jwtAudience: 'agents,,x' }, /Context 'jwtAudience'/],
      [{ ...jwt, jwtAudience: [] }, /Context 'jwtAudience'/],
      [{ ...jwt, tenantClaim: 'tenant id' }, /Context 'tenantClaim': expected a claim name/],
      [{ jwtIssuer: jwt.jwtIssuer }, /Context 'jwtIssuer' only apply with -c auth=jwt/],
      [{ auth: 'iam', tenantClaim: 'sub' }, /Context 'tenantClaim' only apply with -c auth=jwt/],
    ])('rejects %j', (context, message) => {
      expect(() => synthStack(context)).toThrow(message);
    });
  });

  describe('retention', () => {
    it.each([['30'], [30]])('turns retentionDays=%j into TTL_SECONDS for every function', (retentionDays) => {
      const { template } = synthStack({ retentionDays });
      template.allResourcesProperties('AWS::Lambda::Function', {
        Environment: { Variables: Match.objectLike({ TTL_SECONDS: '2592000' }) },
      });
    });

    it.each([['0'], ['-1'], ['1.5'], ['thirty'], [true]])('rejects retentionDays=%j', (retentionDays) => {
      expect(() => synthStack({ retentionDays })).toThrow(
        /Context 'retentionDays': expected a whole number of days, at least 1/,
      );
    });

    it('sets the log retention of every log group from logRetentionDays', () => {
      const { template } = synthStack({ logRetentionDays: '7' });
      template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
    });

    it('rejects a log retention CloudWatch does not offer', () => {
      expect(() => synthStack({ logRetentionDays: '8' })).toThrow(
        /Context 'logRetentionDays': expected one of CloudWatch's retentions \(1, 3, 5, 7,/,
      );
    });
  });
});
