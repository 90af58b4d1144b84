import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import {
  actionsOf,
  allPolicyStatements,
  logicalIdOf,
  resourcesOf,
  resourcesOfType,
  synthStack,
} from './synth.js';

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

  describe('model', () => {
    const secretArn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:openai-key-AbCdEf';

    const turnVariables = (synth: ReturnType<typeof synthStack>) => {
      const fn = resourcesOfType(synth.template, 'AWS::Lambda::Function')[
        logicalIdOf(synth.stack, 'AgentTurns/Function')
      ];
      return (fn?.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables;
    };

    const actions = (synth: ReturnType<typeof synthStack>, service: string) =>
      allPolicyStatements(synth.template)
        .map(({ statement }) => statement)
        .filter((statement) => actionsOf(statement).some((action) => action.startsWith(`${service}:`)));

    it('defaults to Bedrock with the US Amazon Nova Lite inference profile', () => {
      const synth = synthStack();
      expect(turnVariables(synth)).toMatchObject({
        MODEL_PROVIDER: 'bedrock',
        MODEL_ID: 'us.amazon.nova-lite-v1:0',
      });
    });

    it('reads an inference profile id and its comma-separated Regions', () => {
      // Act
      const synth = synthStack({
        modelId: 'eu.amazon.nova-lite-v1:0',
        modelRegions: 'eu-central-1, eu-west-1',
        modelTimeoutSeconds: '12',
        contextMaxMessages: '30',
        contextMaxTokens: 12000,
      });

      // Assess
      expect(turnVariables(synth)).toMatchObject({
        MODEL_PROVIDER: 'bedrock',
        MODEL_ID: 'eu.amazon.nova-lite-v1:0',
        MODEL_TIMEOUT_MS: '12000',
        CONTEXT_MAX_MESSAGES: '30',
        CONTEXT_MAX_TOKENS: '12000',
      });
      const resources = actions(synth, 'bedrock').flatMap((statement) => resourcesOf(statement));
      expect(JSON.stringify(resources)).toMatch(
        /:bedrock:eu-central-1::foundation-model\/amazon.nova-lite-v1:0/,
      );
      expect(JSON.stringify(resources)).toMatch(
        /:bedrock:eu-west-1::foundation-model\/amazon.nova-lite-v1:0/,
      );
    });

    it('reads the OpenAI-compatible provider with its key secret, granting that secret only', () => {
      // Act
      const synth = synthStack({
        modelProvider: 'openai',
        modelId: 'gpt-4.1-mini',
        openAiBaseUrl: 'https://llm.example.com/v1',
        openAiApiKeySecretArn: secretArn,
      });

      // Assess
      expect(turnVariables(synth)).toMatchObject({
        MODEL_PROVIDER: 'openai',
        OPENAI_BASE_URL: 'https://llm.example.com/v1',
        OPENAI_API_KEY_SECRET_ARN: secretArn,
      });
      // The turn functions of both APIs, and no other.
      expect(actions(synth, 'secretsmanager').flatMap((statement) => resourcesOf(statement))).toEqual([
        secretArn,
        secretArn,
      ]);
      expect(actions(synth, 'bedrock')).toEqual([]);
    });

    it('runs the offline model without model permissions', () => {
      const synth = synthStack({ modelProvider: 'offline' });
      expect(turnVariables(synth)).toMatchObject({ MODEL_PROVIDER: 'offline' });
      expect(actions(synth, 'bedrock')).toEqual([]);
    });

    it.each([
      [{ modelProvider: 'anthropic' }, /Context 'modelProvider': expected 'bedrock', 'openai' or 'offline'/],
      [
        { modelRegions: 'us-east-1', modelProvider: 'openai' },
        /'modelRegions' only apply with -c modelProvider=bedrock/,
      ],
      [{ openAiBaseUrl: 'https://x.example.com' }, /'openAiBaseUrl' only apply with -c modelProvider=openai/],
      [
        { modelProvider: 'openai', modelId: 'gpt-4.1-mini', openAiApiKeySecretArn: 'openai-key' },
        /Context 'openAiApiKeySecretArn': expected the complete ARN of a Secrets Manager secret/,
      ],
      [{ modelProvider: 'openai', modelId: 'gpt-4.1-mini' }, /openAiApiKeySecret is required/],
      [{ modelId: 'eu.amazon.nova-lite-v1:0' }, /inferenceProfileRegions is required/],
      [
        { modelTimeoutSeconds: '0' },
        /Context 'modelTimeoutSeconds': expected a whole number of seconds, at least 1/,
      ],
      [{ modelTimeoutSeconds: '27' }, /must leave the turn function at least 3000 ms/],
      [{ contextMaxMessages: 'many' }, /Context 'contextMaxMessages': expected a whole number of messages/],
      [{ modelId: 42 }, /Context 'modelId': expected a model id/],
    ])('rejects %j', (context, message) => {
      expect(() => synthStack(context)).toThrow(message);
    });
  });
});
