import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { AgentMemory, type AgentMemoryAuth } from './agent-memory.js';

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
    });

    new CfnOutput(this, 'ApiUrl', {
      description: 'Base URL of the HTTP API.',
      value: this.memory.url,
    });
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
  retentionDays: 'retentionDays',
  logRetentionDays: 'logRetentionDays',
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
  const jwtOnly = [contextKeys.jwtIssuer, contextKeys.jwtAudience, contextKeys.tenantClaim];
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
  return {
    type: 'jwt',
    issuer,
    audience: audience as string[],
    ...(tenantClaim === undefined ? {} : { tenantClaim }),
  };
}

function readPositiveInteger(scope: Construct, key: string): number | undefined {
  const raw = context(scope, key);
  if (raw === undefined) return undefined;
  const value = typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw) : raw;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw contextError(key, 'a whole number of days, at least 1', raw);
  }
  return value;
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
