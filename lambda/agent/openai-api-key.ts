import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ModelError } from './model-errors.js';

/** Where the OpenAI-compatible provider gets its bearer token. */
export type ApiKeySource = () => Promise<string>;

export function apiKeyFromValue(apiKey: string): ApiKeySource {
  return () => Promise.resolve(apiKey);
}

/**
 * The key from Secrets Manager, read once per cold start: the first successful read is kept for the life of
 * the process; a failed read is not, so the next turn tries again. The secret is the key itself, or a JSON
 * object with an `apiKey` field.
 */
export function apiKeyFromSecret(client: SecretsManagerClient, secretArn: string): ApiKeySource {
  let cached: Promise<string> | undefined;
  return () => {
    cached ??= readApiKey(client, secretArn).catch((error: unknown) => {
      cached = undefined;
      throw error;
    });
    return cached;
  };
}

async function readApiKey(client: SecretsManagerClient, secretArn: string): Promise<string> {
  let secret: string | undefined;
  try {
    secret = (await client.send(new GetSecretValueCommand({ SecretId: secretArn }))).SecretString;
  } catch (error) {
    throw new ModelError("The model provider's credentials could not be loaded.", { cause: error });
  }
  const apiKey = secret === undefined ? undefined : keyFromSecretString(secret.trim());
  if (!apiKey) {
    throw new ModelError("The model provider's credentials could not be loaded.", {
      cause: new Error(`Secret ${secretArn} holds no API key (a string, or JSON with an "apiKey" field).`),
    });
  }
  return apiKey;
}

function keyFromSecretString(secret: string): string | undefined {
  if (!secret.startsWith('{')) return secret || undefined;
  try {
    const parsed = JSON.parse(secret) as { apiKey?: unknown };
    return typeof parsed.apiKey === 'string' && parsed.apiKey.length > 0 ? parsed.apiKey : undefined;
  } catch {
    return undefined;
  }
}
