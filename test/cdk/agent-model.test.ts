import { Duration } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AgentModelProps } from '../../lib/agent-model.js';
import {
  actionsOf,
  allPolicyStatements,
  type CfnResourceJson,
  logicalIdOf,
  type PolicyStatementJson,
  resourcesOf,
  resourcesOfType,
  type Synthesized,
  synthConstruct,
  synthStack,
} from './synth.js';

const secretArn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:openai-key-AbCdEf';
const profileArn = 'arn:<AWS::Partition>:bedrock:<AWS::Region>:<AWS::AccountId>:inference-profile/';

type Statement = PolicyStatementJson & { readonly Condition?: unknown };

/** A template value as text: `Fn::Join` joined, a `Ref` as `<Name>` (`arn:<AWS::Partition>:bedrock:...`). */
function text(value: unknown): string {
  if (typeof value === 'string') return value;
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (join) return join[1].map(text).join(join[0]);
  const ref = (value as { Ref?: string }).Ref;
  if (ref) return `<${ref}>`;
  throw new Error(`Cannot render ${JSON.stringify(value)}`);
}

/** Statements with an action of `service`, with the logical id of the policy that holds each. */
function statementsFor(synth: Synthesized, service: string): Array<{ policy: string; statement: Statement }> {
  return allPolicyStatements(synth.template).filter(({ statement }) =>
    actionsOf(statement).some((action) => action.toLowerCase().startsWith(`${service}:`)),
  );
}

function turnFunction(synth: Synthesized): CfnResourceJson {
  const fn = resourcesOfType(synth.template, 'AWS::Lambda::Function')[
    logicalIdOf(synth.stack, 'AgentTurns/Function')
  ];
  if (fn === undefined) throw new Error('No AgentTurns function');
  return fn;
}

const variablesOf = (fn: CfnResourceJson) =>
  (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;

const turnPolicy = (synth: Synthesized) => logicalIdOf(synth.stack, 'AgentTurns/Role/DefaultPolicy');
/** The turn route has two functions: the HTTP API's and the streaming API's; both run the model. */
const turnPolicies = (synth: Synthesized) => [
  turnPolicy(synth),
  logicalIdOf(synth.stack, 'AgentTurnsStream/Role/DefaultPolicy'),
];

describe('AgentMemory: the agent turn route', () => {
  let defaults: Synthesized;

  beforeAll(() => {
    defaults = synthStack();
  });

  describe('turn function', () => {
    it('has its own 29 s timeout and 1024 MB, and the model variables of lambda/agent/agent-config.ts', () => {
      // Act
      const fn = turnFunction(defaults);

      // Assess
      expect(fn.Properties).toMatchObject({ Timeout: 29, MemorySize: 1024 });
      expect(variablesOf(fn)).toEqual({
        TABLE_NAME: { Ref: logicalIdOf(defaults.stack, 'AgentMemory/Table') },
        MODEL_PROVIDER: 'bedrock',
        MODEL_ID: 'us.amazon.nova-lite-v1:0',
        MODEL_TIMEOUT_MS: '20000',
        CONTEXT_MAX_MESSAGES: '20',
        CONTEXT_MAX_TOKENS: '8000',
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: 'agent-memory',
        POWERTOOLS_METRICS_NAMESPACE: 'AgentMemory',
      });
      // The model's deadline leaves the function time to commit and answer before its own timeout.
      expect(Number(variablesOf(fn).MODEL_TIMEOUT_MS) + 3000).toBeLessThanOrEqual(
        (fn.Properties.Timeout as number) * 1000,
      );
    });

    it('passes the model timeout and the context limits from the agent prop', () => {
      // Act
      const synth = synthConstruct({
        agent: { modelTimeout: Duration.seconds(15), contextMaxMessages: 40, contextMaxTokens: 16_000 },
      });

      // Assess
      expect(variablesOf(turnFunction(synth))).toMatchObject({
        MODEL_TIMEOUT_MS: '15000',
        CONTEXT_MAX_MESSAGES: '40',
        CONTEXT_MAX_TOKENS: '16000',
      });
    });

    it('applies routeOptions.AgentTurns on top: memory, timeout and extra variables', () => {
      // Act
      const synth = synthConstruct({
        routeOptions: {
          AgentTurns: { memorySize: 2048, timeout: Duration.seconds(25), environment: { EXTRA: 'yes' } },
        },
      });

      // Assess
      const fn = turnFunction(synth);
      expect(fn.Properties).toMatchObject({ MemorySize: 2048, Timeout: 25 });
      expect(variablesOf(fn)).toMatchObject({ EXTRA: 'yes', MODEL_PROVIDER: 'bedrock' });
      synth.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'Duration',
        Threshold: 20_000,
        Dimensions: [
          { Name: 'FunctionName', Value: { Ref: logicalIdOf(synth.stack, 'AgentTurns/Function') } },
        ],
      });
    });

    it('gives no other function a model variable', () => {
      const turns = [
        logicalIdOf(defaults.stack, 'AgentTurns/Function'),
        logicalIdOf(defaults.stack, 'AgentTurnsStream/Function'),
      ];
      const others = Object.entries(resourcesOfType(defaults.template, 'AWS::Lambda::Function')).filter(
        ([id]) => !turns.includes(id),
      );
      expect(others.length).toBeGreaterThan(0);
      for (const [, fn] of others) {
        expect(Object.keys(variablesOf(fn)).filter((name) => /^(MODEL|OPENAI|CONTEXT)_/.test(name))).toEqual(
          [],
        );
      }
    });
  });

  describe('Bedrock permission', () => {
    it('lets the turn functions alone invoke the default model: its US profile, and the model in the three US Regions only through it', () => {
      // Act
      const bedrock = statementsFor(defaults, 'bedrock');

      // Assess
      const [turn, stream] = turnPolicies(defaults);
      expect(bedrock.map(({ policy }) => policy).sort()).toEqual([turn, turn, stream, stream].sort());
      expect(
        JSON.stringify(bedrock.filter(({ policy }) => policy === stream).map(({ statement }) => statement)),
      ).toBe(
        JSON.stringify(bedrock.filter(({ policy }) => policy === turn).map(({ statement }) => statement)),
      );
      const [profile, model] = bedrock
        .filter(({ policy }) => policy === turn)
        .map(({ statement }) => statement);
      const novaProfileArn = `${profileArn}us.amazon.nova-lite-v1:0`;
      expect(actionsOf(profile as Statement)).toEqual([
        'bedrock:InvokeModel',
        'bedrock:InvokeModelWithResponseStream',
      ]);
      expect(resourcesOf(profile as Statement).map(text)).toEqual([novaProfileArn]);
      expect(profile?.Condition).toBeUndefined();
      expect(actionsOf(model as Statement)).toEqual([
        'bedrock:InvokeModel',
        'bedrock:InvokeModelWithResponseStream',
      ]);
      expect(resourcesOf(model as Statement).map(text)).toEqual([
        'arn:<AWS::Partition>:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0',
        'arn:<AWS::Partition>:bedrock:us-east-2::foundation-model/amazon.nova-lite-v1:0',
        'arn:<AWS::Partition>:bedrock:us-west-2::foundation-model/amazon.nova-lite-v1:0',
      ]);
      const condition = (model?.Condition as { StringEquals?: Record<string, unknown> } | undefined)
        ?.StringEquals;
      if (condition === undefined) throw new Error('The model statement has no StringEquals condition');
      expect(Object.keys(condition)).toEqual(['bedrock:InferenceProfileArn']);
      expect(text(condition['bedrock:InferenceProfileArn'])).toBe(novaProfileArn);
    });

    it('never grants bedrock:* or a Bedrock action on *, and reads no secret without the OpenAI provider', () => {
      for (const { statement } of allPolicyStatements(defaults.template)) {
        expect(actionsOf(statement)).not.toContain('*');
        expect(actionsOf(statement)).not.toContain('bedrock:*');
      }
      for (const { statement } of statementsFor(defaults, 'bedrock')) {
        for (const resource of resourcesOf(statement)) expect(text(resource)).not.toContain('*');
      }
      expect(statementsFor(defaults, 'secretsmanager')).toEqual([]);
    });

    it('invokes a Regional foundation model id in the stack Region only', () => {
      // Act
      const synth = synthConstruct({ agent: { modelId: 'amazon.nova-pro-v1:0' } });

      // Assess
      const bedrock = statementsFor(synth, 'bedrock');
      expect(bedrock.map(({ policy }) => policy).sort()).toEqual(turnPolicies(synth).sort());
      expect(resourcesOf(bedrock[0]?.statement as Statement).map(text)).toEqual([
        'arn:<AWS::Partition>:bedrock:<AWS::Region>::foundation-model/amazon.nova-pro-v1:0',
      ]);
      expect(variablesOf(turnFunction(synth)).MODEL_ID).toBe('amazon.nova-pro-v1:0');
    });

    it('grants another inference profile in the Regions it is given', () => {
      // Prepare
      const modelId = 'eu.anthropic.claude-haiku-4-5-20251001-v1:0';

      // Act
      const synth = synthConstruct({
        agent: { modelId, inferenceProfileRegions: ['eu-central-1', 'eu-west-1', 'eu-west-3'] },
      });

      // Assess
      const [profile, model] = statementsFor(synth, 'bedrock').map(({ statement }) => statement);
      expect(resourcesOf(profile as Statement).map(text)).toEqual([`${profileArn}${modelId}`]);
      expect(resourcesOf(model as Statement).map(text)).toEqual(
        ['eu-central-1', 'eu-west-1', 'eu-west-3'].map(
          (region) =>
            `arn:<AWS::Partition>:bedrock:${region}::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0`,
        ),
      );
      expect(model?.Condition).toBeDefined();
    });
  });

  describe('OpenAI-compatible provider', () => {
    it('reads the API key from its secret, and no other, and gets no Bedrock permission', () => {
      // Act
      const synth = synthConstruct((stack) => ({
        agent: {
          provider: 'openai',
          modelId: 'gpt-4.1-mini',
          openAiBaseUrl: 'https://llm.example.com/v1',
          openAiApiKeySecret: secretsmanager.Secret.fromSecretCompleteArn(stack, 'Key', secretArn),
        },
      }));

      // Assess
      expect(variablesOf(turnFunction(synth))).toMatchObject({
        MODEL_PROVIDER: 'openai',
        MODEL_ID: 'gpt-4.1-mini',
        OPENAI_BASE_URL: 'https://llm.example.com/v1',
        OPENAI_API_KEY_SECRET_ARN: secretArn,
      });
      const secrets = statementsFor(synth, 'secretsmanager');
      expect(secrets.map(({ policy }) => policy).sort()).toEqual(turnPolicies(synth).sort());
      expect(actionsOf(secrets[0]?.statement as Statement)).toEqual(['secretsmanager:GetSecretValue']);
      expect(resourcesOf(secrets[0]?.statement as Statement)).toEqual([secretArn]);
      expect(statementsFor(synth, 'bedrock')).toEqual([]);
    });

    it("decrypts with the secret's own KMS key when it has one", () => {
      // Prepare
      const keyArn = 'arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555';

      // Act
      const synth = synthConstruct((stack) => ({
        agent: {
          provider: 'openai',
          modelId: 'gpt-4.1-mini',
          openAiApiKeySecret: secretsmanager.Secret.fromSecretAttributes(stack, 'Key', {
            secretCompleteArn: secretArn,
            encryptionKey: kms.Key.fromKeyArn(stack, 'SecretKey', keyArn),
          }),
        },
      }));

      // Assess
      const decrypt = statementsFor(synth, 'kms');
      expect(decrypt.map(({ policy }) => policy).sort()).toEqual(turnPolicies(synth).sort());
      expect(actionsOf(decrypt[0]?.statement as Statement)).toEqual(['kms:Decrypt']);
      expect(resourcesOf(decrypt[0]?.statement as Statement)).toEqual([keyArn]);
    });
  });

  it('runs the offline model with no model permission at all', () => {
    // Act
    const synth = synthConstruct({ agent: { provider: 'offline' } });

    // Assess
    expect(variablesOf(turnFunction(synth))).toMatchObject({
      MODEL_PROVIDER: 'offline',
      MODEL_ID: 'offline',
    });
    expect(statementsFor(synth, 'bedrock')).toEqual([]);
    expect(statementsFor(synth, 'secretsmanager')).toEqual([]);
  });

  describe('validation', () => {
    const secret = (props: Omit<AgentModelProps, 'openAiApiKeySecret'>) =>
      synthConstruct((stack) => ({
        agent: {
          ...props,
          openAiApiKeySecret: secretsmanager.Secret.fromSecretCompleteArn(stack, 'Key', secretArn),
        },
      }));

    it.each<[string, AgentModelProps, RegExp]>([
      [
        'an inference profile whose Regions it does not know',
        { modelId: 'eu.amazon.nova-lite-v1:0' },
        /inferenceProfileRegions is required for the inference profile 'eu.amazon.nova-lite-v1:0'/,
      ],
      [
        'a global inference profile',
        {
          modelId: 'global.anthropic.claude-haiku-4-5-20251001-v1:0',
          inferenceProfileRegions: ['us-east-1'],
        },
        /global inference profiles/,
      ],
      [
        'profile Regions for a foundation model id',
        { modelId: 'amazon.nova-pro-v1:0', inferenceProfileRegions: ['us-east-1'] },
        /inference profile ids only/,
      ],
      [
        'a malformed Region',
        { modelId: 'eu.amazon.nova-lite-v1:0', inferenceProfileRegions: ['Frankfurt'] },
        /Region codes such as us-east-1/,
      ],
      [
        'a model ARN',
        { modelId: 'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc' },
        /not an ARN/,
      ],
      ['an unknown provider', { provider: 'anthropic' as 'bedrock' }, /agent.provider must be/],
      ['openai without a model id', { provider: 'openai' }, /modelId is required with provider 'openai'/],
      [
        'openai without a key secret',
        { provider: 'openai', modelId: 'gpt-4.1-mini' },
        /openAiApiKeySecret is required/,
      ],
      [
        'an OpenAI base URL with Bedrock',
        { openAiBaseUrl: 'https://api.openai.com/v1' },
        /openAiBaseUrl only applies with provider 'openai'/,
      ],
      [
        'a model timeout that leaves the function less than 3 s',
        { modelTimeout: Duration.seconds(27) },
        /modelTimeout \(27000 ms\) must leave the turn function at least 3000 ms of its 29000 ms/,
      ],
      ['a model timeout of 30 s', { modelTimeout: Duration.seconds(30) }, /from 1 to 29 seconds/],
      [
        '0 context messages',
        { contextMaxMessages: 0 },
        /contextMaxMessages must be an integer from 1 to 1000/,
      ],
      ['a fractional token budget', { contextMaxTokens: 1.5 }, /contextMaxTokens must be an integer/],
    ])('rejects %s', (_, agent, message) => {
      expect(() => synthConstruct({ agent })).toThrow(message);
    });

    it('rejects an OpenAI base URL that is not http(s)', () => {
      expect(() =>
        secret({ provider: 'openai', modelId: 'gpt-4.1-mini', openAiBaseUrl: 'ftp://llm.example.com' }),
      ).toThrow(/openAiBaseUrl must be an http\(s\) URL/);
    });

    it('rejects a key secret with the Bedrock provider', () => {
      expect(() => secret({})).toThrow(/openAiApiKeySecret only applies with provider 'openai'/);
    });

    it('rejects route variables that would override the model variables', () => {
      expect(() =>
        synthConstruct({ routeOptions: { AgentTurns: { environment: { MODEL_ID: 'other' } } } }),
      ).toThrow(/Route 'AgentTurns': environment may not set MODEL_ID/);
    });

    it('checks the model timeout against a shorter turn function timeout', () => {
      expect(() =>
        synthConstruct({ routeOptions: { AgentTurns: { timeout: Duration.seconds(20) } } }),
      ).toThrow(/must leave the turn function at least 3000 ms of its 20000 ms timeout/);
      expect(() =>
        synthConstruct({
          routeOptions: { AgentTurns: { timeout: Duration.seconds(20) } },
          agent: { modelTimeout: Duration.seconds(15) },
        }),
      ).not.toThrow();
    });
  });

  it('routes POST /v1/conversations/{conversationId}/turns to the turn function, behind the authorizer', () => {
    defaults.template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: 'POST /v1/conversations/{conversationId}/turns',
      AuthorizationType: 'AWS_IAM',
      Target: Match.anyValue(),
    });
  });
});
