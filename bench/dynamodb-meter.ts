import type { AttributeValue, ConsumedCapacity, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { itemSize, readUnits } from './item-size.js';

/** One DynamoDB request, as the meter saw it. */
export interface MeteredCall {
  readonly command: string;
  readonly kind: 'read' | 'write' | 'other';
  /** ConsumedCapacity.CapacityUnits as DynamoDB reported it (0 when it reported none). */
  readonly capacityUnits: number;
  /** Billed size of the items the response carried (DynamoDB's item-size rules). */
  readonly itemBytes: number;
  /** The HTTP response body, from Content-Length. */
  readonly wireBytes: number;
  /** Read units the item-size rules predict for the items returned (reads only), to cross-check the report. */
  readonly modeledReadUnits: number;
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
        const input = args.input as { ReturnConsumedCapacity?: string; ConsistentRead?: boolean };
        if (options.requestCapacity && input.ReturnConsumedCapacity === undefined) {
          input.ReturnConsumedCapacity = 'TOTAL';
        }
        const kind = READS.has(command) ? 'read' : WRITES.has(command) ? 'write' : 'other';
        const started = performance.now();
        try {
          const result = await next(args);
          const output = result.output as {
            ConsumedCapacity?: ConsumedCapacity | ConsumedCapacity[];
            Item?: Record<string, unknown>;
            Items?: Record<string, unknown>[];
          };
          const items = [...(output.Item ? [output.Item] : []), ...(output.Items ?? [])];
          const itemBytes = items.reduce<number>(
            (sum, item) =>
              sum +
              itemSize(
                options.documentClient
                  ? marshall(item, { removeUndefinedValues: true })
                  : (item as Record<string, AttributeValue>),
              ),
            0,
          );
          const headers =
            (result.response as { headers?: Record<string, string> } | undefined)?.headers ?? {};
          this.calls.push({
            command,
            kind,
            capacityUnits: totalUnits(output.ConsumedCapacity),
            itemBytes,
            wireBytes: Number(headers['content-length'] ?? 0),
            modeledReadUnits: kind === 'read' ? readUnits(itemBytes, input.ConsistentRead === true) : 0,
            durationMs: performance.now() - started,
            ok: true,
          });
          return result;
        } catch (error) {
          this.calls.push({
            command,
            kind,
            capacityUnits: 0,
            itemBytes: 0,
            wireBytes: 0,
            modeledReadUnits: 0,
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

function totalUnits(consumed: ConsumedCapacity | ConsumedCapacity[] | undefined): number {
  const list = Array.isArray(consumed) ? consumed : consumed ? [consumed] : [];
  return list.reduce((sum, entry) => sum + (entry.CapacityUnits ?? 0), 0);
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
    callMs: calls.map((call) => Math.round(call.durationMs * 1000) / 1000),
  };
}
