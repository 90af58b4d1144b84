import type { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { ModelConfig } from './agent-config.js';
import type { ChatModel } from './chat-model.js';

/** Clients to use instead of fresh ones (to mock them in tests). */
export interface ChatModelDependencies {
  readonly bedrockClient?: BedrockRuntimeClient;
  readonly secretsClient?: SecretsManagerClient;
  readonly fetch?: typeof fetch;
}

/**
 * The configured model. Call it once at module scope: the client it builds (region and credentials from the
 * standard AWS variables) and the API key it reads from Secrets Manager live for the whole process. Only the
 * configured provider's code and SDK are loaded: a Bedrock function never evaluates the Secrets Manager
 * client, an OpenAI-compatible one never the Bedrock client.
 */
export async function createChatModel(
  config: ModelConfig,
  dependencies: ChatModelDependencies = {},
): Promise<ChatModel> {
  switch (config.provider) {
    case 'offline': {
      const { OfflineModel } = await import('./offline-model.js');
      return new OfflineModel(config.modelId);
    }
    case 'bedrock': {
      const [{ BedrockRuntimeClient }, { BedrockConverseModel }] = await Promise.all([
        import('@aws-sdk/client-bedrock-runtime'),
        import('./bedrock-converse-model.js'),
      ]);
      return new BedrockConverseModel({
        client: dependencies.bedrockClient ?? new BedrockRuntimeClient({}),
        modelId: config.modelId,
      });
    }
    case 'openai': {
      const [{ OpenAiCompatibleModel }, { apiKeyFromSecret, apiKeyFromValue }] = await Promise.all([
        import('./openai-compatible-model.js'),
        import('./openai-api-key.js'),
      ]);
      const { apiKey } = config;
      const key =
        'value' in apiKey
          ? apiKeyFromValue(apiKey.value)
          : apiKeyFromSecret(
              dependencies.secretsClient ??
                new (await import('@aws-sdk/client-secrets-manager')).SecretsManagerClient({}),
              apiKey.secretArn,
            );
      return new OpenAiCompatibleModel({
        baseUrl: config.baseUrl,
        modelId: config.modelId,
        apiKey: key,
        ...(dependencies.fetch === undefined ? {} : { fetch: dependencies.fetch }),
      });
    }
  }
}
