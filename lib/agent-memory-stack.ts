import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { AgentMemory, type AgentMemoryAuth } from './agent-memory.js';
import type { AgentModelProps, ModelProvider } from './agent-model.js';

/** The stack `cdk deploy` creates. Its settings come from context (`-c key=value` or cdk.json). */
export class AgentMemoryStack extends Stack {
  /** The construct, for tests and for stacks that extend this one. */
  public readonly memory: AgentMemory;

  constructor(scope: Construct, id: string, props: StackProps = {}) {
    super(scope, id, {
      description: 'Agent memory: durable conversation memory for AI agents (HTTP API, Lambda, DynamoDB).',
      ...props,
    });

    const retentionDays = readRetentionDays(this);
    this.memory = new AgentMemory(this, 'AgentMemory', {
      auth: readAuth(this),
      ...(retentionDays === undefined ? {} : { retention: Duration.days(retentionDays) }),
      logRetention: readLogRetention(this),
      agent: readAgentModel(this),
    });

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
} as const;

function context(scope: Construct, key: string): unknown {
  const value: unknown = scope.node.tryGetContext(key);
  return value === '' ? undefined : value;
}

function contextError(key: string, expected: string, value: unknown): Error {
  return new Error(`Context '${key}': expected ${expected}, got ${JSON.stringify(value)}.`);
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
      throw new Error(`Context ${stray.map((key) => `'${key}'`).join(', ')} only apply with -c auth=jwt.`);
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
      throw new Error(
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
