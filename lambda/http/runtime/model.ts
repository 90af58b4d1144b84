import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { readAgentConfig } from '../../agent/agent-config.js';
import { createChatModel } from '../../agent/chat-model-factory.js';
import { tracer } from './observability.js';

/*
 * The turn function's agent configuration and model, built once at cold start. Only the turn handler imports
 * this module, so no other function needs (or reads) a model configuration. A bad environment fails the init
 * with the variable's name (lambda/agent/agent-config.ts lists them). Only the client the provider needs is
 * built, traced like the DynamoDB client; region and credentials come from the standard AWS variables.
 */
export const agentConfig = readAgentConfig(process.env);

const { model: modelConfig } = agentConfig;

export const model = createChatModel(modelConfig, {
  ...(modelConfig.provider === 'bedrock'
    ? { bedrockClient: tracer.captureAWSv3Client(new BedrockRuntimeClient({})) }
    : {}),
  ...(modelConfig.provider === 'openai' && 'secretArn' in modelConfig.apiKey
    ? { secretsClient: tracer.captureAWSv3Client(new SecretsManagerClient({})) }
    : {}),
});
