import { Duration, type PolicyViolation, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Synthesized, synthConstruct, synthStack } from './synth.js';

/** The packs bin/agent-memory.ts registers; `validateScope` runs them the way synthesis does. */
function findings(scope: IConstruct): PolicyViolation[] {
  return [new AwsSolutionsChecks(), new ServerlessChecks()].flatMap(
    (pack) => pack.validateScope(scope).violations,
  );
}

/** One line per finding and construct, so a failing gate says what to fix or acknowledge. */
function describeFindings(violations: PolicyViolation[]): string[] {
  return violations.flatMap((violation) =>
    violation.violatingResources.map(
      (resource) => `${violation.ruleName} (${violation.severity}) at ${resource.constructPath}`,
    ),
  );
}

interface RecordedAcknowledgement {
  readonly path: string;
  readonly id: string;
  readonly reason: string;
}

/**
 * Builds configurations while recording every `Validations.of(x).acknowledge(...)` the project code makes;
 * with `apply: false` the acknowledgements are recorded but not made, to see what they hide.
 */
function buildRecordingAcknowledgements(apply: boolean, build: () => Synthesized[]) {
  const acknowledgements: RecordedAcknowledgement[] = [];
  const of = Validations.of.bind(Validations);
  const spy = vi.spyOn(Validations, 'of').mockImplementation((scope: IConstruct) => {
    const real = of(scope);
    return new Proxy(real, {
      get(target, property, receiver) {
        if (property !== 'acknowledge') return Reflect.get(target, property, receiver);
        return (...rules: Parameters<Validations['acknowledge']>) => {
          for (const rule of rules) acknowledgements.push({ path: scope.node.path, ...rule });
          if (apply) target.acknowledge(...rules);
        };
      },
    });
  });
  try {
    return { synths: build(), acknowledgements };
  } finally {
    spy.mockRestore();
  }
}

const configurations = () => [
  synthStack(),
  // The Region known at synth, as `cdk deploy` runs it: the default model of that Region.
  synthStack({}, { region: 'eu-west-1' }),
  synthStack({
    auth: 'jwt',
    jwtIssuer: 'https://issuer.example.com/',
    jwtAudience: 'agents',
    retentionDays: '30',
    inspector: 'true',
  }),
  synthConstruct((stack) => ({
    cors: { allowOrigins: ['https://app.example.com'] },
    retention: Duration.days(90),
    alarmTopic: sns.Topic.fromTopicArn(stack, 'Alarms', 'arn:aws:sns:eu-west-1:123456789012:alarms'),
    agent: { modelId: 'amazon.nova-pro-v1:0' },
  })),
  // The model permissions of the other providers: a key secret (OpenAI-compatible), none (offline).
  synthStack({
    modelProvider: 'openai',
    modelId: 'gpt-4.1-mini',
    openAiApiKeySecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:openai-key-AbCdEf',
  }),
  synthStack({ modelProvider: 'offline' }),
];

describe('cdk-nag gate (AwsSolutions and Serverless packs)', () => {
  let gated: ReturnType<typeof buildRecordingAcknowledgements>;
  let unacknowledged: ReturnType<typeof buildRecordingAcknowledgements>;

  beforeAll(() => {
    gated = buildRecordingAcknowledgements(true, configurations);
    unacknowledged = buildRecordingAcknowledgements(false, configurations);
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('reports no unacknowledged error or warning in any configuration', () => {
    for (const synth of gated.synths) {
      expect(describeFindings(findings(synth.app))).toEqual([]);
    }
  });

  it('justifies every acknowledgement in a sentence', () => {
    expect(gated.acknowledgements.length).toBeGreaterThan(0);
    for (const acknowledgement of gated.acknowledgements) {
      expect(acknowledgement.id).toMatch(/^(AwsSolutions|Serverless)-[A-Za-z0-9]+(\[.+\])?$/);
      expect(
        acknowledgement.reason.length,
        `${acknowledgement.id} at ${acknowledgement.path}`,
      ).toBeGreaterThan(60);
    }
  });

  it('acknowledges only findings that exist, on the constructs that have them', () => {
    const violations = unacknowledged.synths.flatMap((synth) => findings(synth.app));
    const stale = unacknowledged.acknowledgements.filter(
      ({ id, path }) =>
        !violations.some(
          (violation) =>
            violation.ruleName === id &&
            violation.violatingResources.some(
              ({ constructPath }) => constructPath === path || constructPath?.startsWith(`${path}/`),
            ),
        ),
    );
    expect(stale.map(({ id, path }) => `${id} at ${path}`)).toEqual([]);
  });

  it('hides exactly the acknowledged findings: without them the packs report them all', () => {
    const violations = unacknowledged.synths.flatMap((synth) => findings(synth.app));
    const reported = new Set(
      describeFindings(violations).map((line) => line.replace(/ \((error|warning)\)/, '')),
    );
    for (const { id, path } of unacknowledged.acknowledgements) {
      expect([...reported].some((line) => line.startsWith(`${id} at ${path}`))).toBe(true);
    }
    expect(violations.length).toBeGreaterThan(0);
  });

  it('still flags a wildcard resource in a route statement (the X-Ray acknowledgement covers only X-Ray)', () => {
    // Prepare: a later route with a careless model permission.
    const synth = synthConstruct(
      {},
      {
        configure: (memory) =>
          memory.addRoute(
            { id: 'Turns', method: 'POST', path: '/v1/turns', entry: 'health.ts', access: 'write' },
            {
              initialPolicy: [
                new iam.PolicyStatement({ actions: ['bedrock:InvokeModel'], resources: ['*'] }),
              ],
            },
          ),
      },
    );
    // Act
    const lines = describeFindings(findings(synth.app));
    // Assess
    expect(lines).toEqual([
      expect.stringMatching(
        /^AwsSolutions-IAM5\[Resource::\*\] .* at Embedding\/Memory\/Turns\/Role\/DefaultPolicy\/Resource$/,
      ),
    ]);
  });

  it('catches a finding nobody acknowledged (the gate can fail)', () => {
    // Prepare: one of the stacks plus resources that break AwsSolutions-DDB3 and Serverless log retention.
    const synth = synthConstruct(
      {},
      {
        configure: (_memory, stack) => {
          new dynamodb.Table(stack, 'WithoutPitr', {
            partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
          });
          new logs.LogGroup(stack, 'KeptForever', { retention: logs.RetentionDays.INFINITE });
        },
      },
    );
    // Act
    const lines = describeFindings(findings(synth.app));
    // Assess
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^AwsSolutions-DDB3 .* at Embedding\/WithoutPitr\/Resource$/),
        expect.stringMatching(
          /^Serverless-CloudWatchLogGroupRetentionPeriod .* at Embedding\/KeptForever\/Resource$/,
        ),
      ]),
    );
  });
});
