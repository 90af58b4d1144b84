import {
  BedrockRuntimeClient,
  ConverseCommand,
  type ConverseCommandOutput,
  InternalServerException,
  ModelTimeoutException,
  ValidationException,
} from '@aws-sdk/client-bedrock-runtime';
import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { HttpHandler } from '../../../lambda/http/pipeline/http-handler.js';
import type { StoredMessage } from '../../../lambda/memory/message.js';
import { keys } from '../../../lambda/memory/table.js';
import { apiEvent, jsonBody } from '../../support/api-gateway-events.js';
import { cancelled } from '../../support/dynamodb-errors.js';

vi.hoisted(() => {
  process.env.TABLE_NAME = 'memory-test';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.MODEL_PROVIDER = 'offline';
});

const offline = await import('../../../lambda/http/handlers/run-turn.js');
const offlineObservability = await import('../../../lambda/http/runtime/observability.js');

const dynamo = mockClient(DynamoDBDocumentClient);
const bedrock = mockClient(BedrockRuntimeClient);
const pk = keys.partition('tenant-a', 'conv-1');
const createdAt = '2025-01-01T00:00:00.000Z';

/** The handler module (and its Powertools instances) built afresh for another model environment. */
async function loadTurnModule(environment: Record<string, string>) {
  for (const [name, value] of Object.entries(environment)) vi.stubEnv(name, value);
  vi.resetModules();
  try {
    const { handler } = await import('../../../lambda/http/handlers/run-turn.js');
    const { logger, metrics } = await import('../../../lambda/http/runtime/observability.js');
    return { handler, logger, metrics };
  } finally {
    vi.unstubAllEnvs();
  }
}

const turnEvent = (
  body: unknown,
  options: { headers?: Record<string, string>; conversationId?: string; authorizer?: unknown } = {},
) => {
  const conversationId = options.conversationId ?? 'conv-1';
  return apiEvent({
    method: 'POST',
    path: `/v1/conversations/${conversationId}/turns`,
    pathParameters: { conversationId },
    body,
    headers: options.headers,
    authorizer: options.authorizer,
  });
};

const stored = (seq: number, role = seq % 2 === 1 ? 'user' : 'assistant'): StoredMessage => ({
  role: role as StoredMessage['role'],
  content: `m${seq}`,
  id: `id-${seq}`,
  seq,
  createdAt,
});
const messageItem = (message: StoredMessage) => ({
  pk,
  sk: keys.message(message.seq),
  msg: JSON.stringify(message),
});
const headItem = (version: number) => ({
  pk,
  sk: keys.head,
  version,
  messageCount: version,
  createdAt,
  updatedAt: createdAt,
});
/** What the turn's load (one descending Query) returns for a conversation of `version` messages. */
const conversationOf = (version: number) => ({
  Items: [
    ...(version > 0 ? [headItem(version)] : []),
    ...Array.from({ length: version }, (_, index) => messageItem(stored(version - index))),
  ],
});

const sentTransactions = (): TransactWriteCommandInput[] =>
  dynamo.commandCalls(TransactWriteCommand).map((call) => call.args[0].input);

/** The messages a committed transaction wrote, parsed. */
const writtenMessages = (transaction: TransactWriteCommandInput | undefined) =>
  (transaction?.TransactItems ?? [])
    .map((item) => item.Put?.Item?.msg)
    .filter((msg): msg is string => typeof msg === 'string')
    .map((msg) => JSON.parse(msg));

/**
 * Makes DynamoDB answer a replay of `first` (the transaction of an earlier request with an Idempotency-Key):
 * its idempotency record for the key, and its messages for the range read.
 */
function answerReplayOf(first: TransactWriteCommandInput | undefined, key: string, version: number) {
  const items = first?.TransactItems ?? [];
  const record = items.find((item) => String(item.Put?.Item?.sk).startsWith('IDEM#'))?.Put?.Item;
  const messages = items.filter((item) => item.Put?.Item?.msg !== undefined).map((item) => item.Put?.Item);
  dynamo.reset();
  dynamo.on(GetCommand, { Key: { pk, sk: keys.idempotency(key) } }).resolves({ Item: record });
  dynamo.on(GetCommand, { Key: { pk, sk: keys.head } }).resolves({ Item: { pk, sk: keys.head, version } });
  dynamo.on(QueryCommand).resolves(conversationOf(version));
  dynamo
    .on(QueryCommand, { KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lower AND :upper' })
    .resolves({ Items: messages as Array<Record<string, unknown>> });
  dynamo.on(TransactWriteCommand).rejects(new Error('a replay must not write'));
}

const converseAnswer = (text: string): ConverseCommandOutput => ({
  output: { message: { role: 'assistant', content: [{ text }] } },
  stopReason: 'end_turn',
  usage: { inputTokens: 12, outputTokens: 3, totalTokens: 15 },
  metrics: { latencyMs: 5 },
  $metadata: {},
});

const lambdaContext = (remainingMs: number): Context =>
  ({
    functionName: 'agent-turns',
    awsRequestId: 'aws-request-1',
    getRemainingTimeInMillis: () => remainingMs,
  }) as unknown as Context;

describe('runTurn handler', () => {
  beforeEach(() => {
    dynamo.reset();
    bedrock.reset();
    dynamo.on(GetCommand).resolves({});
    dynamo.on(QueryCommand).resolves(conversationOf(2));
    dynamo.on(TransactWriteCommand).resolves({});
  });

  afterEach(() => {
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  describe('with the offline model', () => {
    const turn = (body: unknown, options?: Parameters<typeof turnEvent>[1]) =>
      offline.handler(turnEvent(body, options));

    it('answers 201 with the committed pair, the reply, contextMessages and the model, committed on the version it read', async () => {
      // Act
      const response = await turn({ message: 'hello' });

      // Assess
      expect(response.statusCode).toBe(201);
      expect(response.headers).toEqual({ 'Content-Type': 'application/json' });
      const body = jsonBody(response);
      expect(body).toMatchObject({
        conversationId: 'conv-1',
        version: 4,
        contextMessages: 2,
        model: 'offline',
      });
      expect(body.messages).toHaveLength(2);
      expect(body.messages[0]).toMatchObject({ role: 'user', content: 'hello', seq: 3 });
      expect(body.messages[1]).toMatchObject({
        role: 'assistant',
        content: '[offline] history: 2 messages, you said: hello',
        seq: 4,
        metadata: { model: 'offline', contextMessages: 2 },
      });
      expect(body.reply).toEqual(body.messages[1]);
      expect(dynamo).toHaveReceivedCommandWith(QueryCommand, {
        TableName: 'memory-test',
        ConsistentRead: true,
        ExpressionAttributeValues: { ':pk': pk, ':prefix': keys.messagePrefix },
      });
      const [transaction] = sentTransactions();
      expect(transaction?.TransactItems?.[0]?.Update?.ExpressionAttributeValues).toMatchObject({
        ':base': 2,
        ':version': 4,
      });
      expect(writtenMessages(transaction)).toEqual(body.messages);
    });

    it('answers Accept: text/event-stream whole on the HTTP API: the deltas, then done with the committed turn', async () => {
      // Act
      const response = await turn({ message: 'hello' }, { headers: { accept: 'text/event-stream' } });

      // Assess
      expect(response.statusCode).toBe(200);
      expect(response.headers).toMatchObject({ 'Content-Type': 'text/event-stream; charset=utf-8' });
      const events = (response.body ?? '')
        .trim()
        .split('\n\n')
        .map((block) => ({
          event: block.split('\n')[0],
          data: JSON.parse(block.split('\n')[1]?.slice(6) ?? ''),
        }));
      expect(events.at(-1)?.event).toBe('event: done');
      expect(events.slice(0, -1).every((event) => event.event === 'event: delta')).toBe(true);
      const text = events
        .slice(0, -1)
        .map((event) => event.data.text)
        .join('');
      expect(text).toBe('[offline] history: 2 messages, you said: hello');
      expect(events.at(-1)?.data).toMatchObject({
        version: 4,
        awaitingToolResults: false,
        reply: { content: text },
      });
      expect(dynamo).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
    });

    it('stores a message object exactly as sent, unknown keys and their order included', async () => {
      // Prepare
      const raw =
        '{"message":{"role":"user","content":[{"zeta":1,"type":"text","text":"a"}],' +
        '"metadata":{"b":1,"__proto__":{"kept":true},"a":[1,{"x":null}]}}}';

      // Act
      const response = await turn(raw);

      // Assess
      expect(response.statusCode).toBe(201);
      const [user] = writtenMessages(sentTransactions()[0]);
      expect(JSON.stringify(user.content)).toBe('[{"zeta":1,"type":"text","text":"a"}]');
      expect(JSON.stringify(user.metadata)).toBe('{"b":1,"__proto__":{"kept":true},"a":[1,{"x":null}]}');
    });

    it('gives the model the system prompt without storing it', async () => {
      // Act
      const response = await turn({ message: 'hi', system: 'Be brief.' });

      // Assess
      expect(response.statusCode).toBe(201);
      expect(jsonBody(response).reply.content).toBe(
        '[offline] system: "Be brief.", history: 2 messages, you said: hi',
      );
      expect(writtenMessages(sentTransactions()[0])[0]).toEqual(
        expect.objectContaining({ role: 'user', content: 'hi' }),
      );
      expect(JSON.stringify(sentTransactions()[0]?.TransactItems?.[1])).not.toContain('Be brief.');
    });

    it('regenerates on the new history after losing the race at commit', async () => {
      // Prepare: another writer commits seq 3 between the load and the commit.
      dynamo.on(QueryCommand).resolvesOnce(conversationOf(2)).resolves(conversationOf(3));
      dynamo
        .on(TransactWriteCommand)
        .rejectsOnce(cancelled({ Code: 'ConditionalCheckFailed', Item: headItem(3) }))
        .resolves({});
      const addMetric = vi.spyOn(offlineObservability.metrics, 'addMetric');
      const logInfo = vi.spyOn(offlineObservability.logger, 'info');

      // Act
      const response = await turn({ message: 'hello' });

      // Assess
      expect(response.statusCode).toBe(201);
      expect(jsonBody(response)).toMatchObject({ version: 5, contextMessages: 3 });
      expect(jsonBody(response).reply.content).toBe('[offline] history: 3 messages, you said: hello');
      expect(addMetric).toHaveBeenCalledWith('modelCalls', 'Count', 2);
      const [, fields] = logInfo.mock.calls[0] as [string, Record<string, unknown>];
      expect(fields).toMatchObject({ route: 'AgentTurns', modelCalls: 2, statusCode: 201 });
    });

    it('logs the model calls, their durations and the context size, and counts them', async () => {
      // Prepare
      const addMetric = vi.spyOn(offlineObservability.metrics, 'addMetric');
      const logInfo = vi.spyOn(offlineObservability.logger, 'info');

      // Act
      await turn({ message: 'hello' });

      // Assess
      expect(logInfo).toHaveBeenCalledOnce();
      const [, fields] = logInfo.mock.calls[0] as [string, Record<string, unknown>];
      expect(fields).toMatchObject({
        route: 'AgentTurns',
        tenant: 'tenant-a',
        conversationId: 'conv-1',
        version: 4,
        replayed: false,
        model: 'offline',
        modelCalls: 1,
        modelDurationsMs: [expect.any(Number)],
        contextMessages: 2,
        statusCode: 201,
        durationMs: expect.any(Number),
      });
      expect(addMetric.mock.calls).toEqual([
        ['turns', 'Count', 1],
        ['contextMessages', 'Count', 2],
        ['modelCalls', 'Count', 1],
        ['modelLatency', 'Milliseconds', expect.any(Number)],
      ]);
    });

    it('replays a repeated Idempotency-Key with 200 and Idempotent-Replayed: true, appending nothing', async () => {
      // Prepare
      const headers = { 'idempotency-key': 'turn-1' };
      const first = await turn({ message: 'hello' }, { headers });
      answerReplayOf(sentTransactions()[0], 'turn-1', 4);
      const addMetric = vi.spyOn(offlineObservability.metrics, 'addMetric');

      // Act
      const replay = await turn({ message: 'hello' }, { headers: { 'Idempotency-Key': 'turn-1' } });

      // Assess
      expect(first.statusCode).toBe(201);
      expect(replay.statusCode).toBe(200);
      expect(replay.headers).toMatchObject({ 'Idempotent-Replayed': 'true' });
      expect(jsonBody(replay)).toEqual(jsonBody(first));
      expect(dynamo).not.toHaveReceivedCommand(TransactWriteCommand);
      expect(addMetric).toHaveBeenCalledWith('turnReplays', 'Count', 1);
      expect(addMetric).toHaveBeenCalledWith('modelCalls', 'Count', 0);
      expect(addMetric).not.toHaveBeenCalledWith('turns', expect.anything(), expect.anything());
    });

    it('answers 422 idempotency_key_reused when the key comes back with another message', async () => {
      // Prepare
      const headers = { 'idempotency-key': 'turn-1' };
      await turn({ message: 'hello' }, { headers });
      answerReplayOf(sentTransactions()[0], 'turn-1', 4);

      // Act
      const response = await turn({ message: 'something else' }, { headers });

      // Assess
      expect(response.statusCode).toBe(422);
      expect(jsonBody(response).error.code).toBe('idempotency_key_reused');
      expect(dynamo).not.toHaveReceivedCommand(TransactWriteCommand);
    });

    it('answers 409 version_conflict with currentVersion before any model call when expectedVersion is stale', async () => {
      // Prepare
      dynamo.on(QueryCommand).resolves(conversationOf(5));
      const addMetric = vi.spyOn(offlineObservability.metrics, 'addMetric');

      // Act
      const response = await turn({ message: 'hello', expectedVersion: 3 });

      // Assess
      expect(response.statusCode).toBe(409);
      expect(jsonBody(response)).toEqual({
        error: { code: 'version_conflict', message: 'The conversation is at version 5.', currentVersion: 5 },
      });
      expect(dynamo).not.toHaveReceivedCommand(TransactWriteCommand);
      expect(addMetric).toHaveBeenCalledWith('modelCalls', 'Count', 0);
      expect(addMetric).toHaveBeenCalledWith('conflicts', 'Count', 1);
    });

    it('answers 409 version_conflict when expectedVersion loses the race at commit, without regenerating', async () => {
      // Prepare
      dynamo
        .on(TransactWriteCommand)
        .rejects(cancelled({ Code: 'ConditionalCheckFailed', Item: headItem(3) }, { Code: 'None' }));

      // Act
      const response = await turn({ message: 'hello', expectedVersion: 2 });

      // Assess
      expect(response.statusCode).toBe(409);
      expect(jsonBody(response).error).toMatchObject({ code: 'version_conflict', currentVersion: 3 });
      expect(dynamo).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
    });

    it.each([
      ['bad JSON', '{"message": ', /not valid JSON/],
      ['no message', { system: 'x' }, /message/],
      ['a blank message', { message: '   ' }, /message/],
      ['an empty string', { message: '' }, /message/],
      ['a message of role assistant', { message: { role: 'assistant', content: 'hi' } }, /role/],
      ['a message with blank content', { message: { role: 'user', content: ' ' } }, /content/],
      ['a message with no content parts', { message: { role: 'user', content: [] } }, /content/],
      ['an unknown field', { message: 'hi', messages: [] }, /messages/],
      ['a system prompt that is not a string', { message: 'hi', system: 42 }, /system/],
      ['a negative expectedVersion', { message: 'hi', expectedVersion: -1 }, /expectedVersion/],
      ['a fractional expectedVersion', { message: 'hi', expectedVersion: 1.5 }, /expectedVersion/],
      [
        'a message nested 33 levels deep',
        {
          message: {
            role: 'user',
            content: 'x',
            metadata: { a: Array.from({ length: 31 }).reduce((inner) => [inner], 'x') },
          },
        },
        /nested deeper/,
      ],
    ])('answers 400 invalid_request for %s, calling nothing', async (_, body, message) => {
      // Act
      const response = await turn(body);

      // Assess
      expect(response.statusCode).toBe(400);
      expect(jsonBody(response).error).toEqual({
        code: 'invalid_request',
        message: expect.stringMatching(message),
      });
      expect(dynamo).not.toHaveReceivedAnyCommand();
    });

    it('answers 400 invalid_request for a bad conversation id', async () => {
      // Act
      const response = await turn({ message: 'hi' }, { conversationId: 'bad id!' });

      // Assess
      expect(response.statusCode).toBe(400);
      expect(jsonBody(response).error.message).toMatch(/conversationId/);
      expect(dynamo).not.toHaveReceivedAnyCommand();
    });

    it('answers 400 invalid_request for an Idempotency-Key that is not printable ASCII', async () => {
      const response = await turn({ message: 'hi' }, { headers: { 'idempotency-key': 'clé' } });
      expect(response.statusCode).toBe(400);
      expect(jsonBody(response).error.message).toMatch(/idempotency-key/);
      expect(dynamo).not.toHaveReceivedAnyCommand();
    });

    it('answers 401 unauthorized without an authorizer context, before reading the body', async () => {
      // Act
      const response = await turn('{bad json', { authorizer: null });

      // Assess
      expect(response.statusCode).toBe(401);
      expect(jsonBody(response).error.code).toBe('unauthorized');
      expect(dynamo).not.toHaveReceivedAnyCommand();
    });

    it('answers 413 payload_too_large for a message over 256 KiB, before loading anything', async () => {
      // Act
      const response = await turn({ message: 'x'.repeat(256 * 1024) });

      // Assess
      expect(response.statusCode).toBe(413);
      expect(jsonBody(response).error).toMatchObject({
        code: 'payload_too_large',
        message: expect.stringMatching(/^message is \d+ bytes of JSON; the limit is 262144/),
      });
      expect(dynamo).not.toHaveReceivedAnyCommand();
    });

    it('answers 413 payload_too_large for a request body over 1 MiB', async () => {
      const response = await turn({ message: 'x'.repeat(1024 * 1024) });
      expect(response.statusCode).toBe(413);
      expect(jsonBody(response).error.message).toMatch(/1 MiB/);
      expect(dynamo).not.toHaveReceivedAnyCommand();
    });

    it('answers 503 unavailable with Retry-After when DynamoDB keeps throttling', async () => {
      // Prepare
      vi.useFakeTimers({ toFake: ['setTimeout'] });
      dynamo
        .on(QueryCommand)
        .rejects(new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} }));

      // Act
      const pending = turn({ message: 'hello' });
      await vi.runAllTimersAsync();
      const response = await pending;

      // Assess
      expect(response.statusCode).toBe(503);
      expect(response.headers).toMatchObject({ 'Retry-After': '1', 'Content-Type': 'application/json' });
      expect(jsonBody(response).error.code).toBe('unavailable');
      expect(dynamo).not.toHaveReceivedCommand(TransactWriteCommand);
    });
  });

  describe('with Bedrock', () => {
    const modelId = 'us.amazon.nova-lite-v1:0';
    let bedrockTurns: Awaited<ReturnType<typeof loadTurnModule>>;

    beforeAll(async () => {
      bedrockTurns = await loadTurnModule({
        MODEL_PROVIDER: 'bedrock',
        MODEL_ID: modelId,
        AWS_REGION: 'us-east-1',
        MODEL_TIMEOUT_MS: '1000',
      });
    });

    beforeEach(() => {
      bedrock.on(ConverseCommand).resolves(converseAnswer('Hello from Nova.'));
    });

    const turn = (handler: HttpHandler, body: unknown, options?: Parameters<typeof turnEvent>[1]) =>
      handler(turnEvent(body, options));

    it('answers 201 with the Bedrock reply, having sent it the history and the new message', async () => {
      // Act
      const response = await turn(bedrockTurns.handler, { message: 'hello', system: 'Be brief.' });

      // Assess
      expect(response.statusCode).toBe(201);
      expect(jsonBody(response)).toMatchObject({
        version: 4,
        model: modelId,
        contextMessages: 2,
        reply: {
          role: 'assistant',
          content: 'Hello from Nova.',
          seq: 4,
          metadata: { model: modelId, contextMessages: 2, stopReason: 'end_turn' },
        },
      });
      expect(bedrock).toHaveReceivedCommandExactlyOnceWith(ConverseCommand, {
        modelId,
        system: [{ text: 'Be brief.' }],
        messages: [
          { role: 'user', content: [{ text: 'm1' }] },
          { role: 'assistant', content: [{ text: 'm2' }] },
          { role: 'user', content: [{ text: 'hello' }] },
        ],
      });
    });

    it('makes no Bedrock call for a replayed turn', async () => {
      // Prepare
      const headers = { 'idempotency-key': 'turn-1' };
      const first = await turn(bedrockTurns.handler, { message: 'hello' }, { headers });
      const firstCalls = bedrock.commandCalls(ConverseCommand).length;
      answerReplayOf(sentTransactions()[0], 'turn-1', 4);
      bedrock.resetHistory();

      // Act
      const replay = await turn(bedrockTurns.handler, { message: 'hello' }, { headers });

      // Assess
      expect(first.statusCode).toBe(201);
      expect(firstCalls).toBe(1);
      expect(replay.statusCode).toBe(200);
      expect(replay.headers).toMatchObject({ 'Idempotent-Replayed': 'true' });
      expect(jsonBody(replay)).toEqual(jsonBody(first));
      expect(bedrock).not.toHaveReceivedCommand(ConverseCommand);
    });

    it.each([
      [
        'rejects the request',
        new ValidationException({ message: 'secret-prompt-detail is invalid', $metadata: {} }),
        'The model provider rejected the request.',
      ],
      [
        'fails',
        new InternalServerException({ message: 'secret-internal-detail', $metadata: {} }),
        'The model provider failed.',
      ],
    ])(
      'answers 502 model_error without details when Bedrock %s, storing nothing',
      async (_, failure, text) => {
        // Prepare
        bedrock.on(ConverseCommand).rejects(failure);
        const logError = vi.spyOn(bedrockTurns.logger, 'error');
        const addMetric = vi.spyOn(bedrockTurns.metrics, 'addMetric');

        // Act
        const response = await turn(bedrockTurns.handler, { message: 'hello' });

        // Assess
        expect(response.statusCode).toBe(502);
        expect(jsonBody(response)).toEqual({ error: { code: 'model_error', message: text } });
        expect(response.body).not.toMatch(/secret/);
        expect(dynamo).not.toHaveReceivedCommand(TransactWriteCommand);
        expect(addMetric).toHaveBeenCalledWith('modelErrors', 'Count', 1);
        const [, fields] = logError.mock.calls[0] as [string, { error: Error; statusCode: number }];
        expect(fields.statusCode).toBe(502);
        expect(fields.error.cause).toBe(failure);
      },
    );

    it('answers 504 model_timeout when Bedrock reports a model timeout, storing nothing', async () => {
      // Prepare
      bedrock.on(ConverseCommand).rejects(new ModelTimeoutException({ message: 'too slow', $metadata: {} }));

      // Act
      const response = await turn(bedrockTurns.handler, { message: 'hello' });

      // Assess
      expect(response.statusCode).toBe(504);
      expect(jsonBody(response).error.code).toBe('model_timeout');
      expect(dynamo).not.toHaveReceivedCommand(TransactWriteCommand);
    });

    it('answers 504 model_timeout at MODEL_TIMEOUT_MS when Bedrock never answers, storing nothing', async () => {
      // Prepare
      bedrock.on(ConverseCommand).callsFake(() => new Promise(() => undefined));
      const addMetric = vi.spyOn(bedrockTurns.metrics, 'addMetric');
      const started = performance.now();

      // Act
      const response = await turn(bedrockTurns.handler, { message: 'hello' });

      // Assess
      expect(performance.now() - started).toBeGreaterThanOrEqual(950);
      expect(response.statusCode).toBe(504);
      expect(jsonBody(response)).toEqual({
        error: { code: 'model_timeout', message: 'The model did not answer within 1000 ms.' },
      });
      expect(dynamo).not.toHaveReceivedCommand(TransactWriteCommand);
      expect(addMetric).toHaveBeenCalledWith('modelTimeouts', 'Count', 1);
    });

    it("stops the model before the function's own deadline, leaving time to answer", async () => {
      // Prepare: 3.2 s left, of which 3 s are kept for the commit and the answer.
      bedrock.on(ConverseCommand).callsFake(() => new Promise(() => undefined));
      const slow = await loadTurnModule({
        MODEL_PROVIDER: 'bedrock',
        MODEL_ID: modelId,
        AWS_REGION: 'us-east-1',
        MODEL_TIMEOUT_MS: '20000',
      });
      const started = performance.now();

      // Act
      const response = await slow.handler(turnEvent({ message: 'hello' }), lambdaContext(3200));

      // Assess
      expect(performance.now() - started).toBeLessThan(2000);
      expect(response.statusCode).toBe(504);
      expect(jsonBody(response).error).toEqual({
        code: 'model_timeout',
        message: 'The model did not answer in time.',
      });
      expect(dynamo).not.toHaveReceivedCommand(TransactWriteCommand);
    });
  });
});
