import { randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { RunnableConfig } from '@langchain/core/runnables';
import { type Checkpoint, type CheckpointMetadata, uuid6 } from '@langchain/langgraph-checkpoint';
import type { DynamoDBSaver } from '../../lambda/checkpoints/dynamodb-saver.js';
import { threadKeys } from '../../lambda/checkpoints/thread-keys.js';
import { localClientConfig } from '../../local/dynamodb-local.js';

/** Every item of a thread's partition, read directly (what the saver stored, whatever it shows). */
export async function threadItems(
  client: DynamoDBDocumentClient,
  tableName: string,
  tenant: string,
  threadId: string,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const output = await client.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': threadKeys.thread(tenant, threadId) },
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }),
    );
    items.push(...(output.Items ?? []));
    startKey = output.LastEvaluatedKey;
  } while (startKey);
  return items;
}

/** How many items of each kind (the sort key's first segment: CP, CV, WR, CH, ST). */
export function kindsOf(items: readonly Record<string, unknown>[]): Record<string, number> {
  const kinds: Record<string, number> = {};
  for (const item of items) {
    const kind = String(item.sk).split('#')[0] as string;
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  }
  return kinds;
}

/** Incompressible text of about this many bytes once serialized (base64 of random bytes). */
export const randomText = (bytes: number) => randomBytes(Math.ceil((bytes * 3) / 4)).toString('base64');

export const metadata = (step: number): CheckpointMetadata => ({ source: 'loop', step, parents: {} });

/** A checkpoint with these channel values, all at `version`. */
export function checkpointWith(values: Record<string, unknown>, version: number | string = 1): Checkpoint {
  return {
    v: 4,
    id: uuid6(-3),
    ts: new Date().toISOString(),
    channel_values: values,
    channel_versions: Object.fromEntries(Object.keys(values).map((channel) => [channel, version])),
    versions_seen: { agent: { __start__: 1 } },
  };
}

/** Puts a checkpoint as LangGraph does: after `parent` (a config from an earlier put), with its new versions. */
export function putAfter(
  saver: DynamoDBSaver,
  parent: RunnableConfig,
  checkpoint: Checkpoint,
  newVersions: Record<string, number | string> = checkpoint.channel_versions,
  step = 0,
): Promise<RunnableConfig> {
  return saver.put(parent, checkpoint, metadata(step), newVersions);
}

export const threadConfig = (threadId: string, checkpointNs = ''): RunnableConfig => ({
  configurable: { thread_id: threadId, checkpoint_ns: checkpointNs },
});

/**
 * A document client on DynamoDB Local with a fault injected into every request the SDK sends (inside its
 * retry loop, as a network or service failure would be): `fault` sees each command and its attempt and
 * decides what happens.
 */
export function clientWithFaults(
  endpoint: string,
  fault: (command: string, input: Record<string, unknown>, send: () => Promise<unknown>) => Promise<unknown>,
  clientOptions: { maxAttempts?: number } = {},
): DynamoDBDocumentClient {
  const client = DynamoDBDocumentClient.from(
    new DynamoDBClient({ ...localClientConfig(endpoint), ...clientOptions }),
    { marshallOptions: { removeUndefinedValues: true } },
  );
  client.middlewareStack.add(
    (next, context) => (args) =>
      fault(context.commandName ?? 'unknown', args.input as Record<string, unknown>, () =>
        next(args),
      ) as ReturnType<typeof next>,
    { step: 'deserialize', name: 'injectFault' },
  );
  return client;
}

/** A failure the SDK treats as a lost connection: the request's outcome is unknown, it retries. */
export const connectionReset = () =>
  Object.assign(new Error('socket hang up (injected after the request reached DynamoDB)'), {
    code: 'ECONNRESET',
  });
