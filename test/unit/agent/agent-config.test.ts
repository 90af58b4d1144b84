import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { describe, expect, it } from 'vitest';
import { readAgentConfig } from '../../../lambda/agent/agent-config.js';
import { BedrockConverseModel } from '../../../lambda/agent/bedrock-converse-model.js';
import { createChatModel } from '../../../lambda/agent/chat-model-factory.js';
import { OfflineModel } from '../../../lambda/agent/offline-model.js';
import { OpenAiCompatibleModel } from '../../../lambda/agent/openai-compatible-model.js';
import { ConfigurationError } from '../../../lambda/validation/environment.js';

const secretArn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:openai-key-AbCdEf';
const errorOf = (environment: Record<string, string | undefined>) => {
  try {
    readAgentConfig(environment);
  } catch (error) {
    return error as Error;
  }
  throw new Error('readAgentConfig accepted the environment');
};

describe('readAgentConfig', () => {
  it('defaults to the offline model, 20 s, 20 messages, 8000 tokens and summaries of 1000', () => {
    // Act
    const config = readAgentConfig({});

    // Assess
    expect(config).toEqual({
      model: { provider: 'offline', modelId: 'offline' },
      modelTimeoutMs: 20_000,
      context: { maxMessages: 20, maxTokens: 8000 },
      summaryMaxTokens: 1000,
    });
  });

  it('reads Bedrock with its model id and the numeric settings', () => {
    // Act
    const config = readAgentConfig({
      MODEL_PROVIDER: 'bedrock',
      MODEL_ID: 'us.amazon.nova-lite-v1:0',
      MODEL_TIMEOUT_MS: '15000',
      CONTEXT_MAX_MESSAGES: '40',
      CONTEXT_MAX_TOKENS: '16000',
      SUMMARY_MAX_TOKENS: '2000',
    });

    // Assess
    expect(config).toEqual({
      model: { provider: 'bedrock', modelId: 'us.amazon.nova-lite-v1:0' },
      modelTimeoutMs: 15_000,
      context: { maxMessages: 40, maxTokens: 16_000 },
      summaryMaxTokens: 2000,
    });
  });

  it('refuses a summary larger than half of the context budget, naming the variable', () => {
    // Act
    const error = errorOf({ CONTEXT_MAX_TOKENS: '1000', SUMMARY_MAX_TOKENS: '600' });

    // Assess
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toContain('SUMMARY_MAX_TOKENS');
    expect(error.message).toContain('at most half of CONTEXT_MAX_TOKENS (1000)');
  });

  it('reads an OpenAI-compatible endpoint with a key from the environment', () => {
    // Act
    const config = readAgentConfig({
      MODEL_PROVIDER: 'openai',
      MODEL_ID: 'gpt-4o-mini',
      OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1',
      OPENAI_API_KEY: 'sk-local',
    });

    // Assess
    expect(config.model).toEqual({
      provider: 'openai',
      modelId: 'gpt-4o-mini',
      baseUrl: 'http://127.0.0.1:11434/v1',
      apiKey: { value: 'sk-local' },
    });
  });

  it('reads an OpenAI key secret and defaults the base URL to OpenAI', () => {
    // Act
    const config = readAgentConfig({
      MODEL_PROVIDER: 'openai',
      MODEL_ID: 'gpt-4o-mini',
      OPENAI_API_KEY_SECRET_ARN: secretArn,
    });

    // Assess
    expect(config.model).toEqual({
      provider: 'openai',
      modelId: 'gpt-4o-mini',
      baseUrl: 'https://api.openai.com/v1',
      apiKey: { secretArn },
    });
  });

  it.each([
    [{ MODEL_PROVIDER: 'gpt' }, 'MODEL_PROVIDER: must be offline, bedrock or openai'],
    [{ MODEL_PROVIDER: 'bedrock' }, 'MODEL_ID: is required when MODEL_PROVIDER is bedrock'],
    [
      { MODEL_PROVIDER: 'openai', MODEL_ID: 'm' },
      'OPENAI_API_KEY or OPENAI_API_KEY_SECRET_ARN (exactly one)',
    ],
    [
      { MODEL_PROVIDER: 'openai', MODEL_ID: 'm', OPENAI_API_KEY: 'k', OPENAI_API_KEY_SECRET_ARN: secretArn },
      'both are set',
    ],
    [{ OPENAI_BASE_URL: 'ftp://example.com' }, 'OPENAI_BASE_URL: must be an http(s) URL'],
    [{ MODEL_TIMEOUT_MS: '30000' }, 'MODEL_TIMEOUT_MS: must be an integer from 1 to 29000'],
    [{ MODEL_TIMEOUT_MS: '5s' }, 'MODEL_TIMEOUT_MS: must be an integer from 1 to 29000'],
    [{ CONTEXT_MAX_MESSAGES: '0' }, 'CONTEXT_MAX_MESSAGES: must be an integer from 1 to 1000'],
    [{ CONTEXT_MAX_TOKENS: '-5' }, 'CONTEXT_MAX_TOKENS: must be an integer from 1 to 10000000'],
    [{ MODEL_ID: '' }, 'MODEL_ID: must not be empty'],
  ])('fails with the variable name for %o', (environment, expected) => {
    // Act
    const error = errorOf(environment);

    // Assess
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toContain(expected);
  });

  it('names every wrong variable at once and never echoes a value', () => {
    // Act
    const error = errorOf({
      MODEL_PROVIDER: 'openai',
      MODEL_ID: 'm',
      OPENAI_API_KEY: 'sk-do-not-print',
      OPENAI_API_KEY_SECRET_ARN: 'sk-do-not-print-either',
      CONTEXT_MAX_TOKENS: 'lots',
    });

    // Assess
    expect(error.message).toContain('OPENAI_API_KEY_SECRET_ARN: must be a Secrets Manager secret ARN');
    expect(error.message).toContain('CONTEXT_MAX_TOKENS');
    expect(error.message).not.toContain('sk-do-not-print');
  });
});

describe('createChatModel', () => {
  it('builds the offline model by default', async () => {
    // Act
    const model = await createChatModel(readAgentConfig({}).model);

    // Assess
    expect(model).toBeInstanceOf(OfflineModel);
    expect(model.modelId).toBe('offline');
  });

  it('builds the Bedrock model with the configured id', async () => {
    // Act
    const model = await createChatModel(
      { provider: 'bedrock', modelId: 'anthropic.claude-3-haiku-20240307-v1:0' },
      { bedrockClient: new BedrockRuntimeClient({ region: 'us-east-1' }) },
    );

    // Assess
    expect(model).toBeInstanceOf(BedrockConverseModel);
    expect(model.modelId).toBe('anthropic.claude-3-haiku-20240307-v1:0');
  });

  it('builds the OpenAI-compatible model with the configured id', async () => {
    // Act
    const model = await createChatModel({
      provider: 'openai',
      modelId: 'gpt-4o-mini',
      baseUrl: 'http://127.0.0.1:1/v1',
      apiKey: { value: 'k' },
    });

    // Assess
    expect(model).toBeInstanceOf(OpenAiCompatibleModel);
    expect(model.modelId).toBe('gpt-4o-mini');
  });
});
