import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { CorsHttpMethod } from 'aws-cdk-lib/aws-apigatewayv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { AgentMemory, type AgentMemoryAuth, type AgentMemoryProps } from './agent-memory.js';
import type { AgentModelProps, ModelProvider } from './agent-model.js';
import { AgentMemoryPropsError } from './props-error.js';

/**
 * A context value (`-c key=value` or cdk.json) the app cannot use, or a key it does not read. The message is one
 * line that names the key and what it accepts; bin/agent-memory.ts prints it alone.
 */
export class ContextError extends Error {
  override readonly name = 'ContextError';
}

/** The stack `cdk deploy` creates. Its settings come from context (`-c key=value` or cdk.json). */
export class AgentMemoryStack extends Stack {
  /** The construct, for tests and for stacks that extend this one. */
  public readonly memory: AgentMemory;

  constructor(scope: Construct, id: string, props: StackProps = {}) {
    super(scope, id, {
      description: 'Agent memory: durable conversation memory for AI agents (HTTP API, Lambda, DynamoDB).',
      ...props,
    });

    rejectUnknownKeys(this);
    const retentionDays = readRetentionDays(this);
    const corsOrigins = readCorsOrigins(this);
    const memoryProps: AgentMemoryProps = {
      auth: readAuth(this),
      ...(retentionDays === undefined ? {} : { retention: Duration.days(retentionDays) }),
      ...(corsOrigins === undefined ? {} : { cors: browserCors(corsOrigins) }),
      logRetention: readLogRetention(this),
      agent: readAgentModel(this),
      inspector: readBoolean(this, contextKeys.inspector),
      attachments: readAttachments(this),
    };
    try {
      this.memory = new AgentMemory(this, 'AgentMemory', memoryProps);
    } catch (error) {
      // The construct names its prop (agent.modelTimeout); the user set a context key (modelTimeoutSeconds).
      const key = error instanceof AgentMemoryPropsError ? contextKeyOfProp[error.prop] : undefined;
      if (key === undefined || !(error instanceof AgentMemoryPropsError)) throw error;
      throw new ContextError(`Context '${key}': ${error.problem}`, { cause: error });
    }

    new CfnOutput(this, 'ApiUrl', {
      description: 'Base URL of the HTTP API.',
      value: this.memory.url,
    });
    if (this.memory.streamingUrl !== undefined) {
      new CfnOutput(this, 'StreamingApiUrl', {
        description: 'Base URL of the REST API that streams agent turns (Accept: text/event-stream).',
        value: this.memory.streamingUrl,
      });
    }
    if (this.memory.inspectorUrl !== undefined) {
      new CfnOutput(this, 'InspectorUrl', {
        description: 'The memory inspector (sign in with a bearer token of the JWT issuer).',
        value: this.memory.inspectorUrl,
      });
    }
    if (this.memory.attachmentsBucket !== undefined) {
      new CfnOutput(this, 'AttachmentsBucketName', {
        description: 'The S3 bucket holding large content parts and uploads.',
        value: this.memory.attachmentsBucket.bucketName,
      });
    }
    new CfnOutput(this, 'TableName', {
      description: 'The DynamoDB table holding every conversation.',
      value: this.memory.table.tableName,
    });
  }
}

/**
 * Context keys the stack reads. Values given with `-c` arrive as strings; in cdk.json they may be JSON
 * (an array for `jwtAudience`, a number for `retentionDays`).
 */
export const contextKeys = {
  auth: 'auth',
  jwtIssuer: 'jwtIssuer',
  jwtAudience: 'jwtAudience',
  tenantClaim: 'tenantClaim',
  jwksUri: 'jwksUri',
  retentionDays: 'retentionDays',
  logRetentionDays: 'logRetentionDays',
  modelProvider: 'modelProvider',
  modelId: 'modelId',
  modelRegions: 'modelRegions',
  openAiBaseUrl: 'openAiBaseUrl',
  openAiApiKeySecretArn: 'openAiApiKeySecretArn',
  modelTimeoutSeconds: 'modelTimeoutSeconds',
  contextMaxMessages: 'contextMaxMessages',
  contextMaxTokens: 'contextMaxTokens',
  inspector: 'inspector',
  corsOrigins: 'corsOrigins',
  attachments: 'attachments',
  attachmentThresholdBytes: 'attachmentThresholdBytes',
} as const;

/** The context key that sets each construct prop, to name it when the construct rejects the prop. */
const contextKeyOfProp: Readonly<Record<string, string>> = {
  'auth.issuer': contextKeys.jwtIssuer,
  'auth.audience': contextKeys.jwtAudience,
  'auth.tenantClaim': contextKeys.tenantClaim,
  'auth.jwksUri': contextKeys.jwksUri,
  retention: contextKeys.retentionDays,
  'agent.provider': contextKeys.modelProvider,
  'agent.modelId': contextKeys.modelId,
  'agent.inferenceProfileRegions': contextKeys.modelRegions,
  'agent.openAiBaseUrl': contextKeys.openAiBaseUrl,
  'agent.openAiApiKeySecret': contextKeys.openAiApiKeySecretArn,
  'agent.modelTimeout': contextKeys.modelTimeoutSeconds,
  'agent.contextMaxMessages': contextKeys.contextMaxMessages,
  'agent.contextMaxTokens': contextKeys.contextMaxTokens,
  inspector: contextKeys.inspector,
  'attachments.thresholdBytes': contextKeys.attachmentThresholdBytes,
};

/**
 * A misspelled key would otherwise be ignored silently. Keys with a colon or an `@` are the CDK's own (feature
 * flags, lookups in cdk.context.json, the CLI's settings), as is `acknowledged-issue-numbers` (`cdk acknowledge`).
 */
function rejectUnknownKeys(scope: Construct): void {
  const known: string[] = Object.values(contextKeys);
  for (const key of Object.keys(scope.node.getAllContext())) {
    if (
      known.includes(key) ||
      key.includes(':') ||
      key.startsWith('@') ||
      key === 'acknowledged-issue-numbers'
    ) {
      continue;
    }
    const near = known.find((candidate) => editDistance(candidate.toLowerCase(), key.toLowerCase()) <= 2);
    throw new ContextError(
      `Context '${key}' is not a setting of this app${near === undefined ? '' : ` (did you mean '${near}'?)`}; ` +
        `it reads ${known.join(', ')}.`,
    );
  }
}

/** Levenshtein distance, for "did you mean". */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

function context(scope: Construct, key: string): unknown {
  const value: unknown = scope.node.tryGetContext(key);
  return value === '' ? undefined : value;
}

function contextError(key: string, expected: string, value: unknown): ContextError {
  return new ContextError(`Context '${key}': expected ${expected}, got ${JSON.stringify(value)}.`);
}

function readAuth(scope: Construct): AgentMemoryAuth {
  const type = context(scope, contextKeys.auth) ?? 'iam';
  const jwtOnly = [
    contextKeys.jwtIssuer,
    contextKeys.jwtAudience,
    contextKeys.tenantClaim,
    contextKeys.jwksUri,
  ];
  if (type === 'iam') {
    const stray = jwtOnly.filter((key) => context(scope, key) !== undefined);
    if (stray.length > 0) {
      throw new ContextError(
        `Context ${stray.map((key) => `'${key}'`).join(', ')} only apply with -c auth=jwt.`,
      );
    }
    return { type: 'iam' };
  }
  if (type !== 'jwt') throw contextError(contextKeys.auth, "'iam' or 'jwt'", type);

  const issuer = context(scope, contextKeys.jwtIssuer);
  if (typeof issuer !== 'string' || !/^https:\/\/[^\s/]+/.test(issuer)) {
    throw contextError(
      contextKeys.jwtIssuer,
      'the token issuer, an https:// URL (required with auth=jwt)',
      issuer,
    );
  }
  const rawAudience = context(scope, contextKeys.jwtAudience);
  const audience =
    typeof rawAudience === 'string'
      ? rawAudience.split(',').map((part) => part.trim())
      : Array.isArray(rawAudience)
        ? rawAudience
        : [];
  if (audience.length === 0 || audience.some((part) => typeof part !== 'string' || part === '')) {
    throw contextError(
      contextKeys.jwtAudience,
      'one or more audiences, comma-separated (required with auth=jwt)',
      rawAudience,
    );
  }
  const tenantClaim = context(scope, contextKeys.tenantClaim);
  if (
    tenantClaim !== undefined &&
    (typeof tenantClaim !== 'string' || !/^[A-Za-z0-9_:.\-/]{1,128}$/.test(tenantClaim))
  ) {
    throw contextError(contextKeys.tenantClaim, 'a claim name such as sub or custom:tenant', tenantClaim);
  }
  const jwksUri = context(scope, contextKeys.jwksUri);
  if (jwksUri !== undefined && (typeof jwksUri !== 'string' || !/^https:\/\/[^\s/]+/.test(jwksUri))) {
    throw contextError(contextKeys.jwksUri, "the issuer's JWKS URL, https://", jwksUri);
  }
  return {
    type: 'jwt',
    issuer,
    audience: audience as string[],
    ...(tenantClaim === undefined ? {} : { tenantClaim }),
    ...(jwksUri === undefined ? {} : { jwksUri }),
  };
}

/**
 * `-c corsOrigins=https://app.example.com,...` (or `*`): pages of these origins may call both APIs from a
 * browser (useChat straight to the stack), with the headers this API reads.
 */
function readCorsOrigins(scope: Construct): string[] | undefined {
  const raw = context(scope, contextKeys.corsOrigins);
  if (raw === undefined) return undefined;
  const origins =
    typeof raw === 'string' ? raw.split(',').map((origin) => origin.trim()) : Array.isArray(raw) ? raw : [];
  const valid = (origin: unknown) =>
    origin === '*' || (typeof origin === 'string' && /^https?:\/\/[^\s/]+$/.test(origin));
  if (origins.length === 0 || !origins.every(valid)) {
    throw contextError(
      contextKeys.corsOrigins,
      'origins such as https://app.example.com (scheme and host, no path), comma-separated, or *',
      raw,
    );
  }
  return origins as string[];
}

function browserCors(allowOrigins: string[]): NonNullable<AgentMemoryProps['cors']> {
  return {
    allowOrigins,
    allowHeaders: ['authorization', 'content-type', 'idempotency-key', 'x-amz-date', 'x-amz-security-token'],
    allowMethods: [CorsHttpMethod.ANY],
    exposeHeaders: ['idempotent-replayed', 'retry-after'],
  };
}

function readPositiveInteger(scope: Construct, key: string, unit = 'days'): number | undefined {
  const raw = context(scope, key);
  if (raw === undefined) return undefined;
  const value = typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw) : raw;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw contextError(key, `a whole number of ${unit}, at least 1`, raw);
  }
  return value;
}

/**
 * The turn route's model: `-c modelProvider=bedrock|openai|offline` (default bedrock), `-c modelId=...`,
 * `-c modelRegions=us-east-1,...` (a Bedrock inference profile's Regions), `-c openAiBaseUrl=...`,
 * `-c openAiApiKeySecretArn=<complete secret ARN>`, `-c modelTimeoutSeconds=20`, `-c contextMaxMessages=20`,
 * `-c contextMaxTokens=8000`. The construct validates the combination.
 */
function readAgentModel(scope: Construct): AgentModelProps {
  const provider = context(scope, contextKeys.modelProvider) ?? 'bedrock';
  if (provider !== 'bedrock' && provider !== 'openai' && provider !== 'offline') {
    throw contextError(contextKeys.modelProvider, "'bedrock', 'openai' or 'offline'", provider);
  }
  const onlyFor = (allowed: ModelProvider, keys: string[]) => {
    const stray = keys.filter((key) => context(scope, key) !== undefined);
    if (stray.length > 0 && provider !== allowed) {
      throw new ContextError(
        `Context ${stray.map((key) => `'${key}'`).join(', ')} only apply with -c ${contextKeys.modelProvider}=${allowed}.`,
      );
    }
  };
  onlyFor('bedrock', [contextKeys.modelRegions]);
  onlyFor('openai', [contextKeys.openAiBaseUrl, contextKeys.openAiApiKeySecretArn]);

  const modelId = readString(scope, contextKeys.modelId, 'a model id such as amazon.nova-lite-v1:0');
  const rawRegions = context(scope, contextKeys.modelRegions);
  const regions =
    typeof rawRegions === 'string'
      ? rawRegions.split(',').map((part) => part.trim())
      : Array.isArray(rawRegions)
        ? rawRegions
        : undefined;
  if (rawRegions !== undefined && (regions === undefined || regions.some((r) => typeof r !== 'string'))) {
    throw contextError(contextKeys.modelRegions, 'Region codes, comma-separated', rawRegions);
  }
  const openAiBaseUrl = readString(scope, contextKeys.openAiBaseUrl, 'an http(s) URL');
  const secretArn = readString(scope, contextKeys.openAiApiKeySecretArn, 'a complete secret ARN');
  if (
    secretArn !== undefined &&
    !/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+-[A-Za-z0-9]{6}$/.test(secretArn)
  ) {
    throw contextError(
      contextKeys.openAiApiKeySecretArn,
      'the complete ARN of a Secrets Manager secret (ending in its 6-character suffix)',
      secretArn,
    );
  }
  const modelTimeoutSeconds = readPositiveInteger(scope, contextKeys.modelTimeoutSeconds, 'seconds');
  const contextMaxMessages = readPositiveInteger(scope, contextKeys.contextMaxMessages, 'messages');
  const contextMaxTokens = readPositiveInteger(scope, contextKeys.contextMaxTokens, 'tokens');
  return {
    provider,
    ...(modelId === undefined ? {} : { modelId }),
    ...(regions === undefined ? {} : { inferenceProfileRegions: regions as string[] }),
    ...(openAiBaseUrl === undefined ? {} : { openAiBaseUrl }),
    ...(secretArn === undefined
      ? {}
      : {
          openAiApiKeySecret: secretsmanager.Secret.fromSecretCompleteArn(scope, 'OpenAiApiKey', secretArn),
        }),
    ...(modelTimeoutSeconds === undefined ? {} : { modelTimeout: Duration.seconds(modelTimeoutSeconds) }),
    ...(contextMaxMessages === undefined ? {} : { contextMaxMessages }),
    ...(contextMaxTokens === undefined ? {} : { contextMaxTokens }),
  };
}

function readString(scope: Construct, key: string, expected: string): string | undefined {
  const value = context(scope, key);
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw contextError(key, expected, value);
  return value.trim();
}

function readBoolean(scope: Construct, key: string): boolean {
  const value = context(scope, key);
  if (value === undefined || value === false || value === 'false') return false;
  if (value === true || value === 'true') return true;
  throw contextError(key, 'true or false', value);
}

/** `-c attachments=false` keeps no bucket; `-c attachmentThresholdBytes=131072` moves parts over 128 KiB. */
function readAttachments(scope: Construct): AgentMemoryProps['attachments'] {
  const on =
    context(scope, contextKeys.attachments) === undefined || readBoolean(scope, contextKeys.attachments);
  const thresholdBytes = readPositiveInteger(scope, contextKeys.attachmentThresholdBytes, 'bytes');
  if (!on) {
    if (thresholdBytes !== undefined) {
      throw new ContextError(
        `Context '${contextKeys.attachmentThresholdBytes}' only applies with attachments on.`,
      );
    }
    return false;
  }
  return thresholdBytes === undefined ? {} : { thresholdBytes };
}

function readRetentionDays(scope: Construct): number | undefined {
  return readPositiveInteger(scope, contextKeys.retentionDays);
}

function readLogRetention(scope: Construct): logs.RetentionDays {
  const days = readPositiveInteger(scope, contextKeys.logRetentionDays) ?? logs.RetentionDays.ONE_MONTH;
  const allowed = Object.values(logs.RetentionDays).filter(
    (value): value is number => typeof value === 'number' && value !== logs.RetentionDays.INFINITE,
  );
  if (!allowed.includes(days)) {
    throw contextError(
      contextKeys.logRetentionDays,
      `one of CloudWatch's retentions (${allowed.join(', ')})`,
      days,
    );
  }
  return days as logs.RetentionDays;
}
