import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * The SDK's retries, as the store is tuned for them. Transport retries belong to the SDK alone: its standard
 * strategy resends network failures, 5xx answers and throttling, at most 4 sends per call (DynamoDB's default
 * in this SDK, pinned here so that AWS_MAX_ATTEMPTS or an SDK upgrade cannot change it unseen). Backoff has
 * full jitter: 25 ms base (at most 175 ms in all), 1 s base for throttling (at most 7 s in all, 3.5 s
 * expected); the strategy's retry quota stops resending when most calls of the process fail. The store adds
 * only what the SDK cannot know: a lost race, or a transaction cancelled for contention, goes again within
 * the store's own budget (./retry-budget.ts). Every resend of a transaction carries the same token, so the
 * SDK's and the store's are one request to DynamoDB. The store stays correct under any settings.
 */
export const dynamoDbRetries = {
  maxAttempts: 4,
  retryMode: 'standard',
} as const satisfies DynamoDBClientConfig;

/** The document client the store expects (undefined members left out), with these retries unless given others. */
export function storeDocumentClient(client = new DynamoDBClient(dynamoDbRetries)): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}
