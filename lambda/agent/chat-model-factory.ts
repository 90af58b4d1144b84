import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { ModelConfig } from './agent-config.js';
import { BedrockConverseModel } from './bedrock-converse-model.js';
import type { ChatModel } from './chat-model.js';
import { OfflineModel } from './offline-model.js';
import { apiKeyFromSecret, apiKeyFromValue } from './openai-api-key.js';
import { OpenAiCompatibleModel } from './openai-compatible-model.js';

/** Clients to use instead of fresh ones (to wrap them for tracing, or to mock them in tests). */
export interface ChatModelDependencies {
  readonly bedrockClient?: BedrockRuntimeClient;
  readonly secretsClient?: SecretsManagerClient;
  readonly fetch?: typeof fetch;
}

/**
 * The configured model. Call it once at module scope: the clients it builds (region and credentials from
 * the standard AWS variables) and the API key it reads from Secrets Manager live for the whole process.
 */
export function createChatModel(config: ModelConfig, dependencies: ChatModelDependencies = {}): ChatModel {
  switch (config.provider) {
    case 'offline':
      return new OfflineModel(config.modelId);
    case 'bedrock':
      return new BedrockConverseModel({
        client: dependencies.bedrockClient ?? new BedrockRuntimeClient({}),
        modelId: config.modelId,
      });
    case 'openai':
      return new OpenAiCompatibleModel({
        baseUrl: config.baseUrl,
        modelId: config.modelId,
        apiKey:
          'value' in config.apiKey
            ? apiKeyFromValue(config.apiKey.value)
            : apiKeyFromSecret(
                dependencies.secretsClient ?? new SecretsManagerClient({}),
                config.apiKey.secretArn,
              ),
        ...(dependencies.fetch === undefined ? {} : { fetch: dependencies.fetch }),
      });
  }
}
