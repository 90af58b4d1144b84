import { readEnvironment } from '../validation/environment.js';
import * as z from '../validation/zod.js';
import type { ContextPolicy } from './context-policy.js';

/** How the turn function reaches its model. */
export type ModelConfig =
  | { readonly provider: 'offline'; readonly modelId: string }
  | { readonly provider: 'bedrock'; readonly modelId: string }
  | {
      readonly provider: 'openai';
      readonly modelId: string;
      readonly baseUrl: string;
      /** Exactly one: the key itself (local), or the Secrets Manager secret that holds it (stack). */
      readonly apiKey: { readonly value: string } | { readonly secretArn: string };
    };

export interface AgentConfig {
  readonly model: ModelConfig;
  /** Deadline for a turn's model calls, below API Gateway's 30 s. */
  readonly modelTimeoutMs: number;
  readonly context: ContextPolicy;
  /** The size of a conversation's summary, in estimated tokens (the compactor's; at most half of the context). */
  readonly summaryMaxTokens: number;
}

const integer = (min: number, max: number, unit = '') =>
  z
    .pipe(
      z.string().check(z.regex(/^\d+$/, `must be an integer from ${min} to ${max}${unit}`)),
      z.transform(Number),
    )
    .check(
      z.refine((value) => value >= min && value <= max, `must be an integer from ${min} to ${max}${unit}`),
    );

const nonEmpty = () => z.string().check(z.minLength(1, 'must not be empty'));

/** Every variable the turn function reads; each is named when it is wrong. */
const environmentSchema = z
  .object({
    MODEL_PROVIDER: z._default(
      z.enum(['offline', 'bedrock', 'openai'], { error: 'must be offline, bedrock or openai' }),
      'offline',
    ),
    MODEL_ID: z.optional(nonEmpty()),
    OPENAI_BASE_URL: z._default(
      z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
      'https://api.openai.com/v1',
    ),
    OPENAI_API_KEY: z.optional(nonEmpty()),
    OPENAI_API_KEY_SECRET_ARN: z.optional(
      z
        .string()
        .check(
          z.regex(
            /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/,
            'must be a Secrets Manager secret ARN',
          ),
        ),
    ),
    MODEL_TIMEOUT_MS: z._default(integer(1, 29_000, ' (milliseconds, below API Gateway 30 s)'), 20_000),
    CONTEXT_MAX_MESSAGES: z._default(integer(1, 1000), 20),
    CONTEXT_MAX_TOKENS: z._default(integer(1, 10_000_000), 8000),
    SUMMARY_MAX_TOKENS: z.optional(integer(50, 100_000)),
  })
  .check(
    z.superRefine((env, context) => {
      if (env.SUMMARY_MAX_TOKENS !== undefined && env.SUMMARY_MAX_TOKENS * 2 > env.CONTEXT_MAX_TOKENS) {
        context.addIssue({
          code: 'custom',
          path: ['SUMMARY_MAX_TOKENS'],
          message: `must be at most half of CONTEXT_MAX_TOKENS (${env.CONTEXT_MAX_TOKENS}): the summary shares a turn's budget`,
        });
      }
      if (env.MODEL_PROVIDER !== 'offline' && env.MODEL_ID === undefined) {
        context.addIssue({
          code: 'custom',
          path: ['MODEL_ID'],
          message: `is required when MODEL_PROVIDER is ${env.MODEL_PROVIDER}`,
        });
      }
      if (env.MODEL_PROVIDER !== 'openai') return;
      const keys = [env.OPENAI_API_KEY, env.OPENAI_API_KEY_SECRET_ARN].filter((key) => key !== undefined);
      if (keys.length !== 1) {
        context.addIssue({
          code: 'custom',
          path: [],
          message: `OPENAI_API_KEY or OPENAI_API_KEY_SECRET_ARN (exactly one) is required when MODEL_PROVIDER is openai; ${
            keys.length === 0 ? 'neither is' : 'both are'
          } set`,
        });
      }
    }),
  );

/**
 * The agent's configuration from the environment, validated once (at cold start) by the one environment reader
 * (ConfigurationError naming every wrong variable, never a value).
 *
 *   MODEL_PROVIDER             offline | bedrock | openai                      default offline
 *   MODEL_ID                   required for bedrock and openai                 default offline: "offline"
 *   OPENAI_BASE_URL            chat-completions API root                       default https://api.openai.com/v1
 *   OPENAI_API_KEY             the key (local)              } exactly one for openai
 *   OPENAI_API_KEY_SECRET_ARN  a secret holding the key     }
 *   MODEL_TIMEOUT_MS           1-29000                                         default 20000
 *   CONTEXT_MAX_MESSAGES       1-1000                                          default 20
 *   CONTEXT_MAX_TOKENS         1-10000000                                      default 8000
 *   SUMMARY_MAX_TOKENS         50-100000, at most half of CONTEXT_MAX_TOKENS   default 1000 (or a quarter of
 *                                                                              CONTEXT_MAX_TOKENS, if less)
 */
export function readAgentConfig(environment: Record<string, string | undefined>): AgentConfig {
  const env = readEnvironment(environmentSchema, environment);
  const modelId = env.MODEL_ID ?? 'offline';
  let model: ModelConfig;
  if (env.MODEL_PROVIDER === 'openai') {
    model = {
      provider: 'openai',
      modelId,
      baseUrl: env.OPENAI_BASE_URL,
      apiKey:
        env.OPENAI_API_KEY !== undefined
          ? { value: env.OPENAI_API_KEY }
          : { secretArn: env.OPENAI_API_KEY_SECRET_ARN as string },
    };
  } else {
    model = { provider: env.MODEL_PROVIDER, modelId };
  }
  return {
    model,
    modelTimeoutMs: env.MODEL_TIMEOUT_MS,
    context: { maxMessages: env.CONTEXT_MAX_MESSAGES, maxTokens: env.CONTEXT_MAX_TOKENS },
    summaryMaxTokens:
      env.SUMMARY_MAX_TOKENS ?? Math.max(1, Math.min(1000, Math.floor(env.CONTEXT_MAX_TOKENS / 4))),
  };
}
