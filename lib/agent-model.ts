import { ArnFormat, Aws, CfnMapping, Duration, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { commitReserveMs } from '../lambda/http/turns/turn-deadline.js';
import { AgentMemoryPropsError } from './props-error.js';

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
   * @default - bedrock: Amazon Nova Lite through the inference profile of the stack's Region (`us.`, `eu.` or
   *   `apac.amazon.nova-lite-v1:0`, see `novaLiteProfiles`; in a Region-agnostic stack CloudFormation picks it at
   *   deploy); openai: required; offline: 'offline'
   */
  readonly modelId?: string;

  /**
   * Bedrock inference profiles only: the Regions the profile routes requests to, where the function may invoke
   * the underlying foundation model (and only through this profile). Inference profiles are immutable, so the
   * list is fixed per profile id: `aws bedrock get-inference-profile --inference-profile-identifier <id>`.
   * @default - known for Amazon Nova Lite's profiles (`novaLiteProfiles`); required for any other profile
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
 * The default Bedrock model, Amazon Nova Lite, through its geographic inference profiles: each with the Regions
 * assumed to be both its source Regions (that may call it) and its destination Regions (that serve it), as
 * Bedrock's documentation lists them; not verified against a live account. A stack in one of these Regions
 * calls the profile of its Region by default. Amazon's own model needs no provider use-case form (Anthropic
 * models do, once per account), costs least among the multimodal models with tool use that Converse serves,
 * and each profile spreads load over its Regions.
 */
export const novaLiteProfiles: Readonly<Record<string, readonly string[]>> = {
  'us.amazon.nova-lite-v1:0': ['us-east-1', 'us-east-2', 'us-west-2'],
  'eu.amazon.nova-lite-v1:0': [
    'eu-central-1',
    'eu-north-1',
    'eu-south-1',
    'eu-south-2',
    'eu-west-1',
    'eu-west-3',
  ],
  'apac.amazon.nova-lite-v1:0': [
    'ap-northeast-1',
    'ap-northeast-2',
    'ap-south-1',
    'ap-southeast-1',
    'ap-southeast-2',
  ],
};

/**
 * Bedrock's system-defined (cross-Region) inference profiles by id prefix, with the Regions of that geography,
 * which alone may call them: a `us.` profile cannot be called from eu-west-1.
 */
const profileGeographies: Readonly<Record<string, { readonly name: string; readonly regions: RegExp }>> = {
  us: { name: 'US', regions: /^us-(east|west)-\d+$/ },
  'us-gov': { name: 'AWS GovCloud (US)', regions: /^us-gov-/ },
  eu: { name: 'EU', regions: /^eu-/ },
  apac: { name: 'APAC', regions: /^ap-/ },
  jp: { name: 'Japan', regions: /^ap-northeast-[13]$/ },
  au: { name: 'Australia', regions: /^ap-southeast-[24]$/ },
  ca: { name: 'Canada', regions: /^ca-/ },
};

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
    throw new AgentMemoryPropsError(
      'agent.provider',
      `must be 'bedrock', 'openai' or 'offline', got '${provider}'.`,
    );
  }
  const onlyFor = (name: keyof AgentModelProps, allowed: ModelProvider) => {
    if (props[name] !== undefined && provider !== allowed) {
      throw new AgentMemoryPropsError(
        `agent.${name}`,
        `only applies with provider '${allowed}' (provider is '${provider}').`,
      );
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
    if (props.modelId === undefined) {
      throw new AgentMemoryPropsError('agent.modelId', "is required with provider 'openai'.");
    }
    const secret = props.openAiApiKeySecret;
    if (secret === undefined) {
      throw new AgentMemoryPropsError(
        'agent.openAiApiKeySecret',
        "is required with provider 'openai' (the API key stays out of the template).",
      );
    }
    const baseUrl = props.openAiBaseUrl ?? 'https://api.openai.com/v1';
    if (!Token.isUnresolved(baseUrl) && !/^https?:\/\/[^\s/]+/.test(baseUrl)) {
      throw new AgentMemoryPropsError('agent.openAiBaseUrl', `must be an http(s) URL, got '${baseUrl}'.`);
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

  const region = Stack.of(scope).region;
  if (props.modelId === undefined && Token.isUnresolved(region)) {
    if (props.inferenceProfileRegions !== undefined) {
      throw new AgentMemoryPropsError(
        'agent.inferenceProfileRegions',
        "needs a model id too when the stack's Region is unknown at synth (the default model then follows " +
          'the Region at deploy).',
      );
    }
    const model = regionalDefaultModel(scope);
    return { environment: { MODEL_PROVIDER: provider, MODEL_ID: model.modelId, ...common }, ...model };
  }
  const modelId = validateModelId(props.modelId ?? defaultModelIn(region));
  if (!Token.isUnresolved(region)) checkProfileRegion(modelId, region);
  return {
    environment: { MODEL_PROVIDER: provider, MODEL_ID: modelId, ...common },
    statements: bedrockStatements(scope, modelId, props.inferenceProfileRegions),
  };
}

/** The Nova Lite profile a stack in `region` calls by default. */
function defaultModelIn(region: string): string {
  const modelId = Object.keys(novaLiteProfiles).find((id) => novaLiteProfiles[id]?.includes(region));
  if (modelId === undefined) {
    throw new AgentMemoryPropsError(
      'agent.modelId',
      `is required in ${region}: none of Amazon Nova Lite's inference profiles (${Object.keys(novaLiteProfiles).join(', ')}) ` +
        `is known to be callable there. Choose a model Bedrock serves in ${region}.`,
    );
  }
  return modelId;
}

/** A geographic inference profile may only be called from a Region of its geography. */
function checkProfileRegion(modelId: string, region: string): void {
  const [prefix = '', ...rest] = modelId.split('.');
  const geography = profileGeographies[prefix];
  if (geography === undefined || geography.regions.test(region)) return;
  const local = Object.entries(profileGeographies).find(([, candidate]) => candidate.regions.test(region));
  const fix =
    local === undefined
      ? `choose a model Bedrock serves in ${region}`
      : `use the ${local[1].name} profile of the same model, '${[local[0], ...rest].join('.')}', if Bedrock offers ` +
        `it (aws bedrock list-inference-profiles --region ${region}), or deploy in the ${geography.name} geography`;
  throw new AgentMemoryPropsError(
    'agent.modelId',
    `'${modelId}' is an inference profile of the ${geography.name} geography, which cannot be called from ` +
      `${region}: ${fix}.`,
  );
}

/**
 * The default model of a stack whose Region is unknown at synth: CloudFormation looks the Region up in a
 * mapping of `novaLiteProfiles` at deploy, so the function calls the profile of the Region it runs in, with
 * the same permissions as a Region-aware stack; in any other Region the deploy fails before creating anything.
 */
function regionalDefaultModel(scope: Construct): { modelId: string; statements: iam.PolicyStatement[] } {
  const stack = Stack.of(scope);
  const mappingId = 'AgentMemoryDefaultModel';
  const mapping =
    (stack.node.tryFindChild(mappingId) as CfnMapping | undefined) ??
    new CfnMapping(stack, mappingId, {
      mapping: Object.fromEntries(
        Object.entries(novaLiteProfiles).flatMap(([modelId, regions]) =>
          regions.map((region) => [
            region,
            {
              ModelId: modelId,
              // The partition of every Region above.
              ModelArns: regions.map(
                (destination) =>
                  `arn:aws:bedrock:${destination}::foundation-model/${modelId.split('.').slice(1).join('.')}`,
              ),
            },
          ]),
        ),
      ),
    });
  const modelId = mapping.findInMap(Aws.REGION, 'ModelId');
  const profileArn = stack.formatArn({
    service: 'bedrock',
    resource: 'inference-profile',
    resourceName: modelId,
    arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
  });
  return {
    modelId,
    statements: profileStatements(profileArn, Token.asList(mapping.findInMap(Aws.REGION, 'ModelArns'))),
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
    throw new AgentMemoryPropsError(
      'agent.modelId',
      `'${modelId}': global inference profiles route to every commercial Region, which this construct does ` +
        'not grant; use a geographic profile (us., eu., apac., ...) or a Regional model id.',
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

  if (prefix === undefined || profileGeographies[prefix] === undefined) {
    if (inferenceProfileRegions !== undefined) {
      throw new AgentMemoryPropsError(
        'agent.inferenceProfileRegions',
        `applies to inference profile ids only; '${modelId}' is a foundation model id.`,
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

  const regions = inferenceProfileRegions ?? novaLiteProfiles[modelId];
  if (regions === undefined) {
    throw new AgentMemoryPropsError(
      'agent.inferenceProfileRegions',
      `is required for the inference profile '${modelId}': the Regions it routes to ` +
        `(aws bedrock get-inference-profile --inference-profile-identifier ${modelId}).`,
    );
  }
  if (regions.length === 0 || regions.some((region) => !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region))) {
    throw new AgentMemoryPropsError(
      'agent.inferenceProfileRegions',
      `must list Region codes such as us-east-1, got ${JSON.stringify(regions)}.`,
    );
  }
  const profileArn = stack.formatArn({
    service: 'bedrock',
    resource: 'inference-profile',
    resourceName: modelId,
    arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
  });
  const baseModelId = rest.join('.');
  return profileStatements(
    profileArn,
    [...new Set(regions)].map((region) => foundationModelArn(region, baseModelId)),
  );
}

/** The profile, and its model in the destination Regions only through the profile. */
function profileStatements(profileArn: string, modelArns: string[]): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({
      sid: 'InvokeInferenceProfile',
      actions: ['bedrock:InvokeModel', 'bedrock:InvokeModelWithResponseStream'],
      resources: [profileArn],
    }),
    new iam.PolicyStatement({
      sid: 'InvokeModelThroughProfile',
      actions: ['bedrock:InvokeModel', 'bedrock:InvokeModelWithResponseStream'],
      resources: modelArns,
      conditions: { StringEquals: { 'bedrock:InferenceProfileArn': profileArn } },
    }),
  ];
}

function validateModelId(modelId: string): string {
  if (Token.isUnresolved(modelId) || !/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,199}$/.test(modelId)) {
    throw new AgentMemoryPropsError(
      'agent.modelId',
      `must be a model id such as amazon.nova-lite-v1:0, got '${modelId}'.`,
    );
  }
  if (modelId.startsWith('arn:')) {
    throw new AgentMemoryPropsError(
      'agent.modelId',
      `must be a model or inference profile id, not an ARN ('${modelId}'); for an application inference ` +
        'profile, grant its permissions with routeOptions.AgentTurns.initialPolicy.',
    );
  }
  return modelId;
}

/** The model deadline in milliseconds, checked to fit in a turn function's timeout with room for the commit. */
export function validateModelTimeout(modelTimeout: Duration, functionTimeout: Duration): number {
  const modelMs = modelTimeout.toMilliseconds();
  const functionMs = functionTimeout.toMilliseconds();
  if (!Number.isInteger(modelMs) || modelMs < 1000 || modelMs > 29_000) {
    throw new AgentMemoryPropsError(
      'agent.modelTimeout',
      `must be from 1 to 29 seconds (below API Gateway's 30 s), got ${modelMs} ms.`,
    );
  }
  if (modelMs + commitReserveMs > functionMs) {
    throw new AgentMemoryPropsError(
      'agent.modelTimeout',
      `must leave the turn function at least ${commitReserveMs} ms of its ${functionMs} ms timeout for the ` +
        `store and the answer, got ${modelMs} ms.`,
    );
  }
  return modelMs;
}

function validateInteger(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new AgentMemoryPropsError(
      `agent.${name}`,
      `must be an integer from ${min} to ${max}, got ${value}.`,
    );
  }
  return value;
}
