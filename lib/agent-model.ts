import { ArnFormat, Duration, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { commitReserveMs } from '../lambda/http/turn-deadline.js';

/** Where the turn route's model runs. */
export type ModelProvider = 'bedrock' | 'openai' | 'offline';

/** The model of `POST /v1/conversations/{id}/turns` (environment per lambda/agent/agent-config.ts). */
export interface AgentModelProps {
  /**
   * Amazon Bedrock (Converse API), an OpenAI-compatible chat-completions endpoint, or the deterministic offline
   * model (no model, no cost: for smoke tests of a deployment).
   * @default 'bedrock'
   */
  readonly provider?: ModelProvider;

  /**
   * The model. Bedrock: a foundation model id, invoked in the stack's Region (`amazon.nova-lite-v1:0`), or a
   * geographic cross-Region inference profile id (`us.…`, `eu.…`, `apac.…`, ...), invoked from the stack's
   * Region, which must be one of the profile's source Regions. OpenAI-compatible: the request's `model`.
   * @default - bedrock: 'us.amazon.nova-lite-v1:0' (US Amazon Nova Lite: deploy in us-east-1, us-east-2 or
   *   us-west-2, or choose another model); openai: required; offline: 'offline'
   */
  readonly modelId?: string;

  /**
   * Bedrock inference profiles only: the Regions the profile routes requests to, where the function may invoke
   * the underlying foundation model (and only through this profile). Inference profiles are immutable, so the
   * list is fixed per profile id: `aws bedrock get-inference-profile --inference-profile-identifier <id>`.
   * @default - ['us-east-1', 'us-east-2', 'us-west-2'] for the default model; required for any other profile
   */
  readonly inferenceProfileRegions?: readonly string[];

  /**
   * OpenAI-compatible provider only: the API root that `/chat/completions` is appended to.
   * @default 'https://api.openai.com/v1'
   */
  readonly openAiBaseUrl?: string;

  /**
   * OpenAI-compatible provider only (and required for it): the secret that holds the API key (the key itself,
   * or JSON with an `apiKey` field). The turn function may read this secret and no other.
   * @default - none
   */
  readonly openAiApiKeySecret?: secretsmanager.ISecret;

  /**
   * The deadline for a turn's model calls together (regenerations after lost races included). It must leave
   * the function at least 3 s of its timeout for the store and the answer.
   * @default Duration.seconds(20)
   */
  readonly modelTimeout?: Duration;

  /**
   * History sent to the model: at most this many of the newest messages (1-1000).
   * @default 20
   */
  readonly contextMaxMessages?: number;

  /**
   * History sent to the model: within this many estimated tokens for the whole prompt (~4 characters a token).
   * @default 8000
   */
  readonly contextMaxTokens?: number;
}

/**
 * The default Bedrock model: Amazon Nova Lite through its US inference profile. Amazon's own model needs no
 * provider use-case form (Anthropic models do, once per account), costs least among the multimodal models with
 * tool use that Converse serves, and the profile spreads load over three US Regions.
 */
export const defaultBedrockModelId = 'us.amazon.nova-lite-v1:0';

/** Destination Regions of the inference profiles this construct knows without being told. */
const knownInferenceProfileRegions: Readonly<Record<string, readonly string[]>> = {
  [defaultBedrockModelId]: ['us-east-1', 'us-east-2', 'us-west-2'],
};

/** Prefixes of Bedrock's system-defined (cross-Region) inference profile ids. */
const geographicPrefixes = new Set(['us', 'us-gov', 'eu', 'apac', 'ca', 'jp', 'au']);

export const defaultModelTimeout = Duration.seconds(20);

/** The turn function's own settings, apart from the model: above the model timeout, below API Gateway's 30 s. */
export const turnFunctionDefaults = { timeout: Duration.seconds(29), memorySize: 1024 } as const;

export interface AgentModelSettings {
  /** The turn function's model variables (lambda/agent/agent-config.ts). */
  readonly environment: { readonly [key: string]: string };
  /** The model permission: Bedrock on this model only, or reading the API key secret. */
  readonly statements: iam.PolicyStatement[];
  /** The secret the function reads, for a KMS grant when it has its own key. */
  readonly secret?: secretsmanager.ISecret;
}

/**
 * Validates the model props and turns them into the turn function's environment and IAM statements.
 * `functionTimeout` is the turn function's timeout, which the model timeout must fit in.
 */
export function agentModelSettings(
  scope: Construct,
  props: AgentModelProps,
  functionTimeout: Duration,
): AgentModelSettings {
  const provider = props.provider ?? 'bedrock';
  if (!['bedrock', 'openai', 'offline'].includes(provider)) {
    throw new Error(`agent.provider must be 'bedrock', 'openai' or 'offline', got '${provider}'.`);
  }
  const onlyFor = (name: keyof AgentModelProps, allowed: ModelProvider) => {
    if (props[name] !== undefined && provider !== allowed) {
      throw new Error(`agent.${name} only applies with provider '${allowed}' (provider is '${provider}').`);
    }
  };
  onlyFor('inferenceProfileRegions', 'bedrock');
  onlyFor('openAiBaseUrl', 'openai');
  onlyFor('openAiApiKeySecret', 'openai');

  const modelTimeoutMs = validateModelTimeout(props.modelTimeout ?? defaultModelTimeout, functionTimeout);
  const maxMessages = validateInteger('contextMaxMessages', props.contextMaxMessages ?? 20, 1, 1000);
  const maxTokens = validateInteger('contextMaxTokens', props.contextMaxTokens ?? 8000, 1, 10_000_000);
  const common = {
    MODEL_TIMEOUT_MS: String(modelTimeoutMs),
    CONTEXT_MAX_MESSAGES: String(maxMessages),
    CONTEXT_MAX_TOKENS: String(maxTokens),
  };

  if (provider === 'offline') {
    const modelId = validateModelId(props.modelId ?? 'offline');
    return { environment: { MODEL_PROVIDER: provider, MODEL_ID: modelId, ...common }, statements: [] };
  }
  if (provider === 'openai') {
    if (props.modelId === undefined) throw new Error("agent.modelId is required with provider 'openai'.");
    const secret = props.openAiApiKeySecret;
    if (secret === undefined) {
      throw new Error(
        "agent.openAiApiKeySecret is required with provider 'openai' (the API key stays out of the template).",
      );
    }
    const baseUrl = props.openAiBaseUrl ?? 'https://api.openai.com/v1';
    if (!Token.isUnresolved(baseUrl) && !/^https?:\/\/[^\s/]+/.test(baseUrl)) {
      throw new Error(`agent.openAiBaseUrl must be an http(s) URL, got '${baseUrl}'.`);
    }
    return {
      environment: {
        MODEL_PROVIDER: provider,
        MODEL_ID: validateModelId(props.modelId),
        OPENAI_BASE_URL: baseUrl,
        OPENAI_API_KEY_SECRET_ARN: secret.secretArn,
        ...common,
      },
      statements: [
        new iam.PolicyStatement({
          sid: 'ReadModelApiKey',
          actions: ['secretsmanager:GetSecretValue'],
          resources: [secret.secretFullArn ?? `${secret.secretArn}-??????`],
        }),
      ],
      secret,
    };
  }

  const modelId = validateModelId(props.modelId ?? defaultBedrockModelId);
  return {
    environment: { MODEL_PROVIDER: provider, MODEL_ID: modelId, ...common },
    statements: bedrockStatements(scope, modelId, props.inferenceProfileRegions),
  };
}

/**
 * `bedrock:InvokeModel` and `bedrock:InvokeModelWithResponseStream` (which authorize Converse and ConverseStream)
 * on exactly the configured model. A foundation model id
 * is invoked in the stack's Region. An inference profile is invoked from the stack's Region and Bedrock then
 * authorizes the underlying model in whichever destination Region serves the request, so the function gets
 * the profile, plus that one model in each destination Region on condition that the call came through this
 * profile (a direct call of the model is still denied).
 */
function bedrockStatements(
  scope: Construct,
  modelId: string,
  inferenceProfileRegions: readonly string[] | undefined,
): iam.PolicyStatement[] {
  const stack = Stack.of(scope);
  const [prefix, ...rest] = modelId.split('.');
  if (prefix === 'global') {
    throw new Error(
      `agent.modelId '${modelId}': global inference profiles route to every commercial Region, which this ` +
        'construct does not grant; use a geographic profile (us., eu., apac., ...) or a Regional model id.',
    );
  }
  const foundationModelArn = (region: string, id: string) =>
    stack.formatArn({
      service: 'bedrock',
      region,
      account: '',
      resource: 'foundation-model',
      resourceName: id,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });

  if (prefix === undefined || !geographicPrefixes.has(prefix)) {
    if (inferenceProfileRegions !== undefined) {
      throw new Error(
        `agent.inferenceProfileRegions applies to inference profile ids only; '${modelId}' is a foundation model id.`,
      );
    }
    return [
      new iam.PolicyStatement({
        sid: 'InvokeModel',
        actions: ['bedrock:InvokeModel', 'bedrock:InvokeModelWithResponseStream'],
        resources: [foundationModelArn(stack.region, modelId)],
      }),
    ];
  }

  const regions = inferenceProfileRegions ?? knownInferenceProfileRegions[modelId];
  if (regions === undefined) {
    throw new Error(
      `agent.inferenceProfileRegions is required for the inference profile '${modelId}': the Regions it routes to ` +
        `(aws bedrock get-inference-profile --inference-profile-identifier ${modelId}).`,
    );
  }
  if (regions.length === 0 || regions.some((region) => !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region))) {
    throw new Error(
      `agent.inferenceProfileRegions must list Region codes such as us-east-1, got ${JSON.stringify(regions)}.`,
    );
  }
  const profileArn = stack.formatArn({
    service: 'bedrock',
    resource: 'inference-profile',
    resourceName: modelId,
    arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
  });
  const baseModelId = rest.join('.');
  return [
    new iam.PolicyStatement({
      sid: 'InvokeInferenceProfile',
      actions: ['bedrock:InvokeModel', 'bedrock:InvokeModelWithResponseStream'],
      resources: [profileArn],
    }),
    new iam.PolicyStatement({
      sid: 'InvokeModelThroughProfile',
      actions: ['bedrock:InvokeModel', 'bedrock:InvokeModelWithResponseStream'],
      resources: [...new Set(regions)].map((region) => foundationModelArn(region, baseModelId)),
      conditions: { StringEquals: { 'bedrock:InferenceProfileArn': profileArn } },
    }),
  ];
}

function validateModelId(modelId: string): string {
  if (Token.isUnresolved(modelId) || !/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,199}$/.test(modelId)) {
    throw new Error(`agent.modelId must be a model id such as amazon.nova-lite-v1:0, got '${modelId}'.`);
  }
  if (modelId.startsWith('arn:')) {
    throw new Error(
      `agent.modelId must be a model or inference profile id, not an ARN ('${modelId}'); for an application ` +
        'inference profile, grant its permissions with routeOptions.AgentTurns.initialPolicy.',
    );
  }
  return modelId;
}

function validateModelTimeout(modelTimeout: Duration, functionTimeout: Duration): number {
  const modelMs = modelTimeout.toMilliseconds();
  const functionMs = functionTimeout.toMilliseconds();
  if (!Number.isInteger(modelMs) || modelMs < 1000 || modelMs > 29_000) {
    throw new Error(
      `agent.modelTimeout must be from 1 to 29 seconds (below API Gateway's 30 s), got ${modelMs} ms.`,
    );
  }
  if (modelMs + commitReserveMs > functionMs) {
    throw new Error(
      `agent.modelTimeout (${modelMs} ms) must leave the turn function at least ${commitReserveMs} ms of its ` +
        `${functionMs} ms timeout for the store and the answer.`,
    );
  }
  return modelMs;
}

function validateInteger(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`agent.${name} must be an integer from ${min} to ${max}, got ${value}.`);
  }
  return value;
}
