import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

/*
 * Key schema: one table, one partition per conversation.
 *
 *   pk = T#<tenant, URI-encoded>#C#<conversationId>    (ids cannot contain '#', encoded tenants neither)
 *   sk = MSG#0000000042   a message, seq zero-padded to 10 digits so string order is seq order
 *        MSG#~HEAD        the head: version, messageCount, createdAt, updatedAt ('~' sorts after every digit)
 *        IDEM#<key>       an idempotency record: the request's hash and the seq range it wrote
 *        REMOVAL#0000000042  an edit that only removed messages wrote version 42 (its operation id)
 *
 * A descending Query on begins_with(sk, 'MSG#') returns the head first, then the newest messages: the
 * default window is one Query whose cost depends on the window, not on the conversation's length.
 */
export const keys = {
  partition: (tenant: string, conversationId: string) =>
    `T#${encodeURIComponent(tenant)}#C#${conversationId}`,
  head: 'MSG#~HEAD',
  messagePrefix: 'MSG#',
  message: (seq: number) => `MSG#${String(seq).padStart(10, '0')}`,
  idempotency: (key: string) => `IDEM#${key}`,
  removal: (version: number) => `REMOVAL#${String(version).padStart(10, '0')}`,
} as const;

/** The attribute DynamoDB's TTL deletes items by (epoch seconds). */
export const ttlAttribute = 'expiresAt';

/** The table as the CDK stack defines it, for DynamoDB Local (tests, local server, benchmarks). */
export function conversationTableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
  };
}
