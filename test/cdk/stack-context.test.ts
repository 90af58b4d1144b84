import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../lib/memory-function.js';
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

  describe('CORS', () => {
    it('opens both APIs to the corsOrigins, with the headers the API reads', () => {
      // Act
      const { template } = synthStack({ corsOrigins: 'https://app.example.com, http://localhost:3001' });

      // Assess
      template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
        CorsConfiguration: {
          AllowOrigins: ['https://app.example.com', 'http://localhost:3001'],
          AllowHeaders: Match.arrayWith(['authorization', 'content-type', 'idempotency-key']),
          AllowMethods: ['*'],
        },
      });
      template.hasResourceProperties('AWS::ApiGateway::Method', {
        HttpMethod: 'OPTIONS',
        AuthorizationType: 'NONE',
      });
      template.hasResourceProperties('AWS::Lambda::Function', {
        Environment: {
          Variables: Match.objectLike({
            CORS_ALLOW_ORIGINS: 'https://app.example.com,http://localhost:3001',
          }),
        },
      });
    });

    it.each([['app.example.com'], ['https://app.example.com/chat'], [42]])(
      'rejects corsOrigins=%j',
      (corsOrigins) => {
        expect(() => synthStack({ corsOrigins })).toThrow(/Context 'corsOrigins': expected origins such as/);
      },
    );
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

    it("defaults to Bedrock with Amazon Nova Lite through the profile of the stack's Region", () => {
      expect(turnVariables(synthStack({}, { region: 'eu-west-1' }))).toMatchObject({
        MODEL_PROVIDER: 'bedrock',
        MODEL_ID: 'eu.amazon.nova-lite-v1:0',
      });
      // Region-agnostic (an offline synth): CloudFormation picks the profile at deploy.
      expect(turnVariables(synthStack())).toMatchObject({
        MODEL_ID: { 'Fn::FindInMap': ['AgentMemoryDefaultModel', { Ref: 'AWS::Region' }, 'ModelId'] },
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
      // The turn functions of both APIs, the chat function and the compactor (it summarizes with the turns'
      // model), and no other.
      expect(actions(synth, 'secretsmanager').flatMap((statement) => resourcesOf(statement))).toEqual([
        secretArn,
        secretArn,
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
      [
        { modelProvider: 'openai', modelId: 'gpt-4.1-mini' },
        /^Context 'openAiApiKeySecretArn': is required with provider 'openai'/,
      ],
      [
        { modelId: 'eu.amazon.nova-pro-v1:0' },
        /^Context 'modelRegions': is required for the inference profile 'eu.amazon.nova-pro-v1:0'/,
      ],
      [
        { modelTimeoutSeconds: '0' },
        /Context 'modelTimeoutSeconds': expected a whole number of seconds, at least 1/,
      ],
      [
        { modelTimeoutSeconds: '27' },
        /^Context 'modelTimeoutSeconds': must leave the turn function at least 3000 ms of its 29000 ms/,
      ],
      [{ contextMaxMessages: '5000' }, /^Context 'contextMaxMessages': must be an integer from 1 to 1000/],
      [
        { modelId: 'global.amazon.nova-lite-v1:0' },
        /^Context 'modelId': 'global.amazon.nova-lite-v1:0': global/,
      ],
      [{ contextMaxMessages: 'many' }, /Context 'contextMaxMessages': expected a whole number of messages/],
      [{ modelId: 42 }, /Context 'modelId': expected a model id/],
    ])('rejects %j', (context, message) => {
      expect(() => synthStack(context)).toThrow(message);
    });

    it('rejects a model its Region cannot call, naming the key and the fix', () => {
      expect(() => synthStack({ modelId: 'us.amazon.nova-lite-v1:0' }, { region: 'eu-central-1' })).toThrow(
        /^Context 'modelId': 'us.amazon.nova-lite-v1:0' is an inference profile of the US geography, which cannot be called from eu-central-1: use the EU profile of the same model, 'eu.amazon.nova-lite-v1:0'/,
      );
      expect(() => synthStack({}, { region: 'sa-east-1' })).toThrow(
        /^Context 'modelId': is required in sa-east-1/,
      );
    });
  });

  describe('keys', () => {
    it.each([
      [{ unknownKey: '1' }, /^Context 'unknownKey' is not a setting of this app; it reads auth, jwtIssuer, /],
      [
        { modelRegion: 'us-east-1' },
        /^Context 'modelRegion' is not a setting of this app \(did you mean 'modelRegions'\?\)/,
      ],
      [{ retentiondays: '30' }, /did you mean 'retentionDays'/],
    ])('rejects %j', (context, message) => {
      expect(() => synthStack(context)).toThrow(message);
    });

    it("accepts the CDK's own keys: feature flags, lookups, acknowledged notices", () => {
      expect(() =>
        synthStack({
          '@aws-cdk/core:newStyleStackSynthesis': true,
          'availability-zones:account=123456789012:region=eu-west-1': ['eu-west-1a'],
          'acknowledged-issue-numbers': [12345],
        }),
      ).not.toThrow();
    });

    it('cdk synth fails with the one line, no stack trace', () => {
      // Act: the CLI, as a user runs it (it fails before anything is bundled).
      const result = spawnSync(
        join(projectRoot, 'node_modules', '.bin', 'cdk'),
        ['synth', '--no-notices', '-q', '-c', 'modelRegions=us-east-1', '-c', 'unknownKey=1'],
        {
          cwd: projectRoot,
          encoding: 'utf8',
          env: { ...process.env, CDK_DISABLE_VERSION_CHECK: '1', CDK_DISABLE_CLI_TELEMETRY: 'true' },
          timeout: 60_000,
        },
      );

      // Assess: our line, then the CLI's own about the app's exit status.
      expect(result.status).not.toBe(0);
      const lines = result.stderr.trim().split('\n');
      expect(lines[0]).toMatch(/^Context 'unknownKey' is not a setting of this app; it reads auth, /);
      expect(lines.slice(1)).toEqual([expect.stringMatching(/Subprocess exited with error 1$/)]);
    });
  });
});
