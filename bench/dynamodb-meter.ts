import type { AttributeValue, ConsumedCapacity, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { itemSize, readUnits, writeUnits } from './item-size.js';

/** One DynamoDB request, as the meter saw it. */
export interface MeteredCall {
  readonly command: string;
  readonly kind: 'read' | 'write' | 'other';
  /** ConsumedCapacity.CapacityUnits as DynamoDB reported it (0 when it reported none). */
  readonly capacityUnits: number;
  /** The part of capacityUnits spent on global secondary indexes (reported with `indexCapacity` only). */
  readonly indexUnits: number;
  /** Billed size of the items the response carried (DynamoDB's item-size rules). */
  readonly itemBytes: number;
  /** The HTTP response body, from Content-Length. */
  readonly wireBytes: number;
  /** Read units the item-size rules predict for the items returned (reads only), to cross-check the report. */
  readonly modeledReadUnits: number;
  /**
   * Write units the item-size rules predict for the items a write request puts whole (Put, PutRequest;
   * twice in a transaction); any other action counts its minimum, 1 unit (2 in a transaction).
   */
  readonly modeledWriteUnits: number;
  /** Time inside the SDK call: request, DynamoDB's answer, parsing. */
  readonly durationMs: number;
  readonly ok: boolean;
}

const READS = new Set([
  'GetItemCommand',
  'QueryCommand',
  'ScanCommand',
  'BatchGetItemCommand',
  'TransactGetItemsCommand',
]);
const WRITES = new Set([
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'BatchWriteItemCommand',
  'TransactWriteItemsCommand',
]);

export interface MeterOptions {
  /**
   * Adds `ReturnConsumedCapacity: 'TOTAL'` to requests that do not ask for it (LangChain does not). It changes
   * what DynamoDB reports, not what it charges.
   */
  readonly requestCapacity?: boolean;
  /** The client's results are a document client's (plain objects): re-marshall items to size them. */
  readonly documentClient?: boolean;
  /**
   * Asks every request for `ReturnConsumedCapacity: 'INDEXES'`, so that the units spent on global secondary
   * indexes are reported apart (`indexUnits`).
   */
  readonly indexCapacity?: boolean;
}

/**
 * Counts the DynamoDB requests a client sends and what each consumed. DynamoDB (and DynamoDB Local) reports
 * only a total `CapacityUnits` per request, so the read/write split comes from the operation: Get/Query/Scan
 * and batch or transactional gets are read units, Put/Update/Delete and batch or transactional writes are
 * write units.
 */
export class DynamoDbMeter {
  private readonly calls: MeteredCall[] = [];

  constructor(
    client: DynamoDBClient | { middlewareStack: DynamoDBClient['middlewareStack'] },
    options: MeterOptions = {},
  ) {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const command = context.commandName ?? 'unknown';
        const input = args.input as {
          ReturnConsumedCapacity?: string;
          ConsistentRead?: boolean;
          RequestItems?: Record<string, { ConsistentRead?: boolean }>;
        };
        if (options.requestCapacity && input.ReturnConsumedCapacity === undefined) {
          input.ReturnConsumedCapacity = 'TOTAL';
        }
        if (options.indexCapacity) input.ReturnConsumedCapacity = 'INDEXES';
        const kind = READS.has(command) ? 'read' : WRITES.has(command) ? 'write' : 'other';
        const started = performance.now();
        try {
          const result = await next(args);
          const output = result.output as {
            ConsumedCapacity?: ConsumedCapacity | ConsumedCapacity[];
            Item?: Record<string, unknown>;
            Items?: Record<string, unknown>[];
            Responses?: Record<string, Record<string, unknown>[]>;
          };
          const sizeOf = (item: Record<string, unknown>) =>
            itemSize(
              options.documentClient
                ? marshall(item, { removeUndefinedValues: true })
                : (item as Record<string, AttributeValue>),
            );
          const items = [
            ...(output.Item ? [output.Item] : []),
            ...(output.Items ?? []),
            ...Object.values(output.Responses ?? {}).flat(),
          ];
          const sizes = items.map(sizeOf);
          const itemBytes = sizes.reduce((sum, size) => sum + size, 0);
          const consistent =
            input.ConsistentRead === true ||
            Object.values(input.RequestItems ?? {}).some((request) => request.ConsistentRead === true);
          // A batch or transactional get is charged per item; a Query or Scan on the items' total.
          const perItem = command === 'BatchGetItemCommand' || command === 'TransactGetItemsCommand';
          const headers =
            (result.response as { headers?: Record<string, string> } | undefined)?.headers ?? {};
          this.calls.push({
            command,
            kind,
            capacityUnits: totalUnits(output.ConsumedCapacity),
            indexUnits: indexUnits(output.ConsumedCapacity),
            itemBytes,
            wireBytes: Number(headers['content-length'] ?? 0),
            modeledReadUnits:
              kind !== 'read'
                ? 0
                : perItem
                  ? sizes.reduce((sum, size) => sum + readUnits(size, consistent), 0)
                  : readUnits(itemBytes, consistent),
            modeledWriteUnits: kind === 'write' ? writeUnitsOf(command, args.input, sizeOf) : 0,
            durationMs: performance.now() - started,
            ok: true,
          });
          return result;
        } catch (error) {
          this.calls.push({
            command,
            kind,
            capacityUnits: 0,
            indexUnits: 0,
            itemBytes: 0,
            wireBytes: 0,
            modeledReadUnits: 0,
            modeledWriteUnits: 0,
            durationMs: performance.now() - started,
            ok: false,
          });
          throw error;
        }
      },
      { step: 'initialize', name: 'benchDynamoDbMeter', priority: 'high' },
    );
  }

  /** The calls recorded since the last take, oldest first. */
  take(): MeteredCall[] {
    return this.calls.splice(0);
  }
}

/** Modeled write units of a write request, from the items it puts (see MeteredCall.modeledWriteUnits). */
function writeUnitsOf(
  command: string,
  input: unknown,
  sizeOf: (item: Record<string, unknown>) => number,
): number {
  type Action = { Put?: { Item: Record<string, unknown> } } & Record<string, unknown>;
  type Request = { PutRequest?: { Item: Record<string, unknown> } };
  const request = input as {
    Item?: Record<string, unknown>;
    TransactItems?: Action[];
    RequestItems?: Record<string, Request[]>;
  };
  const units = (item: Record<string, unknown> | undefined) => (item ? writeUnits(sizeOf(item)) : 1);
  if (command === 'TransactWriteItemsCommand') {
    return 2 * (request.TransactItems ?? []).reduce((sum, action) => sum + units(action.Put?.Item), 0);
  }
  if (command === 'BatchWriteItemCommand') {
    return Object.values(request.RequestItems ?? {})
      .flat()
      .reduce((sum, entry) => sum + units(entry.PutRequest?.Item), 0);
  }
  return units(command === 'PutItemCommand' ? request.Item : undefined);
}

type Consumed = ConsumedCapacity | ConsumedCapacity[] | undefined;
const listOf = (consumed: Consumed) => (Array.isArray(consumed) ? consumed : consumed ? [consumed] : []);

function totalUnits(consumed: Consumed): number {
  return listOf(consumed).reduce((sum, entry) => sum + (entry.CapacityUnits ?? 0), 0);
}

function indexUnits(consumed: Consumed): number {
  return listOf(consumed).reduce(
    (sum, entry) =>
      sum +
      Object.values(entry.GlobalSecondaryIndexes ?? {}).reduce(
        (units, index) => units + (index.CapacityUnits ?? 0),
        0,
      ),
    0,
  );
}

/** What one turn cost: the sum over its calls. */
export interface TurnCost {
  readonly calls: number;
  readonly commands: string[];
  readonly readUnits: number;
  readonly writeUnits: number;
  readonly itemBytesRead: number;
  readonly wireBytesRead: number;
  readonly modeledReadUnits: number;
  readonly modeledWriteUnits: number;
  /** Time per call, in call order. */
  readonly callMs: number[];
}

export function turnCost(calls: readonly MeteredCall[]): TurnCost {
  const sum = (pick: (call: MeteredCall) => number, kind?: MeteredCall['kind']) =>
    calls
      .filter((call) => kind === undefined || call.kind === kind)
      .reduce((total, call) => total + pick(call), 0);
  return {
    calls: calls.length,
    commands: calls.map((call) => call.command),
    readUnits: sum((call) => call.capacityUnits, 'read'),
    writeUnits: sum((call) => call.capacityUnits, 'write'),
    itemBytesRead: sum((call) => call.itemBytes, 'read'),
    wireBytesRead: sum((call) => call.wireBytes),
    modeledReadUnits: sum((call) => call.modeledReadUnits, 'read'),
    modeledWriteUnits: sum((call) => call.modeledWriteUnits, 'write'),
    callMs: calls.map((call) => Math.round(call.durationMs * 1000) / 1000),
  };
}
