import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as rest from 'aws-cdk-lib/aws-apigateway';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer, HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  type AttachmentAccess,
  fallbackRoute,
  type RouteDefinition,
  routes,
  type TableAccess,
} from '../lambda/http/routes.js';
import { listedHeadAttributes } from '../lambda/memory/beside-messages-requests.js';
import { keys, listing, listingIndexes, ttlAttribute } from '../lambda/memory/table.js';
import {
  type AgentModelProps,
  agentModelSettings,
  defaultModelTimeout,
  turnFunctionDefaults,
  validateModelTimeout,
} from './agent-model.js';
import { MemoryFunction } from './memory-function.js';
import { AgentMemoryPropsError } from './props-error.js';

/** How callers authenticate; the tenant of every request comes from here, never from the request. */
export type AgentMemoryAuth =
  /** SigV4-signed requests; the tenant is the calling IAM principal. */
  | { readonly type: 'iam' }
  | {
      readonly type: 'jwt';
      /** The token issuer, e.g. `https://cognito-idp.eu-west-1.amazonaws.com/<pool id>`. */
      readonly issuer: string;
      /** Accepted `aud` (or `client_id`) values; at least one. */
      readonly audience: readonly string[];
      /**
       * The claim that names the tenant.
       * @default 'sub'
       */
      readonly tenantClaim?: string;
      /**
       * Where the streaming API's authorizer gets the issuer's signing keys (the HTTP API finds them itself).
       * @default - the `jwks_uri` of `<issuer>/.well-known/openid-configuration`, as API Gateway's JWT authorizer
       */
      readonly jwksUri?: string;
    };

export interface AgentMemoryAttachments {
  /**
   * A content part (or string content) whose JSON is over this many bytes goes to S3 (1024-262144).
   * @default 65536
   */
  readonly thresholdBytes?: number;
}

export interface AgentMemoryThrottling {
  /** Steady-state requests per second for the whole stage. */
  readonly rateLimit: number;
  /** Requests the stage accepts in a burst above the rate. */
  readonly burstLimit: number;
}

/** Per-route function settings: the one place a route with extra needs (e.g. a model call) is configured. */
export interface RouteOptions {
  /**
   * Memory in MB.
   * @default 512
   */
  readonly memorySize?: number;
  /**
   * Function timeout; API Gateway answers 503 after 30 s whatever this is.
   * @default Duration.seconds(10)
   */
  readonly timeout?: Duration;
  /**
   * Extra environment variables for this route's function; `TABLE_NAME`, `TENANT_CLAIM` and `TTL_SECONDS`
   * are the construct's.
   * @default - only the construct's own (table, tenant claim, retention, Powertools)
   */
  readonly environment?: { readonly [key: string]: string };
  /**
   * Extra IAM statements for this route's function (e.g. `bedrock:InvokeModel` on one model).
   * @default - only the table access of the route's `access` level
   */
  readonly initialPolicy?: readonly iam.PolicyStatement[];
}

export interface AgentMemoryProps {
  /**
   * How callers authenticate. Every route but `GET /health` requires it, the `$default` route included.
   * @default { type: 'iam' }
   */
  readonly auth?: AgentMemoryAuth;

  /**
   * Conversations expire this long after their last write (DynamoDB TTL on `expiresAt`).
   * @default - conversations are kept until deleted
   */
  readonly retention?: Duration;

  /**
   * Retention of the functions' logs and of the API access logs.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Stage-wide throttling of the HTTP API.
   * @default { rateLimit: 100, burstLimit: 200 }
   */
  readonly throttling?: AgentMemoryThrottling;

  /**
   * CORS preflight configuration, for browser clients: the HTTP API's, and the streaming API's (its preflight, its
   * functions' responses and its gateway errors), for `useChat` straight to the stack.
   * @default - no CORS: browsers may not call the APIs from other origins
   */
  readonly cors?: apigw.CorsPreflightOptions;

  /**
   * What happens to the table and the log groups when they leave the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * DynamoDB deletion protection on the table.
   * @default true
   */
  readonly deletionProtection?: boolean;

  /**
   * Where alarms notify (on alarm and back to OK).
   * @default - alarms are created without actions
   */
  readonly alarmTopic?: sns.ITopic;

  /**
   * Settings for built-in routes, by route id (`AppendMessages`, `AgentTurns`, `LoadMessages`, ..., `NotFound`).
   * `AgentTurns` defaults to a 29 s timeout and 1024 MB; its model variables and permission come from `agent`.
   * @default - every route gets the defaults of `RouteOptions`
   */
  readonly routeOptions?: { readonly [routeId: string]: RouteOptions };

  /**
   * Serve streamed agent turns (`Accept: text/event-stream`) and the AI SDK's chat routes (`POST /v1/chats`, its
   * resume `GET`) on a second API that can stream: an API Gateway REST API with response streaming
   * (`streamingUrl`), with the same authentication and tenancy as the HTTP API. Its turn function is the HTTP
   * API's turn route built as a response-streaming handler; the chat routes and the authorizer of JWT mode have
   * functions of their own. Without it there are no chat routes.
   * @default true
   */
  readonly streaming?: boolean;

  /**
   * Keep a summary of each long conversation, so that a turn's context (the summary and the newest messages after
   * it) still carries what was said before its window: a compactor function, triggered by the table's stream on
   * the writes that carry a conversation across a multiple of 10 messages, folds what left the window into the
   * summary with the agent's model. No turn waits for it. Off: no stream, no compactor; turns see the newest
   * messages only.
   * @default true
   */
  readonly summaries?: boolean;

  /**
   * Serve the memory inspector, a web page that shows the tenant's conversations through this API, at
   * `GET /inspector` (`inspectorUrl`). The page is public and holds no data; every request it makes carries the
   * reader's bearer token to the API's authorizer, so it needs `auth` of type `jwt` (a browser cannot sign SigV4).
   * @default false
   */
  readonly inspector?: boolean;

  /**
   * Large content (images, files, big tool results) in an S3 bucket: a content part over `thresholdBytes` leaves
   * its message's item for the bucket, so a message may be as large as a request (6 MB), and uploads past that go
   * through presigned URLs. `false`: no bucket; every message fits its item (256 KiB).
   * @default { thresholdBytes: 65536 }
   */
  readonly attachments?: false | AgentMemoryAttachments;

  /**
   * The model of the agent turn route (`POST /v1/conversations/{conversationId}/turns`).
   * @default - Amazon Bedrock with Amazon Nova Lite through the inference profile of the stack's Region, the
   *   defaults of `AgentModelProps`
   */
  readonly agent?: AgentModelProps;
}

const writeActions = [
  'dynamodb:GetItem',
  'dynamodb:Query',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:ConditionCheckItem',
] as const;

/** A route's table access, or the compactor's: reads, the summary's Put and the head's ConditionCheck. */
type FunctionAccess = TableAccess | 'summaries';

/**
 * IAM actions on the table per route access level. Transactions need no action of their own: DynamoDB
 * authorizes each Put/Update/Delete/ConditionCheck inside them. Nothing else (no Scan, no DescribeTable), and
 * nothing on the indexes. `edit` is `write` plus the deletes of the messages a history edit replaces. `list`
 * is apart (`listingStatements`): it queries the listing indexes and reads heads by key.
 */
const tableActions: { readonly [access in Exclude<FunctionAccess, 'list'>]: readonly string[] } = {
  read: ['dynamodb:GetItem', 'dynamodb:Query'],
  write: writeActions,
  edit: [...writeActions, 'dynamodb:DeleteItem'],
  delete: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:DeleteItem', 'dynamodb:ConditionCheckItem'],
  summaries: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:ConditionCheckItem'],
  none: [],
};

/** What `grantReadData` permits (DynamoDB's read actions but those of streams, which the table has none of). */
const embeddingReadActions = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:Scan',
  'dynamodb:ConditionCheckItem',
  'dynamodb:DescribeTable',
] as const;

/** What `grantReadWriteData` permits besides reads. */
const embeddingWriteActions = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
] as const;

/**
 * S3 actions per attachment access level, on the conversations' objects (`t/*`) and on waiting uploads
 * (`uploads/*`): presigning needs the signer's own permission for what the URL does.
 */
const attachmentActions: {
  readonly [access in AttachmentAccess]: {
    readonly objects: readonly string[];
    readonly uploads: readonly string[];
  };
} = {
  read: { objects: ['s3:GetObject'], uploads: [] },
  write: { objects: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], uploads: ['s3:GetObject'] },
  delete: { objects: ['s3:DeleteObject'], uploads: [] },
  upload: { objects: [], uploads: ['s3:PutObject'] },
};

/** The table actions of attachment markers, only on their partitions (lambda/memory/attachments/markers.ts). */
const markerActions = ['dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'];

/** The scheduled sweep of orphaned attachments (lambda/maintenance/sweep-attachments.ts). */
const attachmentSweep = {
  id: 'SweepAttachments',
  entry: '../../maintenance/sweep-attachments.ts',
  access: 'none',
} as const;

/** The compactor's function (lambda/summaries/stream-handler.ts), its entry relative to the route handlers. */
const compactorFunction = {
  id: 'Compactor',
  entry: '../../summaries/stream-handler.ts',
  access: 'summaries',
} as const;
/** Model calls of 20 s each, folding a backlog chunk by chunk; the handler stops starting them 25 s before this. */
const compactorTimeout = Duration.minutes(5);

/**
 * The listing route's function: Query on the two listing indexes (keys only) and BatchGetItem of the heads it
 * names, limited by IAM to the attributes of a head the listing shows, as AWS's fine-grained access control
 * does it: it can read no message, no idempotency record, no checkpoint.
 */
function listingStatements(table: dynamodb.ITable): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({
      actions: ['dynamodb:Query'],
      resources: [listing.index, listing.scopedIndex].map((index) => `${table.tableArn}/index/${index}`),
    }),
    new iam.PolicyStatement({
      actions: ['dynamodb:BatchGetItem'],
      resources: [table.tableArn],
      conditions: {
        'ForAllValues:StringEquals': { 'dynamodb:Attributes': ['sk', ...listedHeadAttributes] },
        StringEqualsIfExists: { 'dynamodb:Select': 'SPECIFIC_ATTRIBUTES' },
      },
    }),
  ];
}

/** The inspector page's function: public, no table access, the page built next to its bundle (inspector/). */
const inspectorPage = {
  id: 'InspectorPage',
  method: 'GET',
  path: '/inspector',
  entry: '../../../inspector/page-handler.ts',
  access: 'none',
  public: true,
} as const satisfies RouteDefinition;
const inspectorBuildScript = fileURLToPath(new URL('../inspector/build.ts', import.meta.url));

const handlersDirectory = new URL('../lambda/http/handlers/', import.meta.url);

/**
 * Durable conversation memory for AI agents: a DynamoDB table, one Lambda function per route (each with only
 * the table actions its route needs), an authenticated HTTP API in front, alarms and a dashboard.
 */
export class AgentMemory extends Construct {
  /** The conversation table. */
  public readonly table: dynamodb.ITable;
  /** The HTTP API. */
  public readonly api: apigw.IHttpApi;
  /** The API's base URL (the `$default` stage), ending in `/`. */
  public readonly url: string;
  /**
   * The route functions, by route id (`AppendMessages`, ..., and `NotFound` for the `$default` route), plus the
   * streaming API's (`AgentTurnsStream`, and `StreamingJwtAuthorizer` with JWT auth).
   */
  public readonly functions: { readonly [routeId: string]: lambda.IFunction };
  /** The REST API that streams turns; undefined with `streaming: false`. */
  public readonly streamingApi: rest.IRestApi | undefined;
  /** Its base URL (the `stream` stage), ending in `/`: send streamed turns here. */
  public readonly streamingUrl: string | undefined;
  /** The memory inspector's address; undefined unless `inspector` is on. */
  public readonly inspectorUrl: string | undefined;
  /** The attachments bucket; undefined with `attachments: false`. */
  public readonly attachmentsBucket: s3.IBucket | undefined;
  /** The compactor (stream-triggered); undefined with `summaries: false`. */
  public readonly compactor: lambda.IFunction | undefined;
  /** Where stream records the compactor failed on (after its retries) are kept; undefined without it. */
  public readonly compactorFailures: sqs.IQueue | undefined;

  private readonly conversationTable: dynamodb.Table;
  private readonly bucket: s3.Bucket | undefined;
  private readonly httpApi: apigw.HttpApi;
  private readonly authorizer: apigw.IHttpRouteAuthorizer;
  private readonly functionEnvironment: { readonly [key: string]: string };
  private readonly logRetention: logs.RetentionDays;
  private readonly removalPolicy: RemovalPolicy;
  private readonly alarmAction: SnsAction | undefined;
  private readonly routeFunctions: { [routeId: string]: lambda.IFunction } = {};
  private readonly dashboard: cloudwatch.Dashboard;
  private agentModel: ReturnType<typeof agentModelSettings> | undefined;

  constructor(scope: Construct, id: string, props: AgentMemoryProps = {}) {
    super(scope, id);

    const auth = validateAuth(props.auth ?? { type: 'iam' });
    const ttlSeconds = props.retention === undefined ? undefined : validateRetention(props.retention);
    const throttling = validateThrottling(props.throttling ?? { rateLimit: 100, burstLimit: 200 });
    const knownRouteIds = new Set([...routes.map((route) => route.id), fallbackRoute.id]);
    for (const routeId of Object.keys(props.routeOptions ?? {})) {
      if (!knownRouteIds.has(routeId)) {
        throw new Error(`routeOptions: no route '${routeId}' (known: ${[...knownRouteIds].join(', ')}).`);
      }
    }
    this.logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    this.removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.alarmAction = props.alarmTopic === undefined ? undefined : new SnsAction(props.alarmTopic);

    // Key schema and TTL attribute: lambda/memory/table.ts (the same definition DynamoDB Local gets).
    this.conversationTable = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      timeToLiveAttribute: ttlAttribute,
      deletionProtection: props.deletionProtection ?? true,
      removalPolicy: this.removalPolicy,
      // The compactor's trigger: it is woken on head images marked `summaryDue` (filtered by the event source).
      ...((props.summaries ?? true) ? { stream: dynamodb.StreamViewType.NEW_IMAGE } : {}),
    });
    // The tenant's listing (lambda/memory/table.ts): keys only, so only a head's listing keys write them.
    for (const index of listingIndexes) {
      this.conversationTable.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: { name: index.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: index.sortKey, type: dynamodb.AttributeType.STRING },
        projectionType: dynamodb.ProjectionType.KEYS_ONLY,
      });
    }
    this.table = this.conversationTable;

    const attachments =
      props.attachments === false ? undefined : validateAttachments(props.attachments ?? {});
    this.bucket = attachments && this.addAttachmentsBucket(ttlSeconds, props.cors);
    this.attachmentsBucket = this.bucket;

    this.functionEnvironment = {
      TABLE_NAME: this.conversationTable.tableName,
      ...(auth.type === 'jwt' ? { TENANT_CLAIM: auth.tenantClaim ?? 'sub' } : {}),
      ...(ttlSeconds === undefined ? {} : { TTL_SECONDS: String(ttlSeconds) }),
      ...(this.bucket === undefined ? {} : { ATTACHMENTS_BUCKET: this.bucket.bucketName }),
      ...(attachments?.thresholdBytes === undefined
        ? {}
        : { ATTACHMENT_THRESHOLD_BYTES: String(attachments.thresholdBytes) }),
    };

    this.authorizer =
      auth.type === 'jwt'
        ? new HttpJwtAuthorizer('JwtAuthorizer', auth.issuer, { jwtAudience: [...auth.audience] })
        : new HttpIamAuthorizer();

    this.httpApi = new apigw.HttpApi(this, 'Api', {
      description: 'Agent memory: durable conversation history for AI agents.',
      // The stage is defined below, with throttling and access logs.
      createDefaultStage: false,
      ...(props.cors === undefined ? {} : { corsPreflight: props.cors }),
    });
    this.api = this.httpApi;

    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: this.logRetention,
      removalPolicy: this.removalPolicy,
    });
    const stage = new apigw.HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: throttling,
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(accessLogFields)),
      },
    });
    this.url = stage.url;

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.hours(3),
    });
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'API requests and errors',
        width: 12,
        left: [this.httpApi.metricCount({ statistic: 'Sum', period: Duration.minutes(1) })],
        right: [
          this.httpApi.metricClientError({ statistic: 'Sum', period: Duration.minutes(1) }),
          this.httpApi.metricServerError({ statistic: 'Sum', period: Duration.minutes(1) }),
        ],
      }),
      new cloudwatch.GraphWidget({
        title: 'API latency (p50, p99)',
        width: 12,
        left: [
          this.httpApi.metricLatency({ statistic: 'p50', period: Duration.minutes(1) }),
          this.httpApi.metricLatency({ statistic: 'p99', period: Duration.minutes(1) }),
        ],
      }),
    );
    this.addAlarm(
      'Api5xxAlarm',
      this.httpApi.metricServerError({ statistic: 'Sum', period: Duration.minutes(5) }),
      5,
      'The API answered 5xx at least 5 times in 5 minutes (errors, timeouts, or 503 under contention).',
    );

    // The model props are checked before any function is bundled (against each model route's timeout below).
    const [firstModelRoute] = routes.filter((route) => route.model === true);
    this.agentModel = agentModelSettings(
      this,
      props.agent ?? {},
      (firstModelRoute && functionTimeout(firstModelRoute, props)) ?? turnFunctionDefaults.timeout,
    );
    for (const route of routes) {
      if (route.entry === undefined) continue; // served by the streaming front only
      const fn = this.addRoute(route, this.routeFunctionOptions(route, props));
      if (route.model === true) this.agentModel?.secret?.encryptionKey?.grantDecrypt(fn);
    }
    // Unknown paths and methods: the function answers the contract's 404/405, behind the authorizer too.
    const notFound = this.addFunction(fallbackRoute, props.routeOptions?.[fallbackRoute.id]);
    new apigw.HttpRoute(this, `${fallbackRoute.id}Route`, {
      httpApi: this.httpApi,
      routeKey: apigw.HttpRouteKey.DEFAULT,
      integration: new HttpLambdaIntegration('Integration', notFound),
      authorizer: this.authorizer,
    });
    if (props.inspector === true) {
      if (auth.type !== 'jwt') {
        throw new AgentMemoryPropsError(
          'inspector',
          "needs auth of type 'jwt': the page sends the reader's bearer token, and with IAM a browser would have " +
            'to hold AWS credentials to sign SigV4. Use the inspector of the local server (npm start), or deploy ' +
            'with JWT auth.',
        );
      }
      this.addInspectorPage();
      this.inspectorUrl = `${this.url}inspector`;
    }
    if (this.bucket !== undefined) this.addAttachmentSweep();
    if (props.streaming ?? true) {
      const streaming = this.addStreamingApi(auth, throttling, props);
      this.streamingApi = streaming;
      this.streamingUrl = streaming.url;
    }
    if (props.summaries ?? true) {
      const { compactor, failures } = this.addCompactor();
      this.compactor = compactor;
      this.compactorFailures = failures;
    }
    this.functions = this.routeFunctions;
  }

  /**
   * The streaming front (API Gateway REST API, `responseTransferMode: STREAM`): every route with a
   * `streamingEntry`, each with its own response-streaming function. An HTTP API cannot stream and a function URL
   * has neither a JWT authorizer nor throttling or access logs, so this is a REST API with the same auth as the
   * HTTP API: IAM (SigV4 for `execute-api`, the tenant is the caller's principal) or JWT through a TOKEN
   * authorizer function that verifies the token as the HTTP API's authorizer does and hands the handler its
   * claims (the same tenant claim). Regional: an edge-optimized API would cut streams idle for 30 s.
   */
  private addStreamingApi(
    auth: AgentMemoryAuth,
    throttling: AgentMemoryThrottling,
    props: AgentMemoryProps,
  ): rest.RestApi {
    const accessLogs = new logs.LogGroup(this, 'StreamingAccessLogs', {
      retention: this.logRetention,
      removalPolicy: this.removalPolicy,
    });
    const cors = props.cors?.allowOrigins?.length ? props.cors : undefined;
    const api = new rest.RestApi(this, 'StreamingApi', {
      description: 'Agent memory: streamed agent turns (Server-Sent Events) and chats (useChat).',
      ...(cors === undefined ? {} : { defaultCorsPreflightOptions: restCorsOptions(cors) }),
      endpointConfiguration: { types: [rest.EndpointType.REGIONAL] },
      // Execution logs would need the account-wide API Gateway logging role, which no app stack should own.
      cloudWatchRole: false,
      deployOptions: {
        stageName: 'stream',
        throttlingRateLimit: throttling.rateLimit,
        throttlingBurstLimit: throttling.burstLimit,
        accessLogDestination: new rest.LogGroupLogDestination(accessLogs),
        accessLogFormat: AccessLogFormat.custom(JSON.stringify(restAccessLogFields)),
        tracingEnabled: true,
      },
    });
    // API Gateway's own refusals, in the contract's error shape (an HTTP API cannot customise these).
    for (const [type, status, code, message] of gatewayErrors) {
      api.addGatewayResponse(type.responseType, {
        type,
        statusCode: String(status),
        templates: { 'application/json': JSON.stringify({ error: { code, message } }) },
        // A browser reads a refusal only with CORS headers. Several origins: the request's (errors carry no data).
        ...(cors === undefined
          ? {}
          : { responseHeaders: { 'Access-Control-Allow-Origin': gatewayOrigin(cors) } }),
      });
    }
    Validations.of(api).acknowledge(
      {
        id: 'AwsSolutions-APIG2',
        reason:
          'The function validates every request with the zod schemas of the HTTP contract and answers the ' +
          "contract's 400; a gateway validator would refuse in another format.",
      },
      {
        id: 'AwsSolutions-APIG3',
        reason: 'WAF is optional and account-specific: associate a web ACL with the stage if you need one.',
      },
      {
        id: 'AwsSolutions-APIG6',
        reason:
          'Execution logging needs the account-wide API Gateway CloudWatch role, which one app stack should not ' +
          'own; access logs (JSON, per request) and the function logs are on.',
      },
      {
        id: 'AwsSolutions-COG4',
        reason: 'IAM (SigV4) or a JWT authorizer for any OIDC issuer, not only Cognito.',
      },
    );

    const authorizer =
      auth.type === 'jwt'
        ? new rest.TokenAuthorizer(this, 'StreamingAuthorizer', {
            handler: this.addFunction(
              { id: 'StreamingJwtAuthorizer', entry: '../authorizers/jwt-authorizer.ts', access: 'none' },
              {
                environment: {
                  JWT_ISSUER: auth.issuer,
                  JWT_AUDIENCE: auth.audience.join(','),
                  ...(auth.jwksUri === undefined ? {} : { JWKS_URI: auth.jwksUri }),
                },
              },
            ),
            // No cache: a token is never honoured past its `exp`; one authorizer call is small next to a model call.
            resultsCacheTtl: Duration.seconds(0),
          })
        : undefined;

    for (const route of routes) {
      if (route.streamingEntry === undefined) continue;
      // A route the HTTP API serves too gets a second function, `<id>Stream`, with the same settings.
      const id = route.entry === undefined ? route.id : `${route.id}Stream`;
      const options = this.routeFunctionOptions(route, props);
      const fn = this.addFunction(
        { ...route, id, entry: route.streamingEntry },
        { ...options, environment: { ...options.environment, ...corsEnvironment(cors) } },
      );
      if (route.model === true) this.agentModel?.secret?.encryptionKey?.grantDecrypt(fn);
      api.root.resourceForPath(route.path).addMethod(
        route.method,
        new rest.LambdaIntegration(fn, {
          responseTransferMode: rest.ResponseTransferMode.STREAM,
          allowTestInvoke: false,
        }),
        authorizer === undefined
          ? { authorizationType: rest.AuthorizationType.IAM }
          : { authorizationType: rest.AuthorizationType.CUSTOM, authorizer },
      );
    }

    this.addAlarm(
      'StreamingApi5xxAlarm',
      api.metricServerError({ statistic: 'Sum', period: Duration.minutes(5) }),
      5,
      'The streaming API answered 5xx at least 5 times in 5 minutes.',
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Streaming API requests and errors',
        width: 12,
        left: [api.metricCount({ statistic: 'Sum', period: Duration.minutes(1) })],
        right: [
          api.metricClientError({ statistic: 'Sum', period: Duration.minutes(1) }),
          api.metricServerError({ statistic: 'Sum', period: Duration.minutes(1) }),
        ],
      }),
    );
    return api;
  }

  /**
   * The compactor (lambda/summaries/stream-handler.ts): the table's stream, filtered to head images marked
   * `summaryDue` (one write in ten messages' worth), invokes it; it runs the agent's model, with the turns' context
   * policy, and may only read the table, put the summary item and check the head (no update, no delete). A record
   * it keeps failing on is retried, then kept in an encrypted queue (alarmed); a compaction is safe to repeat.
   */
  private addCompactor(): { compactor: lambda.IFunction; failures: sqs.Queue } {
    const model = this.agentModel;
    const fn = this.addFunction(compactorFunction, {
      timeout: compactorTimeout,
      memorySize: 512,
      ...(model === undefined
        ? {}
        : { environment: model.environment, initialPolicy: [...model.statements] }),
    });
    this.agentModel?.secret?.encryptionKey?.grantDecrypt(fn);
    const failures = new sqs.Queue(this, 'CompactorFailures', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: this.removalPolicy,
    });
    Validations.of(failures).acknowledge(
      {
        id: 'AwsSolutions-SQS3',
        reason:
          "It is the compactor's on-failure destination (stream records it failed on after its retries), itself " +
          'the dead-letter store; it is alarmed on its depth.',
      },
      {
        id: 'Serverless-SQSRedrivePolicy',
        reason:
          'It is the last stop of failed stream records (their metadata, for a rerun); nothing consumes it, so ' +
          'there is nothing to redrive from it.',
      },
    );
    // The stream's read actions on the stream alone, in a policy of its own: ListStreams takes no resource but *,
    // and acknowledging that on this policy alone keeps cdk-nag checking the function's table grants.
    const streamArn = this.conversationTable.tableStreamArn as string;
    const streamPolicy = new iam.Policy(this, 'CompactorStreamPolicy', {
      roles: [fn.role as iam.IRole],
      statements: [
        new iam.PolicyStatement({
          actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
          resources: [streamArn],
        }),
        new iam.PolicyStatement({ actions: ['dynamodb:ListStreams'], resources: ['*'] }),
      ],
    });
    Validations.of(streamPolicy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'dynamodb:ListStreams supports no resource-level permission, so its resource is *; it lists stream ' +
        "ARNs only. The record-reading actions are on this table's stream alone.",
    });
    const mapping = fn.addEventSourceMapping('TableStream', {
      eventSourceArn: streamArn,
      startingPosition: lambda.StartingPosition.LATEST,
      batchSize: 100,
      maxBatchingWindow: Duration.seconds(1),
      filters: [
        lambda.FilterCriteria.filter({
          dynamodb: {
            Keys: { sk: { S: lambda.FilterRule.isEqual(keys.head) } },
            NewImage: { summaryDue: { BOOL: lambda.FilterRule.isEqual(true) } },
          },
        }),
      ],
      reportBatchItemFailures: true,
      retryAttempts: 5,
      maxRecordAge: Duration.days(1),
      onFailure: new SqsDlq(failures),
    });
    mapping.node.addDependency(streamPolicy);
    this.addAlarm(
      'CompactorFailuresAlarm',
      failures.metricApproximateNumberOfMessagesVisible({
        statistic: 'Maximum',
        period: Duration.minutes(5),
      }),
      1,
      'The compactor gave up on a conversation after its retries (see its logs; the queue holds the records).',
    );
    return { compactor: fn, failures };
  }

  /**
   * Adds a route served by its own function, with the table actions of `route.access` and the given
   * options. Every built-in route goes through here; so does a later one with extra needs (its own timeout,
   * memory, environment and IAM statements).
   */
  public addRoute(
    route: RouteDefinition & { readonly entry: string },
    options: RouteOptions = {},
  ): lambda.IFunction {
    if (route.public === true && route.access !== 'none') {
      throw new Error(
        `Route '${route.id}' is public, so it may not access the table (access: '${route.access}').`,
      );
    }
    const fn = this.addFunction(route, options);
    const httpRoute = new apigw.HttpRoute(this, `${route.id}Route`, {
      httpApi: this.httpApi,
      routeKey: apigw.HttpRouteKey.with(route.path, apigw.HttpMethod[route.method]),
      integration: new HttpLambdaIntegration('Integration', fn),
      authorizer: route.public === true ? new apigw.HttpNoneAuthorizer() : this.authorizer,
    });
    if (route.public === true) {
      Validations.of(httpRoute).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'Public by design (docs/http-contract.md: GET /health may be unauthenticated): it answers ' +
          '{"status":"ok"} and its function has no table access.',
      });
    }
    return fn;
  }

  /**
   * The attachments bucket: private (all public access blocked), TLS only, S3-managed encryption. Not versioned: its
   * objects are immutable (content-addressed, written once per write), and a version kept after a delete would
   * keep what a conversation delete must remove. Lifecycle: uploads nobody used expire after a day, unfinished
   * multipart uploads too, and with a retention, conversation objects a day after their messages (lifecycle
   * counts whole days). Orphans of failed writes are the hourly sweep's (markers), not a lifecycle rule's.
   */
  private addAttachmentsBucket(ttlSeconds: number | undefined, cors: apigw.CorsPreflightOptions | undefined) {
    const bucket = new s3.Bucket(this, 'Attachments', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: false,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: this.removalPolicy,
      lifecycleRules: [
        { id: 'UnusedUploads', prefix: 'uploads/', expiration: Duration.days(1) },
        { id: 'UnfinishedMultipartUploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
        ...(ttlSeconds === undefined
          ? []
          : [
              {
                id: 'Retention',
                prefix: 't/',
                expiration: Duration.days(Math.ceil(ttlSeconds / 86_400) + 1),
              },
            ]),
      ],
      // Browsers read attachments by their presigned URLs (and PUT uploads) from the API's CORS origins.
      ...(cors?.allowOrigins === undefined
        ? {}
        : {
            cors: [
              {
                allowedOrigins: [...cors.allowOrigins],
                allowedMethods: [s3.HttpMethods.GET, s3.HttpMethods.PUT],
                allowedHeaders: ['content-type'],
                maxAge: 3600,
              },
            ],
          }),
    });
    Validations.of(bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'Server access logs need a second bucket for the logs; every read and write of this bucket goes through ' +
        "the API's functions, whose logs and access logs record it. Turn on CloudTrail data events if you need more.",
    });
    return bucket;
  }

  /** The hourly sweep of attachment markers: the only function that deletes orphans. */
  private addAttachmentSweep(): void {
    const fn = this.addFunction(attachmentSweep, { timeout: Duration.minutes(5) }, undefined, 'delete');
    Validations.of(fn).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        'Invoked hourly by a schedule: a failed sweep is repeated by the next one, and counted by its Errors alarm.',
    });
    const rule = new events.Rule(this, 'SweepAttachmentsSchedule', {
      description: 'Agent memory: delete the S3 objects of writes that never committed.',
      schedule: events.Schedule.rate(Duration.hours(1)),
      targets: [new targets.LambdaFunction(fn, { retryAttempts: 0 })],
    });
    Validations.of(rule).acknowledge({
      id: 'Serverless-EventBusDLQ',
      reason:
        'A missed hourly sweep loses nothing: the markers it would have swept stay in the table and the next run ' +
        'sweeps them; a dead-letter queue would only hold empty schedule events.',
    });
  }

  /**
   * `GET /inspector`, without the authorizer: a browser's navigation carries no token. The page is code, the
   * same for everyone; what it shows, it reads through the authorized routes with the reader's token.
   */
  private addInspectorPage(): void {
    const origin: Record<string, string> =
      this.bucket === undefined
        ? {}
        : { ATTACHMENTS_ORIGIN: `https://${this.bucket.bucketRegionalDomainName}` };
    const fn = this.addFunction(inspectorPage, { environment: origin }, (outputDir) => [
      `"${process.execPath}" --import "${import.meta.resolve('tsx')}" "${inspectorBuildScript}" "${outputDir}"`,
    ]);
    const route = new apigw.HttpRoute(this, `${inspectorPage.id}Route`, {
      httpApi: this.httpApi,
      routeKey: apigw.HttpRouteKey.with(inspectorPage.path, apigw.HttpMethod.GET),
      integration: new HttpLambdaIntegration('Integration', fn),
      authorizer: new apigw.HttpNoneAuthorizer(),
    });
    Validations.of(route).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        'Public by design (opt-in inspector prop): it serves a static page, the same for every reader, from a ' +
        'function without table access; the data the page shows is read through the JWT-authorized routes.',
    });
  }

  /**
   * A built-in route's function settings: `routeOptions.<route id>` over the route's defaults. A route that runs
   * the model (the turn and chat routes) gets a turn's timeout and memory (above the model's deadline), the
   * model's variables, and the permission to call that model and nothing else; its options may change timeout
   * and memory, add variables other than the model's and add statements.
   */
  private routeFunctionOptions(route: RouteDefinition, props: AgentMemoryProps): RouteOptions {
    const options = props.routeOptions?.[route.id] ?? {};
    const timeout = functionTimeout(route, props);
    if (route.model !== true || this.agentModel === undefined) return { ...options, timeout };
    validateModelTimeout(
      props.agent?.modelTimeout ?? defaultModelTimeout,
      timeout ?? turnFunctionDefaults.timeout,
    );
    const model = this.agentModel;
    const clashes = Object.keys(options.environment ?? {}).filter((key) => key in model.environment);
    if (clashes.length > 0) {
      throw new Error(
        `Route '${route.id}': environment may not set ${clashes.join(', ')} (set from the agent prop).`,
      );
    }
    return {
      ...options,
      timeout,
      memorySize: options.memorySize ?? turnFunctionDefaults.memorySize,
      environment: { ...options.environment, ...model.environment },
      initialPolicy: [...model.statements, ...(options.initialPolicy ?? [])],
    };
  }

  /**
   * Permits `grantee` to read the table (the standard DynamoDB read actions, on this table and its two listing
   * indexes, named: no `index/*`), for apps that use the conversation store in their own functions.
   */
  public grantReadData(grantee: iam.IGrantable): iam.Grant {
    return this.grantData(grantee, embeddingReadActions);
  }

  /**
   * Permits `grantee` to read and write the table (the standard DynamoDB data actions, no admin actions):
   * enough for a `ConversationStore` (`agent-memory/store`, its listing included) and for LangGraph's
   * `DynamoDBSaver` (`agent-memory/langgraph`) in your own functions.
   */
  public grantReadWriteData(grantee: iam.IGrantable): iam.Grant {
    return this.grantData(grantee, [...embeddingReadActions, ...embeddingWriteActions]);
  }

  private grantData(grantee: iam.IGrantable, actions: readonly string[]): iam.Grant {
    const tableArn = this.conversationTable.tableArn;
    return iam.Grant.addToPrincipal({
      grantee,
      actions: [...actions],
      resourceArns: [tableArn, ...listingIndexes.map((index) => `${tableArn}/index/${index.indexName}`)],
    });
  }

  private addFunction(
    route: Pick<RouteDefinition, 'id' | 'attachments'> & {
      readonly access: FunctionAccess;
      readonly entry: string;
    },
    options: RouteOptions = {},
    afterBundling?: (outputDir: string) => string[],
    attachmentAccess = route.attachments,
  ): lambda.IFunction {
    if (this.routeFunctions[route.id] !== undefined) {
      throw new Error(`A route with id '${route.id}' already exists.`);
    }
    const clashes = Object.keys(options.environment ?? {}).filter((key) => key in this.functionEnvironment);
    if (clashes.length > 0) {
      throw new Error(
        `Route '${route.id}': environment may not set ${clashes.join(', ')} (set by AgentMemory).`,
      );
    }
    const memoryFunction = new MemoryFunction(this, route.id, {
      entry: fileURLToPath(new URL(route.entry, handlersDirectory)),
      description: `Agent memory: ${route.id} (table access: ${route.access}).`,
      environment: { ...options.environment, ...this.functionEnvironment },
      logRetention: this.logRetention,
      logRemovalPolicy: this.removalPolicy,
      ...(options.memorySize === undefined ? {} : { memorySize: options.memorySize }),
      ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
      ...(afterBundling === undefined ? {} : { afterBundling }),
    });
    const fn = memoryFunction.function;
    // On the table alone: the table's own grants would add its indexes (`index/*`), which no route but the
    // listing reads.
    if (route.access === 'list') {
      for (const statement of listingStatements(this.conversationTable)) fn.addToRolePolicy(statement);
    } else if (tableActions[route.access].length > 0) {
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          actions: [...tableActions[route.access]],
          resources: [this.conversationTable.tableArn],
        }),
      );
    }
    if (attachmentAccess !== undefined && this.bucket !== undefined)
      this.grantAttachments(fn, attachmentAccess);
    for (const statement of options.initialPolicy ?? []) fn.addToRolePolicy(statement);
    Validations.of(fn).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        route.id === compactorFunction.id
          ? 'Invoked by a DynamoDB stream event source mapping, whose on-failure destination (an SQS queue) keeps ' +
            'what it failed on; a dead-letter queue applies to asynchronous invocations only.'
          : 'Invoked only synchronously by API Gateway: a dead-letter queue applies to asynchronous invocations, ' +
            'while here every failure is returned to the caller and counted by the function Errors alarm.',
    });
    this.routeFunctions[route.id] = fn;
    this.addFunctionMonitoring(route.id, fn);
    return fn;
  }

  /** S3 actions on the bucket's prefixes, and for writers the markers' table actions on their partitions only. */
  private grantAttachments(fn: lambda.IFunction, access: AttachmentAccess): void {
    const bucket = this.bucket as s3.Bucket;
    const { objects, uploads } = attachmentActions[access];
    const bucketId = Stack.of(this).getLogicalId(bucket.node.defaultChild as s3.CfnBucket);
    const wildcard = (prefix: string, what: string) => ({
      id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${prefix}/*]`,
      reason:
        `Objects are keyed by content hash and operation under ${prefix}/ (${what}): no name is known before a ` +
        'write, so the grant is the prefix, and only the actions this route needs on it.',
    });
    if (objects.length > 0) {
      fn.addToRolePolicy(
        new iam.PolicyStatement({ actions: [...objects], resources: [bucket.arnForObjects('t/*')] }),
      );
      Validations.of(fn.role ?? fn).acknowledge(wildcard('t', "the conversations' attachments"));
    }
    if (uploads.length > 0) {
      fn.addToRolePolicy(
        new iam.PolicyStatement({ actions: [...uploads], resources: [bucket.arnForObjects('uploads/*')] }),
      );
      Validations.of(fn.role ?? fn).acknowledge(wildcard('uploads', 'uploads not used by a message yet'));
    }
    if (access === 'write' || access === 'delete') {
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          actions: markerActions,
          resources: [this.conversationTable.tableArn],
          conditions: {
            'ForAllValues:StringLike': {
              'dynamodb:LeadingKeys': [`${keys.markerPartition(0).slice(0, -2)}*`],
            },
          },
        }),
      );
    }
  }

  private addFunctionMonitoring(routeId: string, fn: lambda.Function): void {
    const period = Duration.minutes(5);
    const timeout = fn.timeout ?? Duration.seconds(3);
    this.addAlarm(
      `${routeId}ErrorsAlarm`,
      fn.metricErrors({ statistic: 'Sum', period }),
      1,
      `${routeId}: the function failed (uncaught error, crash or timeout).`,
    );
    this.addAlarm(
      `${routeId}ThrottlesAlarm`,
      fn.metricThrottles({ statistic: 'Sum', period }),
      1,
      `${routeId}: invocations were throttled (account or reserved concurrency exhausted).`,
    );
    this.addAlarm(
      `${routeId}DurationAlarm`,
      fn.metricDuration({ statistic: 'p99', period }),
      Math.floor(timeout.toMilliseconds() * 0.8),
      `${routeId}: p99 duration is above 80% of the ${timeout.toSeconds()} s timeout.`,
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: `${routeId}: invocations, errors, throttles`,
        width: 12,
        left: [fn.metricInvocations({ statistic: 'Sum', period: Duration.minutes(1) })],
        right: [
          fn.metricErrors({ statistic: 'Sum', period: Duration.minutes(1) }),
          fn.metricThrottles({ statistic: 'Sum', period: Duration.minutes(1) }),
        ],
      }),
      new cloudwatch.GraphWidget({
        title: `${routeId}: duration (p50, p99)`,
        width: 12,
        left: [
          fn.metricDuration({ statistic: 'p50', period: Duration.minutes(1) }),
          fn.metricDuration({ statistic: 'p99', period: Duration.minutes(1) }),
        ],
      }),
    );
  }

  private addAlarm(id: string, metric: cloudwatch.IMetric, threshold: number, description: string): void {
    const alarm = new cloudwatch.Alarm(this, id, {
      metric,
      threshold,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: description,
    });
    if (this.alarmAction !== undefined) {
      alarm.addAlarmAction(this.alarmAction);
      alarm.addOkAction(this.alarmAction);
    }
  }
}

/** A built-in route's function timeout: `routeOptions`, else the route's own, else a turn's for a model route. */
function functionTimeout(route: RouteDefinition, props: AgentMemoryProps): Duration | undefined {
  const timeout =
    props.routeOptions?.[route.id]?.timeout ??
    (route.timeoutSeconds === undefined ? undefined : Duration.seconds(route.timeoutSeconds));
  return timeout ?? (route.model === true ? turnFunctionDefaults.timeout : undefined);
}

/** The HTTP API's CORS settings as the REST API's preflight options. */
function restCorsOptions(cors: apigw.CorsPreflightOptions): rest.CorsOptions {
  const methods = cors.allowMethods?.map(String);
  return {
    allowOrigins: [...(cors.allowOrigins ?? [])],
    ...(cors.allowHeaders === undefined ? {} : { allowHeaders: [...cors.allowHeaders] }),
    ...(methods === undefined
      ? {}
      : { allowMethods: methods.includes('*') ? rest.Cors.ALL_METHODS : methods }),
    ...(cors.allowCredentials === undefined ? {} : { allowCredentials: cors.allowCredentials }),
    ...(cors.maxAge === undefined ? {} : { maxAge: cors.maxAge }),
  };
}

/** The CORS of the streaming functions' responses (lambda/http/cors.ts reads these). */
function corsEnvironment(cors: apigw.CorsPreflightOptions | undefined): Record<string, string> {
  if (cors === undefined) return {};
  return {
    CORS_ALLOW_ORIGINS: (cors.allowOrigins ?? []).join(','),
    ...(cors.allowCredentials ? { CORS_ALLOW_CREDENTIALS: 'true' } : {}),
    ...(cors.exposeHeaders?.length ? { CORS_EXPOSE_HEADERS: cors.exposeHeaders.join(',') } : {}),
  };
}

/** Access-Control-Allow-Origin of a gateway response: a mapping expression, not a value. */
function gatewayOrigin(cors: apigw.CorsPreflightOptions): string {
  const origins = cors.allowOrigins ?? [];
  if (origins.length === 1 && !(origins[0] === '*' && cors.allowCredentials)) return `'${origins[0]}'`;
  return 'method.request.header.Origin';
}

/** API Gateway's own refusals on the streaming API, answered with the contract's error body. */
const gatewayErrors: ReadonlyArray<readonly [rest.ResponseType, number, string, string]> = [
  [rest.ResponseType.UNAUTHORIZED, 401, 'unauthorized', 'The request carries no valid token.'],
  [
    rest.ResponseType.MISSING_AUTHENTICATION_TOKEN,
    403,
    'forbidden',
    'The request is not signed, or no such route.',
  ],
  [rest.ResponseType.ACCESS_DENIED, 403, 'forbidden', 'The caller may not call this API.'],
  [rest.ResponseType.THROTTLED, 429, 'throttled', 'Too many requests; retry shortly.'],
];

/** The streaming API's access log line, as the HTTP API's (REST APIs name some variables differently). */
const restAccessLogFields = {
  requestId: '$context.requestId',
  extendedRequestId: '$context.extendedRequestId',
  requestTime: '$context.requestTime',
  sourceIp: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  caller: '$context.identity.userArn',
  httpMethod: '$context.httpMethod',
  resourcePath: '$context.resourcePath',
  path: '$context.path',
  protocol: '$context.protocol',
  status: '$context.status',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationLatency: '$context.integration.latency',
  integrationStatus: '$context.integration.status',
  integrationError: '$context.integration.error',
  authorizerError: '$context.authorizer.error',
  errorMessage: '$context.error.message',
};

/** Access log line: JSON (one object per request), every value quoted since absent ones log as `-`. */
const accessLogFields = {
  requestId: '$context.requestId',
  extendedRequestId: '$context.extendedRequestId',
  requestTime: '$context.requestTime',
  sourceIp: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  httpMethod: '$context.httpMethod',
  routeKey: '$context.routeKey',
  path: '$context.path',
  protocol: '$context.protocol',
  status: '$context.status',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationLatency: '$context.integrationLatency',
  integrationStatus: '$context.integrationStatus',
  integrationError: '$context.integrationErrorMessage',
  authorizerError: '$context.authorizer.error',
  errorMessage: '$context.error.message',
};

function validateAuth(auth: AgentMemoryAuth): AgentMemoryAuth {
  if (auth.type === 'iam') return auth;
  if (auth.type !== 'jwt') {
    throw new AgentMemoryPropsError(
      'auth.type',
      `must be 'iam' or 'jwt', got '${(auth as { type: unknown }).type}'.`,
    );
  }
  if (!Token.isUnresolved(auth.issuer) && !/^https:\/\/[^\s/]+/.test(auth.issuer)) {
    throw new AgentMemoryPropsError('auth.issuer', `must be an https:// URL, got '${auth.issuer}'.`);
  }
  if (auth.audience.length === 0 || auth.audience.some((audience) => audience.trim() === '')) {
    throw new AgentMemoryPropsError('auth.audience', 'must list at least one non-empty audience.');
  }
  if (
    auth.jwksUri !== undefined &&
    !Token.isUnresolved(auth.jwksUri) &&
    !/^https:\/\/[^\s/]+/.test(auth.jwksUri)
  ) {
    throw new AgentMemoryPropsError('auth.jwksUri', `must be an https:// URL, got '${auth.jwksUri}'.`);
  }
  if (auth.tenantClaim !== undefined && !/^[A-Za-z0-9_:.\-/]{1,128}$/.test(auth.tenantClaim)) {
    throw new AgentMemoryPropsError(
      'auth.tenantClaim',
      `must be a claim name (letters, digits, _ : . - /), got '${auth.tenantClaim}'.`,
    );
  }
  return auth;
}

function validateAttachments(attachments: AgentMemoryAttachments): AgentMemoryAttachments {
  const { thresholdBytes } = attachments;
  if (
    thresholdBytes !== undefined &&
    !(Number.isInteger(thresholdBytes) && thresholdBytes >= 1024 && thresholdBytes <= 262_144)
  ) {
    throw new AgentMemoryPropsError(
      'attachments.thresholdBytes',
      `must be a whole number of bytes from 1024 to 262144, got ${thresholdBytes}.`,
    );
  }
  return attachments;
}

function validateRetention(retention: Duration): number {
  const seconds = retention.toSeconds();
  if (!Number.isInteger(seconds) || seconds < 60) {
    throw new AgentMemoryPropsError(
      'retention',
      `must be a whole number of seconds, at least one minute; got ${seconds} s.`,
    );
  }
  return seconds;
}

function validateThrottling(throttling: AgentMemoryThrottling): AgentMemoryThrottling {
  const { rateLimit, burstLimit } = throttling;
  if (!Number.isFinite(rateLimit) || rateLimit <= 0) {
    throw new AgentMemoryPropsError('throttling.rateLimit', `must be a positive number, got ${rateLimit}.`);
  }
  if (!Number.isInteger(burstLimit) || burstLimit <= 0) {
    throw new AgentMemoryPropsError(
      'throttling.burstLimit',
      `must be a positive integer, got ${burstLimit}.`,
    );
  }
  return throttling;
}
