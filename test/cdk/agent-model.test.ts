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
  const lookup = (value as { 'Fn::FindInMap'?: [string, unknown, string] })['Fn::FindInMap'];
  if (lookup) return `<${lookup[0]}[${text(lookup[1])}].${lookup[2]}>`;
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

/**
 * The functions that run the model: the turn route's on both APIs, the chat route's (streaming API), and the
 * compactor, which summarizes with the turns' model and context policy.
 */
const modelFunctionIds = ['AgentTurns', 'AgentTurnsStream', 'Chat', 'Compactor'];
const turnPolicies = (synth: Synthesized) =>
  modelFunctionIds.map((id) => logicalIdOf(synth.stack, `${id}/Role/DefaultPolicy`));

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
        ATTACHMENTS_BUCKET: { Ref: logicalIdOf(defaults.stack, 'AgentMemory/Attachments') },
        MODEL_PROVIDER: 'bedrock',
        MODEL_ID: { 'Fn::FindInMap': ['AgentMemoryDefaultModel', { Ref: 'AWS::Region' }, 'ModelId'] },
        MODEL_TIMEOUT_MS: '20000',
        CONTEXT_MAX_MESSAGES: '20',
        CONTEXT_MAX_TOKENS: '8000',
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
      const turns = modelFunctionIds.map((id) => logicalIdOf(defaults.stack, `${id}/Function`));
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
    it.each([
      ['us-east-1', 'us', ['us-east-1', 'us-east-2', 'us-west-2']],
      [
        'eu-west-1',
        'eu',
        ['eu-central-1', 'eu-north-1', 'eu-south-1', 'eu-south-2', 'eu-west-1', 'eu-west-3'],
      ],
      [
        'ap-south-1',
        'apac',
        ['ap-northeast-1', 'ap-northeast-2', 'ap-south-1', 'ap-southeast-1', 'ap-southeast-2'],
      ],
    ])(
      'in %s, lets the turn functions alone invoke Nova Lite through the %s. profile, and the model in its Regions only through it',
      (region, prefix, regions) => {
        // Act
        const synth = synthConstruct({}, { region });

        // Assess: the same two statements for every function that runs the model (turns on both APIs, chats).
        const bedrock = statementsFor(synth, 'bedrock');
        const [turn, ...others] = turnPolicies(synth);
        expect(bedrock.map(({ policy }) => policy).sort()).toEqual(
          turnPolicies(synth)
            .flatMap((policy) => [policy, policy])
            .sort(),
        );
        const statementsOf = (policy: string | undefined) =>
          bedrock.filter((found) => found.policy === policy).map(({ statement }) => statement);
        for (const other of others) expect(statementsOf(other)).toEqual(statementsOf(turn));
        const [profile, model] = statementsOf(turn);
        const novaProfileArn = `arn:<AWS::Partition>:bedrock:${region}:<AWS::AccountId>:inference-profile/${prefix}.amazon.nova-lite-v1:0`;
        expect(variablesOf(turnFunction(synth)).MODEL_ID).toBe(`${prefix}.amazon.nova-lite-v1:0`);
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
        expect(resourcesOf(model as Statement).map(text)).toEqual(
          regions.map(
            (destination) =>
              `arn:<AWS::Partition>:bedrock:${destination}::foundation-model/amazon.nova-lite-v1:0`,
          ),
        );
        const condition = (model?.Condition as { StringEquals?: Record<string, unknown> } | undefined)
          ?.StringEquals;
        if (condition === undefined) throw new Error('The model statement has no StringEquals condition');
        expect(Object.keys(condition)).toEqual(['bedrock:InferenceProfileArn']);
        expect(text(condition['bedrock:InferenceProfileArn'])).toBe(novaProfileArn);
      },
    );

    it('in a Region-agnostic stack, lets CloudFormation pick the profile of the Region, with the same grants', () => {
      // Assess: the function's model and both statements come from one mapping, by Region.
      const lookup = (key: string) => `<AgentMemoryDefaultModel[<AWS::Region>].${key}>`;
      expect(text(variablesOf(turnFunction(defaults)).MODEL_ID)).toBe(lookup('ModelId'));
      const [profile, model] = statementsFor(defaults, 'bedrock').map(({ statement }) => statement);
      const profileArnByRegion = `${profileArn}${lookup('ModelId')}`;
      expect(resourcesOf(profile as Statement).map(text)).toEqual([profileArnByRegion]);
      expect(text((model as Statement).Resource)).toBe(lookup('ModelArns'));
      const condition = (model as Statement & { Condition: { StringEquals: Record<string, unknown> } })
        .Condition;
      expect(text(condition.StringEquals['bedrock:InferenceProfileArn'])).toBe(profileArnByRegion);
      // ...a mapping of every Region of the three profiles, and of no other.
      const mapping = defaults.template.toJSON().Mappings.AgentMemoryDefaultModel as Record<
        string,
        { ModelId: string; ModelArns: string[] }
      >;
      expect(Object.keys(mapping)).toHaveLength(14);
      expect(mapping['eu-west-1']).toEqual({
        ModelId: 'eu.amazon.nova-lite-v1:0',
        ModelArns: ['eu-central-1', 'eu-north-1', 'eu-south-1', 'eu-south-2', 'eu-west-1', 'eu-west-3'].map(
          (region) => `arn:aws:bedrock:${region}::foundation-model/amazon.nova-lite-v1:0`,
        ),
      });
      expect(mapping['us-west-2']?.ModelId).toBe('us.amazon.nova-lite-v1:0');
      expect(mapping['sa-east-1']).toBeUndefined();
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
        { modelId: 'eu.amazon.nova-pro-v1:0' },
        /inferenceProfileRegions is required for the inference profile 'eu.amazon.nova-pro-v1:0'/,
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
        /modelTimeout must leave the turn function at least 3000 ms of its 29000 ms timeout .*, got 27000 ms/,
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

    it.each<[string, string, AgentModelProps, RegExp]>([
      [
        'a US inference profile in an EU Region, naming the EU one',
        'eu-west-1',
        { modelId: 'us.amazon.nova-lite-v1:0' },
        /agent.modelId 'us.amazon.nova-lite-v1:0' is an inference profile of the US geography, which cannot be called from eu-west-1: use the EU profile of the same model, 'eu.amazon.nova-lite-v1:0'/,
      ],
      [
        'an EU inference profile in a US Region',
        'us-east-2',
        { modelId: 'eu.anthropic.claude-haiku-4-5-20251001-v1:0', inferenceProfileRegions: ['eu-west-1'] },
        /of the EU geography, which cannot be called from us-east-2: use the US profile of the same model, 'us.anthropic/,
      ],
      [
        'the default in a Region none of its profiles serves',
        'sa-east-1',
        {},
        /agent.modelId is required in sa-east-1: none of Amazon Nova Lite's inference profiles/,
      ],
    ])('rejects %s (%s)', (_, region, agent, message) => {
      expect(() => synthConstruct({ agent }, { region })).toThrow(message);
    });

    it('rejects profile Regions without a model id when the Region is unknown at synth', () => {
      expect(() => synthConstruct({ agent: { inferenceProfileRegions: ['us-east-1'] } })).toThrow(
        /inferenceProfileRegions needs a model id too when the stack's Region is unknown at synth/,
      );
    });

    it('takes a Regional foundation model id in any Region', () => {
      const synth = synthConstruct({ agent: { modelId: 'amazon.nova-pro-v1:0' } }, { region: 'sa-east-1' });
      expect(variablesOf(turnFunction(synth)).MODEL_ID).toBe('amazon.nova-pro-v1:0');
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
