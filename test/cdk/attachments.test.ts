import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { fallbackRoute, routes } from '../../lambda/http/routes.js';
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

/**
 * What each function may do in the bucket, by key prefix: written out here, not derived from the route table,
 * so the test states the intended least privilege on its own. A function not listed may do nothing there.
 */
const writer = { t: ['s3:DeleteObject', 's3:GetObject', 's3:PutObject'], uploads: ['s3:GetObject'] };
const expectedS3Actions: Readonly<Record<string, { t?: string[]; uploads?: string[] }>> = {
  AppendMessages: writer,
  AgentTurns: writer,
  AgentTurnsStream: writer,
  EditHistory: writer,
  Chat: writer,
  CreateUpload: { uploads: ['s3:PutObject'] },
  LoadMessages: { t: ['s3:GetObject'] },
  DeleteConversation: { t: ['s3:DeleteObject'] },
  SweepAttachments: { t: ['s3:DeleteObject'] },
};

/** Functions that write or remove attachment markers (./lambda/memory/attachments/markers.ts). */
const markerWriters = [
  'AgentTurns',
  'AgentTurnsStream',
  'AppendMessages',
  'Chat',
  'DeleteConversation',
  'EditHistory',
  'SweepAttachments',
];

const everyFunctionId = [
  ...routes.filter((route) => route.entry !== undefined).map((route) => route.id),
  fallbackRoute.id,
  ...routes
    .filter((route) => route.streamingEntry !== undefined)
    .map((route) => (route.entry === undefined ? route.id : `${route.id}Stream`)),
  'SweepAttachments',
];

function statementsOfRole(synth: Synthesized, functionId: string): PolicyStatementJson[] {
  const policyId = logicalIdOf(synth.stack, `${functionId}/Role/DefaultPolicy`);
  return allPolicyStatements(synth.template)
    .filter(({ policy }) => policy === policyId)
    .map(({ statement }) => statement);
}

/** The S3 actions of a function, per key prefix of the bucket (`t`, `uploads`, or anything else it names). */
function s3ActionsOf(synth: Synthesized, functionId: string, bucketId: string): Record<string, string[]> {
  const byPrefix: Record<string, string[]> = {};
  for (const statement of statementsOfRole(synth, functionId)) {
    const actions = actionsOf(statement).filter((action) => action.startsWith('s3:'));
    if (actions.length === 0) continue;
    for (const resource of resourcesOf(statement)) {
      const prefix = prefixOf(resource, bucketId);
      byPrefix[prefix] = [...(byPrefix[prefix] ?? []), ...actions].sort();
    }
  }
  return byPrefix;
}

/** `{ Fn::Join: ['', [<bucket>.Arn, '/t/*']] }` -> `t`; anything else -> its JSON (which fails the test). */
function prefixOf(resource: unknown, bucketId: string): string {
  const join = (resource as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  const [arn, path] = join?.[1] ?? [];
  if (JSON.stringify(arn) === JSON.stringify({ 'Fn::GetAtt': [bucketId, 'Arn'] })) {
    const match = typeof path === 'string' ? /^\/(t|uploads)\/\*$/.exec(path) : null;
    if (match?.[1] !== undefined) return match[1];
  }
  return JSON.stringify(resource);
}

function onlyBucket(template: Synthesized['template']): [string, CfnResourceJson] {
  const buckets = Object.entries(resourcesOfType(template, 'AWS::S3::Bucket'));
  expect(buckets).toHaveLength(1);
  return buckets[0] as [string, CfnResourceJson];
}

describe('AgentMemory attachments', () => {
  let stack: Synthesized;
  let bucketId: string;

  beforeAll(() => {
    stack = synthStack();
    bucketId = onlyBucket(stack.template)[0];
  });

  describe('bucket', () => {
    it('is private, encrypted, owner-enforced, unversioned and retained', () => {
      stack.template.hasResource('AWS::S3::Bucket', {
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
        Properties: Match.objectLike({
          BucketEncryption: {
            ServerSideEncryptionConfiguration: [
              { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
            ],
          },
          PublicAccessBlockConfiguration: {
            BlockPublicAcls: true,
            BlockPublicPolicy: true,
            IgnorePublicAcls: true,
            RestrictPublicBuckets: true,
          },
          OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
          VersioningConfiguration: Match.absent(),
        }),
      });
    });

    it('refuses every request without TLS', () => {
      stack.template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: bucketId },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 's3:*',
              Principal: { AWS: '*' },
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    });

    it('expires unused uploads and unfinished multipart uploads after a day, and keeps the rest without a retention', () => {
      const rules = (onlyBucket(stack.template)[1].Properties.LifecycleConfiguration as { Rules: unknown[] })
        .Rules;
      expect(rules).toEqual([
        { Id: 'UnusedUploads', Prefix: 'uploads/', ExpirationInDays: 1, Status: 'Enabled' },
        {
          Id: 'UnfinishedMultipartUploads',
          AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
          Status: 'Enabled',
        },
      ]);
    });

    it.each([
      { retention: Duration.days(7), days: 8 },
      { retention: Duration.hours(36), days: 3 },
      { retention: Duration.minutes(5), days: 2 },
    ])(
      'expires conversation objects $days days after their write with a retention of $retention',
      ({ retention, days }) => {
        // Act
        const { template } = synthConstruct({ retention });
        // Assess: never before the messages that reference them (written after their objects, expiring
        // `retention` later), at most a day and a part after (S3 counts whole days to the next midnight UTC).
        const rules = (onlyBucket(template)[1].Properties.LifecycleConfiguration as { Rules: unknown[] })
          .Rules;
        expect(rules).toContainEqual({
          Id: 'Retention',
          Prefix: 't/',
          ExpirationInDays: days,
          Status: 'Enabled',
        });
        expect(days * 86_400).toBeGreaterThan(retention.toSeconds());
      },
    );

    it('follows removalPolicy', () => {
      const { template } = synthConstruct({ removalPolicy: RemovalPolicy.DESTROY });
      template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete' });
    });

    it("lets the API's CORS origins GET attachments and PUT uploads by presigned URL", () => {
      const { template } = synthConstruct({
        cors: { allowOrigins: ['https://app.example.com'] },
      });
      template.hasResourceProperties('AWS::S3::Bucket', {
        CorsConfiguration: {
          CorsRules: [
            {
              AllowedOrigins: ['https://app.example.com'],
              AllowedMethods: ['GET', 'PUT'],
              AllowedHeaders: ['content-type'],
              MaxAge: 3600,
            },
          ],
        },
      });
      stack.template.hasResourceProperties('AWS::S3::Bucket', { CorsConfiguration: Match.absent() });
    });

    it('is named by the AttachmentsBucketName output', () => {
      stack.template.hasOutput('AttachmentsBucketName', { Value: { Ref: bucketId } });
    });
  });

  describe('functions', () => {
    it('give every function the bucket, and the threshold only when set', () => {
      stack.template.allResourcesProperties('AWS::Lambda::Function', {
        Environment: {
          Variables: Match.objectLike({
            ATTACHMENTS_BUCKET: { Ref: bucketId },
            ATTACHMENT_THRESHOLD_BYTES: Match.absent(),
          }),
        },
      });
      const { template } = synthConstruct({ attachments: { thresholdBytes: 131_072 } });
      template.allResourcesProperties('AWS::Lambda::Function', {
        Environment: { Variables: Match.objectLike({ ATTACHMENT_THRESHOLD_BYTES: '131072' }) },
      });
    });

    it.each(everyFunctionId)(
      'grants %s only its S3 actions, on its prefixes of this bucket',
      (functionId) => {
        const expected = expectedS3Actions[functionId] ?? {};
        expect(s3ActionsOf(stack, functionId, bucketId)).toEqual(expected);
      },
    );

    it('never grants s3:* nor any S3 action on the bucket itself or on *', () => {
      const s3Statements = allPolicyStatements(stack.template).filter(
        ({ statement }) =>
          statement.Effect === 'Allow' && actionsOf(statement).some((action) => action.startsWith('s3:')),
      );
      expect(s3Statements.length).toBeGreaterThan(0);
      for (const { statement } of s3Statements) {
        expect(actionsOf(statement)).not.toContain('s3:*');
        for (const resource of resourcesOf(statement)) {
          expect(['t', 'uploads']).toContain(prefixOf(resource, bucketId));
        }
      }
    });

    it('confines the markers to their partitions: a LeadingKeys condition on every statement that adds them', () => {
      const tableArn = { 'Fn::GetAtt': [logicalIdOf(stack.stack, 'AgentMemory/Table'), 'Arn'] };
      const onMarkers = (statement: { Condition?: unknown }) =>
        JSON.stringify(statement.Condition ?? {}).includes('dynamodb:LeadingKeys');
      const withMarkers = everyFunctionId.filter((functionId) =>
        statementsOfRole(stack, functionId).some(onMarkers),
      );
      expect(withMarkers.sort()).toEqual(markerWriters);
      for (const functionId of markerWriters) {
        const conditioned = statementsOfRole(stack, functionId).filter(onMarkers);
        expect(conditioned).toEqual([
          {
            Effect: 'Allow',
            Action: ['dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
            Resource: tableArn,
            Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['ATTQ#*'] } },
          },
        ]);
      }
    });
  });

  describe('sweep', () => {
    it('runs hourly from a schedule, with no retries of its own and five minutes to finish', () => {
      const sweep = logicalIdOf(stack.stack, 'SweepAttachments/Function');
      stack.template.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: 'rate(1 hour)',
        State: 'ENABLED',
        Targets: [
          Match.objectLike({
            Arn: { 'Fn::GetAtt': [sweep, 'Arn'] },
            RetryPolicy: { MaximumRetryAttempts: 0 },
          }),
        ],
      });
      expect(resourcesOfType(stack.template, 'AWS::Lambda::Function')[sweep]?.Properties.Timeout).toBe(300);
    });
  });

  describe('attachments: false', () => {
    it('keeps no bucket, no sweep and no ATTACHMENTS_BUCKET; messages stay within their item', () => {
      const { template } = synthConstruct({ attachments: false });
      template.resourceCountIs('AWS::S3::Bucket', 0);
      template.resourceCountIs('AWS::Events::Rule', 0);
      template.allResourcesProperties('AWS::Lambda::Function', {
        Environment: { Variables: Match.objectLike({ ATTACHMENTS_BUCKET: Match.absent() }) },
      });
      for (const { statement } of allPolicyStatements(template)) {
        expect(actionsOf(statement).filter((action) => action.startsWith('s3:'))).toEqual([]);
        expect(JSON.stringify(statement.Condition ?? {})).not.toContain('dynamodb:LeadingKeys');
      }
    });

    it('is what -c attachments=false gives the stack, which then takes no threshold', () => {
      const { template } = synthStack({ attachments: 'false' });
      template.resourceCountIs('AWS::S3::Bucket', 0);
      expect(() => synthStack({ attachments: 'false', attachmentThresholdBytes: '131072' })).toThrow(
        /'attachmentThresholdBytes' only applies with attachments on/,
      );
    });
  });

  it('takes the threshold from -c attachmentThresholdBytes, and rejects one outside 1024-262144', () => {
    synthStack({ attachmentThresholdBytes: '131072' }).template.allResourcesProperties(
      'AWS::Lambda::Function',
      {
        Environment: { Variables: Match.objectLike({ ATTACHMENT_THRESHOLD_BYTES: '131072' }) },
      },
    );
    for (const thresholdBytes of [1023, 262_145, 2048.5]) {
      expect(() => synthConstruct({ attachments: { thresholdBytes } })).toThrow(
        /attachments\.thresholdBytes.*from 1024 to 262144/,
      );
    }
    expect(() => synthStack({ attachmentThresholdBytes: '300000' })).toThrow(/attachmentThresholdBytes/);
  });

  it("tells the inspector page the bucket's origin, for its images", () => {
    const { template, stack: inspectorStack } = synthConstruct({
      auth: { type: 'jwt', issuer: 'https://issuer.example.com/', audience: ['agents'] },
      inspector: true,
    });
    const page = logicalIdOf(inspectorStack, 'InspectorPage/Function');
    const environment = resourcesOfType(template, 'AWS::Lambda::Function')[page]?.Properties.Environment as
      | { Variables: Record<string, unknown> }
      | undefined;
    const variables = environment?.Variables ?? {};
    expect(JSON.stringify(variables.ATTACHMENTS_ORIGIN)).toContain(
      `"${onlyBucket(template)[0]}","RegionalDomainName"`,
    );
  });
});
