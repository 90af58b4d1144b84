import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkpointTableActions } from '../../lambda/checkpoints/checkpoint-table.js';
import { fallbackRoute, routes, type TableAccess } from '../../lambda/http/routes.js';
import {
  actionsOf,
  allPolicyStatements,
  logicalIdOf,
  resourcesOf,
  resourcesOfType,
  type Synthesized,
  synthConstruct,
  synthStack,
} from './synth.js';

/** The HTTP API's routes and their functions: one per route it serves, plus the `$default` route's. */
const httpRoutes: ReadonlyArray<{
  id: string;
  access: TableAccess;
  routeKey: string;
}> = [
  ...routes
    .filter((route) => route.entry !== undefined)
    .map((route) => ({
      id: route.id,
      access: route.access,
      routeKey: `${route.method} ${route.path}`,
    })),
  { id: fallbackRoute.id, access: fallbackRoute.access, routeKey: '$default' },
];

/**
 * The streaming API's functions: a response-streaming twin (`<id>Stream`) of a route the HTTP API serves too (the
 * turn route), and the function of a route only the streaming API serves (the chat routes).
 */
const streamingFunctions = routes
  .filter((route) => route.streamingEntry !== undefined)
  .map((route) => ({ id: route.entry === undefined ? route.id : `${route.id}Stream`, access: route.access }));

/** The hourly sweep of orphaned attachments (the stack keeps attachments by default): no route, no table grant. */
const sweepFunction = { id: 'SweepAttachments', access: 'none' } as const;

/** The compactor: woken by the table's stream, it stores summaries (lambda/summaries/). */
const compactorId = 'Compactor';

/** Every function of the IAM stack. */
const allFunctions = [
  ...httpRoutes,
  ...streamingFunctions,
  sweepFunction,
  { id: compactorId, access: 'summaries' as const },
];

/** Written out here, not imported: the test states the intended least privilege independently. */
const expectedTableActions = {
  read: ['dynamodb:GetItem', 'dynamodb:Query'],
  write: [
    'dynamodb:ConditionCheckItem',
    'dynamodb:GetItem',
    'dynamodb:PutItem',
    'dynamodb:Query',
    'dynamodb:UpdateItem',
  ],
  edit: [
    'dynamodb:ConditionCheckItem',
    'dynamodb:DeleteItem',
    'dynamodb:GetItem',
    'dynamodb:PutItem',
    'dynamodb:Query',
    'dynamodb:UpdateItem',
  ],
  delete: ['dynamodb:ConditionCheckItem', 'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:Query'],
  // Reads, the summary's Put and the head's check: no update, no delete.
  summaries: ['dynamodb:ConditionCheckItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'],
  list: ['dynamodb:BatchGetItem', 'dynamodb:Query'],
  none: [],
} as const;

/** The functions that run the model: their own timeout and memory (tested in 'agent turns'). */
const turnRouteId = 'AgentTurns';
const turnFunctionIds = [turnRouteId, `${turnRouteId}Stream`, 'Chat'];
/** Follows a running chat reply, so its timeout is a turn's too. */
const resumeFunctionId = 'ResumeChatStream';

function newestNodeMajorInCdk(): number {
  return Math.max(
    ...lambda.Runtime.ALL.map((runtime) => /^nodejs(\d+)\.x$/.exec(runtime.name)?.[1])
      .filter((major): major is string => major !== undefined)
      .map(Number),
  );
}

/**
 * The table actions of a function on the whole table. The attachment markers' statements, confined to the
 * markers' partitions by a LeadingKeys condition, are test/cdk/attachments.test.ts's.
 */
const onMarkerPartitions = (statement: { Condition?: unknown }) =>
  JSON.stringify(statement.Condition ?? {}).includes('dynamodb:LeadingKeys');

function dynamoActionsOfRole(synth: Synthesized, routeId: string): string[] {
  const policyId = logicalIdOf(synth.stack, `${routeId}/Role/DefaultPolicy`);
  return (
    allPolicyStatements(synth.template)
      // Without the attachment markers' own statements (LeadingKeys on their partitions: test/cdk/attachments.test.ts).
      .filter(({ policy, statement }) => policy === policyId && !onMarkerPartitions(statement))
      .flatMap(({ statement }) => actionsOf(statement))
      .filter((action) => action.startsWith('dynamodb:'))
      .sort()
  );
}

const turnsPath = '/v1/conversations/{conversationId}/turns';

/** The REST API method whose integration invokes this function (by default: the streamed turn route's). */
function turnMethod(synth: Synthesized, functionId = 'AgentTurnsStream') {
  const methods = Object.values(resourcesOfType(synth.template, 'AWS::ApiGateway::Method'));
  const matching = methods.filter((method) =>
    JSON.stringify(method.Properties.Integration ?? {}).includes(
      logicalIdOf(synth.stack, `${functionId}/Function`),
    ),
  );
  expect(matching).toHaveLength(1);
  return matching[0]?.Properties as Record<string, unknown> & {
    Integration: { Uri: { 'Fn::Join': [string, unknown[]] }; ResponseTransferMode: string; Type: string };
  };
}

const integrationUri = (method: ReturnType<typeof turnMethod>) =>
  JSON.stringify(method.Integration.Uri['Fn::Join'][1]);

describe('AgentMemory', () => {
  let iamStack: Synthesized;
  let jwtStack: Synthesized;

  beforeAll(() => {
    iamStack = synthStack();
    jwtStack = synthStack({
      auth: 'jwt',
      jwtIssuer: 'https://issuer.example.com/',
      jwtAudience: 'agents, dashboards',
      tenantClaim: 'custom:tenant',
    });
  });

  describe('table', () => {
    it('has the pk/sk string key schema, on-demand billing, PITR, TTL on expiresAt and AWS-managed encryption', () => {
      // Prepare / Act: synthesized in beforeAll
      // Assess
      iamStack.template.resourceCountIs('AWS::DynamoDB::Table', 1);
      iamStack.template.hasResourceProperties('AWS::DynamoDB::Table', {
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: Match.arrayWith([
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ]),
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        SSESpecification: { SSEEnabled: true, KMSMasterKeyId: Match.absent() },
        DeletionProtectionEnabled: true,
      });
    });

    it('has the two keys-only listing indexes: lpk or spk, sorted by lsk', () => {
      iamStack.template.hasResourceProperties('AWS::DynamoDB::Table', {
        AttributeDefinitions: Match.arrayWith([
          { AttributeName: 'lpk', AttributeType: 'S' },
          { AttributeName: 'lsk', AttributeType: 'S' },
          { AttributeName: 'spk', AttributeType: 'S' },
        ]),
        GlobalSecondaryIndexes: [
          {
            IndexName: 'listing',
            KeySchema: [
              { AttributeName: 'lpk', KeyType: 'HASH' },
              { AttributeName: 'lsk', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'KEYS_ONLY' },
          },
          {
            IndexName: 'listing-by-scope',
            KeySchema: [
              { AttributeName: 'spk', KeyType: 'HASH' },
              { AttributeName: 'lsk', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'KEYS_ONLY' },
          },
        ],
      });
    });

    it("leaves out listing-by-scope with the README's override for the first of two upgrade deploys", () => {
      // Act: CloudFormation creates one index per update of an existing table
      const { template } = synthConstruct(
        {},
        {
          configure: (memory) =>
            (memory.table.node.defaultChild as dynamodb.CfnTable).addPropertyDeletionOverride(
              'GlobalSecondaryIndexes.1',
            ),
        },
      );

      // Assess
      const [table] = Object.values(resourcesOfType(template, 'AWS::DynamoDB::Table'));
      const indexes = table?.Properties.GlobalSecondaryIndexes as Array<{ IndexName: string }>;
      expect(indexes.map((index) => index.IndexName)).toEqual(['listing']);
    });

    it('is retained on stack deletion and on replacement by default', () => {
      iamStack.template.hasResource('AWS::DynamoDB::Table', {
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
      });
    });

    it('follows removalPolicy and deletionProtection overrides, log groups included', () => {
      // Act
      const { template } = synthConstruct({
        removalPolicy: RemovalPolicy.DESTROY,
        deletionProtection: false,
      });
      // Assess
      template.hasResource('AWS::DynamoDB::Table', {
        DeletionPolicy: 'Delete',
        UpdateReplacePolicy: 'Delete',
        Properties: Match.objectLike({ DeletionProtectionEnabled: false }),
      });
      for (const logGroup of Object.values(resourcesOfType(template, 'AWS::Logs::LogGroup'))) {
        expect(logGroup.DeletionPolicy).toBe('Delete');
      }
    });
  });

  describe('functions', () => {
    it('creates one function per route plus the $default route function, the streaming turn function, the attachment sweep and the compactor', () => {
      iamStack.template.resourceCountIs('AWS::Lambda::Function', allFunctions.length);
      expect(allFunctions).toHaveLength(routes.length + 4);
      for (const route of allFunctions) {
        expect(iamStack.template.toJSON().Resources).toHaveProperty(
          logicalIdOf(iamStack.stack, `${route.id}/Function`),
        );
      }
    });

    it('runs every function on ARM64 with the newest Node runtime aws-cdk-lib offers, 22 or newer', () => {
      const newest = newestNodeMajorInCdk();
      expect(newest).toBeGreaterThanOrEqual(22);
      for (const fn of Object.values(resourcesOfType(iamStack.template, 'AWS::Lambda::Function'))) {
        expect(fn.Properties.Architectures).toEqual(['arm64']);
        expect(fn.Properties.Runtime).toBe(`nodejs${newest}.x`);
      }
    });

    it('gives every function tracing, explicit memory and timeout and Powertools settings, and no start-up flags', () => {
      const functions = resourcesOfType(iamStack.template, 'AWS::Lambda::Function');
      const turnFunctions = turnFunctionIds.map((id) => logicalIdOf(iamStack.stack, `${id}/Function`));
      for (const [id, fn] of Object.entries(functions)) {
        expect(fn.Properties).toMatchObject({
          TracingConfig: { Mode: 'Active' },
          Handler: 'index.handler',
          Environment: {
            Variables: expect.objectContaining({
              TABLE_NAME: { Ref: logicalIdOf(iamStack.stack, 'AgentMemory/Table') },
              POWERTOOLS_SERVICE_NAME: 'agent-memory',
              POWERTOOLS_METRICS_NAMESPACE: 'AgentMemory',
            }),
          },
        });
        if (turnFunctions.includes(id) || id === logicalIdOf(iamStack.stack, `${compactorId}/Function`))
          continue;
        // The sweep's five minutes are test/cdk/attachments.test.ts's.
        const timeout =
          id === logicalIdOf(iamStack.stack, `${resumeFunctionId}/Function`)
            ? 29
            : id === logicalIdOf(iamStack.stack, `${sweepFunction.id}/Function`)
              ? 300
              : 10;
        expect(fn.Properties).toMatchObject({ MemorySize: 512, Timeout: timeout });
        expect(Object.keys((fn.Properties.Environment as { Variables: object }).Variables).sort()).toEqual([
          'ATTACHMENTS_BUCKET',
          'POWERTOOLS_METRICS_NAMESPACE',
          'POWERTOOLS_SERVICE_NAME',
          'TABLE_NAME',
        ]);
      }
    });

    it('logs every function to its own log group with a retention', () => {
      const logGroups = resourcesOfType(iamStack.template, 'AWS::Logs::LogGroup');
      for (const fn of Object.values(resourcesOfType(iamStack.template, 'AWS::Lambda::Function'))) {
        const reference = (fn.Properties.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
        expect(logGroups[reference]?.Properties.RetentionInDays).toBe(30);
      }
      const referenced = new Set(
        Object.values(resourcesOfType(iamStack.template, 'AWS::Lambda::Function')).map(
          (fn) => (fn.Properties.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref,
        ),
      );
      expect(referenced.size).toBe(allFunctions.length);
    });

    it('gives JWT functions the tenant claim, and IAM functions none', () => {
      jwtStack.template.allResourcesProperties('AWS::Lambda::Function', {
        Environment: { Variables: Match.objectLike({ TENANT_CLAIM: 'custom:tenant' }) },
      });
      iamStack.template.allResourcesProperties('AWS::Lambda::Function', {
        Environment: { Variables: Match.objectLike({ TENANT_CLAIM: Match.absent() }) },
      });
    });

    it('sets TTL_SECONDS on every function when a retention is configured', () => {
      // Act
      const { template } = synthConstruct({ retention: Duration.days(7) });
      // Assess
      template.allResourcesProperties('AWS::Lambda::Function', {
        Environment: { Variables: Match.objectLike({ TTL_SECONDS: String(7 * 24 * 3600) }) },
      });
      iamStack.template.allResourcesProperties('AWS::Lambda::Function', {
        Environment: { Variables: Match.objectLike({ TTL_SECONDS: Match.absent() }) },
      });
    });
  });

  describe('IAM', () => {
    it.each(allFunctions)("gives $id only the '$access' table actions", (route) => {
      expect(dynamoActionsOfRole(iamStack, route.id)).toEqual([...expectedTableActions[route.access]].sort());
    });

    it('keeps the read path from writing and every route but delete and history edits from deleting', () => {
      const reads = routes.filter((route) => route.access === 'read');
      expect(reads.length).toBeGreaterThan(0);
      for (const route of reads) {
        expect(dynamoActionsOfRole(iamStack, route.id)).not.toEqual(
          expect.arrayContaining(['dynamodb:PutItem']),
        );
      }
      const deleting = allFunctions.filter((route) =>
        dynamoActionsOfRole(iamStack, route.id).includes('dynamodb:DeleteItem'),
      );
      // The chat route edits: a continuation replaces the message it continues.
      expect(deleting.map((route) => route.id).sort()).toEqual(['Chat', 'DeleteConversation', 'EditHistory']);
      // The turn route appends only: it never deletes, whatever the model does.
      expect(dynamoActionsOfRole(iamStack, turnRouteId)).toEqual([...expectedTableActions.write].sort());
    });

    it('grants DynamoDB actions only on this table (its indexes to the listing alone), never dynamodb:* and never on *', () => {
      const tableArn = { 'Fn::GetAtt': [logicalIdOf(iamStack.stack, 'AgentMemory/Table'), 'Arn'] };
      const listingPolicy = logicalIdOf(iamStack.stack, 'ListConversations/Role/DefaultPolicy');
      const statements = allPolicyStatements(iamStack.template);
      const dynamo = statements.filter(({ statement }) =>
        actionsOf(statement).some((action) => action.toLowerCase().startsWith('dynamodb:')),
      );
      expect(dynamo.length).toBeGreaterThan(0);
      for (const { statement } of statements) {
        expect(actionsOf(statement)).not.toContain('dynamodb:*');
        expect(actionsOf(statement)).not.toContain('*');
      }
      // The compactor reads the table's stream: its read actions on that stream, ListStreams on * (it has no
      // resource-level permission), both in a policy of their own.
      const streamPolicy = logicalIdOf(iamStack.stack, 'AgentMemory/CompactorStreamPolicy');
      const streamArn = { 'Fn::GetAtt': [logicalIdOf(iamStack.stack, 'AgentMemory/Table'), 'StreamArn'] };
      expect(
        dynamo
          .filter(({ policy }) => policy === streamPolicy)
          .map(({ statement }) => [actionsOf(statement).sort(), resourcesOf(statement)]),
      ).toEqual([
        [['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'], [streamArn]],
        [['dynamodb:ListStreams'], ['*']],
      ]);
      for (const { statement } of dynamo.filter(
        ({ policy }) => policy !== streamPolicy && policy !== listingPolicy,
      )) {
        expect(resourcesOf(statement)).toEqual([tableArn]);
      }
    });

    it('lets the listing query its two indexes and read heads by key, only the attributes it shows', () => {
      // Prepare
      const tableArn = { 'Fn::GetAtt': [logicalIdOf(iamStack.stack, 'AgentMemory/Table'), 'Arn'] };
      const indexArn = (index: string) => ({ 'Fn::Join': ['', [tableArn, `/index/${index}`]] });
      const listingPolicy = logicalIdOf(iamStack.stack, 'ListConversations/Role/DefaultPolicy');

      // Act
      const statements = allPolicyStatements(iamStack.template)
        .filter(({ policy }) => policy === listingPolicy)
        .map(({ statement }) => statement)
        .filter((statement) => actionsOf(statement).some((action) => action.startsWith('dynamodb:')));

      // Assess
      expect(statements).toEqual([
        {
          Effect: 'Allow',
          Action: 'dynamodb:Query',
          Resource: [indexArn('listing'), indexArn('listing-by-scope')],
        },
        {
          Effect: 'Allow',
          Action: 'dynamodb:BatchGetItem',
          Resource: tableArn,
          Condition: {
            'ForAllValues:StringEquals': {
              'dynamodb:Attributes': [
                'sk',
                'pk',
                'version',
                'messageCount',
                'createdAt',
                'updatedAt',
                'liveUntil',
                'deleted',
                'title',
                'meta',
                'revision',
                'lsk',
              ],
            },
            StringEqualsIfExists: { 'dynamodb:Select': 'SPECIFIC_ATTRIBUTES' },
          },
        },
      ]);
    });

    it("allows nothing on * but the X-Ray trace upload, alone in a tracing policy per function, and the compactor's ListStreams", () => {
      const streamPolicy = logicalIdOf(iamStack.stack, 'AgentMemory/CompactorStreamPolicy');
      const onStar = allPolicyStatements(iamStack.template).filter(
        ({ statement, policy }) => resourcesOf(statement).includes('*') && policy !== streamPolicy,
      );
      expect(onStar.length).toBe(allFunctions.length);
      for (const { statement } of onStar) {
        expect(actionsOf(statement).sort()).toEqual(['xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
      }
      for (const route of allFunctions) {
        const tracingPolicy = logicalIdOf(iamStack.stack, `${route.id}/TracingPolicy`);
        const statements = allPolicyStatements(iamStack.template).filter(
          ({ policy }) => policy === tracingPolicy,
        );
        expect(statements).toHaveLength(1);
        expect(
          resourcesOfType(iamStack.template, 'AWS::IAM::Policy')[tracingPolicy]?.Properties.Roles,
        ).toEqual([{ Ref: logicalIdOf(iamStack.stack, `${route.id}/Role`) }]);
      }
    });

    it('starts each function only once its tracing permission exists', () => {
      for (const route of allFunctions) {
        iamStack.template.hasResource('AWS::Lambda::Function', {
          Properties: Match.objectLike({ Description: Match.stringLikeRegexp(`: ${route.id} `) }),
          DependsOn: Match.arrayWith([logicalIdOf(iamStack.stack, `${route.id}/TracingPolicy`)]),
        });
      }
    });

    it('uses no managed policies: each role writes only its own log group', () => {
      iamStack.template.allResourcesProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
      const policyId = logicalIdOf(iamStack.stack, 'LoadMessages/Role/DefaultPolicy');
      iamStack.template.hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            {
              Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
              Effect: 'Allow',
              Resource: { 'Fn::GetAtt': [logicalIdOf(iamStack.stack, 'LoadMessages/LogGroup'), 'Arn'] },
            },
          ]),
        },
      });
      expect(iamStack.template.toJSON().Resources).toHaveProperty(policyId);
    });
  });

  describe('HTTP API', () => {
    function routeByKey(synth: Synthesized, routeKey: string) {
      const matches = Object.values(resourcesOfType(synth.template, 'AWS::ApiGatewayV2::Route')).filter(
        (route) => route.Properties.RouteKey === routeKey,
      );
      expect(matches).toHaveLength(1);
      return matches[0]?.Properties ?? {};
    }

    it('creates a route per entry of the route table it serves, plus $default', () => {
      iamStack.template.resourceCountIs('AWS::ApiGatewayV2::Route', httpRoutes.length);
      for (const route of httpRoutes) routeByKey(iamStack, route.routeKey);
      expect(httpRoutes.map((route) => route.id)).not.toContain('Chat');
    });

    it.each([
      ['IAM', () => iamStack, 'AWS_IAM'],
      ['JWT', () => jwtStack, 'JWT'],
    ])(
      'puts the %s authorizer on every route but the public health route, $default included',
      (_name, synth, type) => {
        for (const route of routes.filter((candidate) => candidate.entry !== undefined)) {
          const properties = routeByKey(synth(), `${route.method} ${route.path}`);
          expect(properties.AuthorizationType).toBe(route.public === true ? 'NONE' : type);
        }
        expect(routeByKey(synth(), '$default').AuthorizationType).toBe(type);
        expect(routes.filter((route) => route.public === true).map((route) => route.path)).toEqual([
          '/health',
        ]);
        for (const routeKey of [
          'POST /v1/conversations/{conversationId}/turns',
          'POST /v1/conversations/{conversationId}/edits',
        ]) {
          expect(routeByKey(synth(), routeKey).AuthorizationType).toBe(type);
        }
      },
    );

    it('configures the JWT authorizer from context and attaches it to the protected routes', () => {
      jwtStack.template.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 1);
      jwtStack.template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
        AuthorizerType: 'JWT',
        IdentitySource: ['$request.header.Authorization'],
        JwtConfiguration: { Issuer: 'https://issuer.example.com/', Audience: ['agents', 'dashboards'] },
      });
      const authorizerId = Object.keys(
        resourcesOfType(jwtStack.template, 'AWS::ApiGatewayV2::Authorizer'),
      )[0];
      for (const route of Object.values(resourcesOfType(jwtStack.template, 'AWS::ApiGatewayV2::Route'))) {
        if (route.Properties.AuthorizationType === 'NONE') continue;
        expect(route.Properties.AuthorizerId).toEqual({ Ref: authorizerId });
      }
    });

    it('integrates each route with its own function (payload format 2.0)', () => {
      iamStack.template.resourceCountIs('AWS::ApiGatewayV2::Integration', httpRoutes.length);
      iamStack.template.allResourcesProperties('AWS::ApiGatewayV2::Integration', {
        IntegrationType: 'AWS_PROXY',
        PayloadFormatVersion: '2.0',
      });
      const integrationOf = (routeKey: string) =>
        (routeByKey(iamStack, routeKey).Target as { 'Fn::Join': [string, [string, { Ref: string }]] })[
          'Fn::Join'
        ][1][1].Ref;
      for (const route of httpRoutes) {
        const integration = resourcesOfType(iamStack.template, 'AWS::ApiGatewayV2::Integration')[
          integrationOf(route.routeKey)
        ];
        expect(integration?.Properties.IntegrationUri).toEqual({
          'Fn::GetAtt': [logicalIdOf(iamStack.stack, `${route.id}/Function`), 'Arn'],
        });
      }
    });

    it('throttles the $default stage with the default limits and writes JSON access logs with a retention', () => {
      const logGroupId = logicalIdOf(iamStack.stack, 'AgentMemory/AccessLogs');
      iamStack.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
        StageName: '$default',
        AutoDeploy: true,
        DefaultRouteSettings: { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 },
        AccessLogSettings: {
          DestinationArn: { 'Fn::GetAtt': [logGroupId, 'Arn'] },
          Format: Match.anyValue(),
        },
      });
      const [stage] = Object.values(resourcesOfType(iamStack.template, 'AWS::ApiGatewayV2::Stage'));
      const format = JSON.parse(
        (stage?.Properties.AccessLogSettings as { Format: string } | undefined)?.Format ?? '',
      );
      expect(format).toMatchObject({ requestId: '$context.requestId', status: '$context.status' });
      iamStack.template.hasResourceProperties('AWS::Logs::LogGroup', {
        RetentionInDays: 30,
      });
      expect(
        resourcesOfType(iamStack.template, 'AWS::Logs::LogGroup')[logGroupId]?.Properties.RetentionInDays,
      ).toBe(30);
    });

    it('has no CORS configuration unless the cors prop enables it', () => {
      iamStack.template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
        ProtocolType: 'HTTP',
        CorsConfiguration: Match.absent(),
      });
      const { template } = synthConstruct({ cors: { allowOrigins: ['https://app.example.com'] } });
      template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
        CorsConfiguration: { AllowOrigins: ['https://app.example.com'] },
      });
    });
  });

  describe('monitoring', () => {
    it('alarms on API 5xx responses', () => {
      iamStack.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/ApiGateway',
        MetricName: '5xx',
        Statistic: 'Sum',
        Threshold: 5,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Dimensions: [{ Name: 'ApiId', Value: { Ref: logicalIdOf(iamStack.stack, 'AgentMemory/Api') } }],
      });
    });

    it.each(allFunctions)('alarms on $id errors, throttles and p99 duration near the timeout', (route) => {
      const dimensions = [
        { Name: 'FunctionName', Value: { Ref: logicalIdOf(iamStack.stack, `${route.id}/Function`) } },
      ];
      for (const metric of ['Errors', 'Throttles']) {
        iamStack.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          Namespace: 'AWS/Lambda',
          MetricName: metric,
          Statistic: 'Sum',
          Threshold: 1,
          Dimensions: dimensions,
        });
      }
      iamStack.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/Lambda',
        MetricName: 'Duration',
        ExtendedStatistic: 'p99',
        // 80% of the timeout: 10 s, a turn's 29 s, or the sweep's and the compactor's 5 minutes.
        Threshold: [...turnFunctionIds, resumeFunctionId].includes(route.id)
          ? 23_200
          : route.id === sweepFunction.id || route.id === compactorId
            ? 240_000
            : 8000,
        Dimensions: dimensions,
      });
    });

    it('has a dashboard and no alarm actions without a topic', () => {
      iamStack.template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
      // The HTTP API's and the streaming API's 5xx, the compactor's failure queue, and three per function.
      iamStack.template.resourceCountIs('AWS::CloudWatch::Alarm', 3 + 3 * allFunctions.length);
      iamStack.template.allResourcesProperties('AWS::CloudWatch::Alarm', { AlarmActions: Match.absent() });
    });

    it('notifies the alarm topic on alarm and on recovery', () => {
      // Act
      const { template } = synthConstruct((stack) => ({
        alarmTopic: sns.Topic.fromTopicArn(stack, 'Alarms', 'arn:aws:sns:eu-west-1:123456789012:alarms'),
      }));
      // Assess
      template.allResourcesProperties('AWS::CloudWatch::Alarm', {
        AlarmActions: ['arn:aws:sns:eu-west-1:123456789012:alarms'],
        OKActions: ['arn:aws:sns:eu-west-1:123456789012:alarms'],
      });
    });
  });

  describe('stack outputs', () => {
    it('exports the API URL and the table name', () => {
      iamStack.template.hasOutput('ApiUrl', {
        Value: {
          'Fn::Join': ['', Match.arrayWith([{ Ref: logicalIdOf(iamStack.stack, 'AgentMemory/Api') }])],
        },
      });
      iamStack.template.hasOutput('TableName', {
        Value: { Ref: logicalIdOf(iamStack.stack, 'AgentMemory/Table') },
      });
    });
  });

  describe('extension points', () => {
    it('applies routeOptions to a built-in route: memory, timeout and the duration alarm follow', () => {
      // Act
      const synth = synthConstruct({
        routeOptions: { LoadMessages: { memorySize: 1024, timeout: Duration.seconds(20) } },
      });
      // Assess
      const functionId = logicalIdOf(synth.stack, 'LoadMessages/Function');
      expect(resourcesOfType(synth.template, 'AWS::Lambda::Function')[functionId]?.Properties).toMatchObject({
        MemorySize: 1024,
        Timeout: 20,
      });
      synth.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'Duration',
        Threshold: 16_000,
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionId } }],
      });
    });

    it('rejects routeOptions for an unknown route', () => {
      expect(() => synthConstruct({ routeOptions: { LoadMesages: { memorySize: 1024 } } })).toThrow(
        /no route 'LoadMesages'/,
      );
    });

    it("rejects route environment that would override the construct's own variables", () => {
      expect(() =>
        synthConstruct({ routeOptions: { Health: { environment: { TABLE_NAME: 'other' } } } }),
      ).toThrow(/may not set TABLE_NAME/);
    });

    it('adds a route with its own function, options and IAM statements in one call (addRoute)', () => {
      // Act
      const synth = synthConstruct(
        {},
        {
          configure: (memory) =>
            memory.addRoute(
              { id: 'Extra', method: 'POST', path: '/v1/extra', entry: 'health.ts', access: 'read' },
              {
                timeout: Duration.seconds(25),
                environment: { MODEL_ID: 'some-model' },
                initialPolicy: [
                  new iam.PolicyStatement({
                    actions: ['bedrock:InvokeModel'],
                    resources: ['arn:aws:bedrock:eu-west-1::foundation-model/some-model'],
                  }),
                ],
              },
            ),
        },
      );
      // Assess
      const functionId = logicalIdOf(synth.stack, 'Extra/Function');
      expect(resourcesOfType(synth.template, 'AWS::Lambda::Function')[functionId]?.Properties).toMatchObject({
        Timeout: 25,
        Environment: {
          Variables: expect.objectContaining({ MODEL_ID: 'some-model', TABLE_NAME: expect.anything() }),
        },
      });
      synth.template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: 'POST /v1/extra',
        AuthorizationType: 'AWS_IAM',
      });
      expect(dynamoActionsOfRole(synth, 'Extra')).toEqual(['dynamodb:GetItem', 'dynamodb:Query']);
      synth.template.hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Action: 'bedrock:InvokeModel',
              Resource: 'arn:aws:bedrock:eu-west-1::foundation-model/some-model',
            }),
          ]),
        },
        Roles: [{ Ref: logicalIdOf(synth.stack, 'Extra/Role') }],
      });
    });

    it('rejects a second route with an existing id', () => {
      expect(() =>
        synthConstruct(
          {},
          {
            configure: (memory) =>
              memory.addRoute({
                id: 'Health',
                method: 'GET',
                path: '/v1/x',
                entry: 'health.ts',
                access: 'none',
              }),
          },
        ),
      ).toThrow(/'Health' already exists/);
    });

    it('refuses a public route that could touch the table', () => {
      expect(() =>
        synthConstruct(
          {},
          {
            configure: (memory) =>
              memory.addRoute({
                id: 'Open',
                method: 'GET',
                path: '/v1/open',
                entry: 'health.ts',
                access: 'read',
                public: true,
              }),
          },
        ),
      ).toThrow(/is public, so it may not access the table/);
    });

    it('grants embedding functions read, or read and write, access to this table only', () => {
      // Act
      const synth = synthConstruct(
        {},
        {
          configure: (memory, stack) => {
            const principal = (id: string) =>
              new iam.Role(stack, id, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
            memory.grantReadData(principal('Reader'));
            memory.grantReadWriteData(principal('Writer'));
          },
        },
      );
      // Assess
      const tableArn = { 'Fn::GetAtt': [logicalIdOf(synth.stack, 'Memory/Table'), 'Arn'] };
      const actionsOfRole = (roleId: string) => {
        const policyId = logicalIdOf(synth.stack, `${roleId}/DefaultPolicy`);
        const statements = allPolicyStatements(synth.template).filter(({ policy }) => policy === policyId);
        for (const { statement } of statements) expect(resourcesOf(statement)).toContainEqual(tableArn);
        return statements.flatMap(({ statement }) => actionsOf(statement));
      };
      expect(actionsOfRole('Reader')).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:Query']));
      expect(actionsOfRole('Reader')).not.toContain('dynamodb:PutItem');
      expect(actionsOfRole('Writer')).toEqual(
        expect.arrayContaining([
          'dynamodb:GetItem',
          'dynamodb:Query',
          'dynamodb:PutItem',
          'dynamodb:DeleteItem',
        ]),
      );
      expect(actionsOfRole('Writer')).not.toContain('dynamodb:*');
      // Everything the LangGraph checkpointer calls (lambda/checkpoints/checkpoint-table.ts).
      expect(actionsOfRole('Writer')).toEqual(expect.arrayContaining([...checkpointTableActions]));
      // The listing's two indexes by name (the store lists), never every index (`index/*`: cdk-nag's IAM5).
      const resources = JSON.stringify(
        allPolicyStatements(synth.template).map(({ statement }) => resourcesOf(statement)),
      );
      expect(resources).toContain('/index/listing-by-scope');
      expect(resources).not.toContain('/index/*');
    });
  });

  describe('the streaming API', () => {
    it('serves POST .../turns on a regional REST API that streams the response of its own turn function', () => {
      // Act
      const method = turnMethod(iamStack);

      // Assess
      iamStack.template.resourceCountIs('AWS::ApiGateway::RestApi', 1);
      iamStack.template.hasResourceProperties('AWS::ApiGateway::RestApi', {
        EndpointConfiguration: { Types: ['REGIONAL'] },
      });
      iamStack.template.hasResourceProperties('AWS::ApiGateway::Resource', { PathPart: 'turns' });
      expect(method.Integration).toMatchObject({ Type: 'AWS_PROXY', ResponseTransferMode: 'STREAM' });
      expect(integrationUri(method)).toContain('/response-streaming-invocations');
      expect(integrationUri(method)).toContain(logicalIdOf(iamStack.stack, 'AgentTurnsStream/Function'));
      const streamFunction = resourcesOfType(iamStack.template, 'AWS::Lambda::Function')[
        logicalIdOf(iamStack.stack, 'AgentTurnsStream/Function')
      ];
      expect(streamFunction?.Properties).toMatchObject({ Timeout: 29, MemorySize: 1024 });
    });

    it('lets only this API invoke the streaming function, and only for its method', () => {
      const permissions = Object.values(resourcesOfType(iamStack.template, 'AWS::Lambda::Permission')).filter(
        (permission) =>
          JSON.stringify(permission.Properties.FunctionName).includes(
            logicalIdOf(iamStack.stack, 'AgentTurnsStream/Function'),
          ),
      );
      expect(permissions).toHaveLength(1);
      expect(permissions[0]?.Properties.Principal).toBe('apigateway.amazonaws.com');
      expect(JSON.stringify(permissions[0]?.Properties.SourceArn)).toContain(
        `/POST${turnsPath.replace('{conversationId}', '*')}`,
      );
    });

    it("serves useChat's routes, POST /v1/chats and its GET .../stream, streamed from their own functions", () => {
      // Act
      const chat = turnMethod(iamStack, 'Chat');
      const resume = turnMethod(iamStack, 'ResumeChatStream');
      const functions = resourcesOfType(iamStack.template, 'AWS::Lambda::Function');

      // Assess
      expect(chat).toMatchObject({ HttpMethod: 'POST', AuthorizationType: 'AWS_IAM' });
      expect(resume).toMatchObject({ HttpMethod: 'GET', AuthorizationType: 'AWS_IAM' });
      for (const method of [chat, resume]) {
        expect(method.Integration).toMatchObject({ Type: 'AWS_PROXY', ResponseTransferMode: 'STREAM' });
        expect(integrationUri(method)).toContain('/response-streaming-invocations');
      }
      iamStack.template.hasResourceProperties('AWS::ApiGateway::Resource', { PathPart: 'chats' });
      iamStack.template.hasResourceProperties('AWS::ApiGateway::Resource', { PathPart: 'stream' });
      // The chat function runs the model as the turn functions do; the resume function only reads.
      const chatFunction = functions[logicalIdOf(iamStack.stack, 'Chat/Function')]?.Properties;
      const turnFunction = functions[logicalIdOf(iamStack.stack, 'AgentTurns/Function')]?.Properties;
      expect(chatFunction).toMatchObject({ Timeout: 29, MemorySize: 1024 });
      expect(chatFunction?.Environment).toEqual(turnFunction?.Environment);
      expect(dynamoActionsOfRole(iamStack, 'ResumeChatStream')).toEqual(
        [...expectedTableActions.read].sort(),
      );
      expect(turnMethod(jwtStack, 'Chat')).toMatchObject({ AuthorizationType: 'CUSTOM' });
      expect(turnMethod(jwtStack, 'ResumeChatStream')).toMatchObject({ AuthorizationType: 'CUSTOM' });
    });

    it('applies the cors prop to the streaming API: preflight, function responses, gateway refusals', () => {
      // Act
      const { template, stack } = synthConstruct({
        cors: { allowOrigins: ['https://app.example.com'], allowHeaders: ['authorization', 'content-type'] },
      });

      // Assess: API Gateway answers OPTIONS (no authorizer: browsers send no credentials with a preflight) ...
      const methods = Object.values(resourcesOfType(template, 'AWS::ApiGateway::Method'));
      const options = methods.filter((method) => method.Properties.HttpMethod === 'OPTIONS');
      expect(options.length).toBeGreaterThanOrEqual(2);
      for (const method of options) {
        expect(method.Properties).toMatchObject({ AuthorizationType: 'NONE', Integration: { Type: 'MOCK' } });
        expect(JSON.stringify(method.Properties.Integration)).toContain("'https://app.example.com'");
      }
      // ... the streaming functions add the headers to what they answer, and so do the gateway's refusals.
      for (const id of ['AgentTurnsStream', 'Chat', 'ResumeChatStream']) {
        const fn = resourcesOfType(template, 'AWS::Lambda::Function')[logicalIdOf(stack, `${id}/Function`)];
        expect(fn?.Properties.Environment).toMatchObject({
          Variables: { CORS_ALLOW_ORIGINS: 'https://app.example.com' },
        });
      }
      template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
        ResponseType: 'UNAUTHORIZED',
        ResponseParameters: {
          'gatewayresponse.header.Access-Control-Allow-Origin': "'https://app.example.com'",
        },
      });
      iamStack.template.resourcePropertiesCountIs('AWS::ApiGateway::Method', { HttpMethod: 'OPTIONS' }, 0);
      const httpFunction = resourcesOfType(template, 'AWS::Lambda::Function')[
        logicalIdOf(stack, 'AgentTurns/Function')
      ];
      expect(httpFunction?.Properties.Environment).not.toMatchObject({
        Variables: { CORS_ALLOW_ORIGINS: expect.anything() },
      });
    });

    it('authorizes with IAM (SigV4) in IAM mode: the tenant is the caller, as on the HTTP API', () => {
      expect(turnMethod(iamStack)).toMatchObject({ AuthorizationType: 'AWS_IAM' });
      iamStack.template.resourceCountIs('AWS::ApiGateway::Authorizer', 0);
    });

    it('authorizes with a JWT TOKEN authorizer in JWT mode, uncached, configured with the issuer and audiences', () => {
      // Act
      const method = turnMethod(jwtStack);

      // Assess
      const authorizerId = logicalIdOf(jwtStack.stack, 'StreamingAuthorizer');
      expect(method).toMatchObject({ AuthorizationType: 'CUSTOM', AuthorizerId: { Ref: authorizerId } });
      jwtStack.template.hasResourceProperties('AWS::ApiGateway::Authorizer', {
        Type: 'TOKEN',
        IdentitySource: 'method.request.header.Authorization',
        AuthorizerResultTtlInSeconds: 0,
      });
      const authorizerFunction = resourcesOfType(jwtStack.template, 'AWS::Lambda::Function')[
        logicalIdOf(jwtStack.stack, 'StreamingJwtAuthorizer/Function')
      ];
      expect(authorizerFunction?.Properties.Environment).toMatchObject({
        Variables: { JWT_ISSUER: 'https://issuer.example.com/', JWT_AUDIENCE: 'agents,dashboards' },
      });
      // The turn function reads the configured tenant claim from the verified claims, as the HTTP API's does.
      const streamFunction = resourcesOfType(jwtStack.template, 'AWS::Lambda::Function')[
        logicalIdOf(jwtStack.stack, 'AgentTurnsStream/Function')
      ];
      expect(streamFunction?.Properties.Environment).toMatchObject({
        Variables: { TENANT_CLAIM: 'custom:tenant' },
      });
    });

    it('gives the authorizer no table access and the streaming turn function exactly the write actions', () => {
      const actionsOfRole = (synth: Synthesized, id: string) => {
        const policy = logicalIdOf(synth.stack, `${id}/Role/DefaultPolicy`);
        return allPolicyStatements(synth.template)
          .filter((entry) => entry.policy === policy)
          .flatMap(({ statement }) => actionsOf(statement))
          .filter((action) => action.startsWith('dynamodb:'))
          .sort();
      };
      expect(actionsOfRole(jwtStack, 'StreamingJwtAuthorizer')).toEqual([]);
      expect(actionsOfRole(jwtStack, 'AgentTurnsStream')).toEqual(actionsOfRole(jwtStack, 'AgentTurns'));
    });

    it('throttles the stage, logs access as JSON, traces, and answers gateway refusals in the contract shape', () => {
      iamStack.template.hasResourceProperties('AWS::ApiGateway::Stage', {
        StageName: 'stream',
        TracingEnabled: true,
        MethodSettings: Match.arrayWith([
          Match.objectLike({ ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200, HttpMethod: '*' }),
        ]),
        AccessLogSetting: Match.objectLike({
          Format: Match.stringLikeRegexp('"requestId":"\\$context.requestId"'),
        }),
      });
      iamStack.template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
        ResponseType: 'UNAUTHORIZED',
        StatusCode: '401',
        ResponseTemplates: {
          'application/json': JSON.stringify({
            error: { code: 'unauthorized', message: 'The request carries no valid token.' },
          }),
        },
      });
      iamStack.template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
        ResponseType: 'THROTTLED',
        StatusCode: '429',
      });
    });

    it('alarms on the API 5xx and the streaming function, and outputs StreamingApiUrl', () => {
      iamStack.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/ApiGateway',
        MetricName: '5XXError',
        Threshold: 5,
      });
      iamStack.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'Errors',
        Dimensions: [
          { Name: 'FunctionName', Value: { Ref: logicalIdOf(iamStack.stack, 'AgentTurnsStream/Function') } },
        ],
      });
      iamStack.template.hasOutput('StreamingApiUrl', {});
    });

    it('is left out with streaming: false', () => {
      const { template } = synthConstruct({ streaming: false });
      template.resourceCountIs('AWS::ApiGateway::RestApi', 0);
      // One per route, the $default route's, the attachment sweep and the compactor.
      template.resourceCountIs(
        'AWS::Lambda::Function',
        routes.filter((route) => route.entry !== undefined).length + 3,
      );
    });
  });

  describe('summaries', () => {
    it("streams the table's new images, and wakes the compactor only on heads marked summaryDue", () => {
      iamStack.template.hasResourceProperties('AWS::DynamoDB::Table', {
        StreamSpecification: { StreamViewType: 'NEW_IMAGE' },
      });
      iamStack.template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
      iamStack.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionName: { Ref: logicalIdOf(iamStack.stack, `${compactorId}/Function`) },
        EventSourceArn: { 'Fn::GetAtt': [logicalIdOf(iamStack.stack, 'AgentMemory/Table'), 'StreamArn'] },
        StartingPosition: 'LATEST',
        FilterCriteria: {
          Filters: [
            {
              Pattern: JSON.stringify({
                dynamodb: { Keys: { sk: { S: ['MSG#~HEAD'] } }, NewImage: { summaryDue: { BOOL: [true] } } },
              }),
            },
          ],
        },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        MaximumRetryAttempts: 5,
        MaximumRecordAgeInSeconds: 86_400,
        DestinationConfig: {
          OnFailure: {
            Destination: {
              'Fn::GetAtt': [logicalIdOf(iamStack.stack, 'AgentMemory/CompactorFailures'), 'Arn'],
            },
          },
        },
      });
    });

    it("runs the compactor with the turns' model and context policy, 5 minutes, no API route", () => {
      const functions = resourcesOfType(iamStack.template, 'AWS::Lambda::Function');
      const compactor = functions[logicalIdOf(iamStack.stack, `${compactorId}/Function`)];
      const turn = functions[logicalIdOf(iamStack.stack, `${turnRouteId}/Function`)];
      const variables = (fn: typeof turn) =>
        (fn?.Properties.Environment as { Variables: Record<string, unknown> } | undefined)?.Variables ?? {};
      expect(compactor?.Properties).toMatchObject({ Timeout: 300, MemorySize: 512 });
      for (const name of [
        'MODEL_PROVIDER',
        'MODEL_ID',
        'MODEL_TIMEOUT_MS',
        'CONTEXT_MAX_MESSAGES',
        'CONTEXT_MAX_TOKENS',
      ]) {
        expect(variables(compactor)[name]).toEqual(variables(turn)[name]);
      }
      const integrations = JSON.stringify(
        resourcesOfType(iamStack.template, 'AWS::ApiGatewayV2::Integration'),
      );
      expect(integrations).not.toContain(logicalIdOf(iamStack.stack, `${compactorId}/Function`));
    });

    it('keeps the records the compactor gave up on in an encrypted, TLS-only queue, alarmed on its depth', () => {
      const queue = logicalIdOf(iamStack.stack, 'AgentMemory/CompactorFailures');
      iamStack.template.hasResourceProperties('AWS::SQS::Queue', {
        SqsManagedSseEnabled: true,
        MessageRetentionPeriod: 1_209_600,
      });
      iamStack.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
      iamStack.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Threshold: 1,
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queue, 'QueueName'] } }],
      });
    });

    it('is left out with summaries: false: no stream, no compactor, no queue', () => {
      const { template } = synthConstruct({ summaries: false });
      template.hasResourceProperties('AWS::DynamoDB::Table', { StreamSpecification: Match.absent() });
      template.resourceCountIs('AWS::Lambda::EventSourceMapping', 0);
      template.resourceCountIs('AWS::SQS::Queue', 0);
      template.resourceCountIs('AWS::Lambda::Function', allFunctions.length - 1);
    });
  });
});
