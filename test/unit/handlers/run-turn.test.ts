import {
  BedrockRuntimeClient,
  ConverseCommand,
  type ConverseCommandOutput,
  InternalServerException,
  ModelTimeoutException,
  ValidationException,
} from '@aws-sdk/client-bedrock-runtime';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import * as offline from '../../../lambda/http/handlers/run-turn.js';
import type { HttpHandler } from '../../../lambda/http/pipeline/http-handler.js';
import * as offlineObservability from '../../../lambda/http/runtime/observability.js';
import { store as offlineStore } from '../../../lambda/http/runtime/store.js';
import {
  IdempotencyKeyReusedError,
  UnavailableError,
  VersionConflictError,
} from '../../../lambda/memory/errors.js';
import type { MessageInput, StoredMessage } from '../../../lambda/memory/message.js';
import { apiEvent, jsonBody } from '../../support/api-gateway-events.js';
import { appended, type StoreStub, stored, stubStore } from './store-stub.js';

const bedrock = mockClient(BedrockRuntimeClient);

/** The handler module (and its Powertools instances and store) built afresh for another model environment. */
async function loadTurnModule(environment: Record<string, string>) {
  for (const [name, value] of Object.entries(environment)) vi.stubEnv(name, value);
  vi.resetModules();
  try {
    const { handler } = await import('../../../lambda/http/handlers/run-turn.js');
    const { logger, metrics } = await import('../../../lambda/http/runtime/observability.js');
    const { store } = await import('../../../lambda/http/runtime/store.js');
    return { handler, logger, metrics, store };
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

/** A conversation of `version` messages, alternating user and assistant, as a load answers it. */
const pageOf = (version: number) => ({
  conversationId: 'conv-1',
  version,
  messages: Array.from({ length: version }, (_, index) =>
    stored({ role: index % 2 === 0 ? 'user' : 'assistant', content: `m${index + 1}` }, index + 1),
  ),
  messageCount: version,
  consumedCapacity: 1,
});

/** A store whose conversation is at version 2 and that appends whatever it is given on the version asked. */
function answering(stub: StoreStub): void {
  stub.loadContext.mockResolvedValue(pageOf(2));
  stub.findIdempotentResult.mockResolvedValue(undefined);
  stub.append.mockImplementation(async (_tenant, conversationId, messages, options) =>
    appended(
      conversationId,
      messages.map((message, index) =>
        stored(message as MessageInput, (options?.expectedVersion ?? 0) + index + 1),
      ),
    ),
  );
}

/** The messages the turn asked the store to append. */
const appendedBy = (stub: StoreStub) => stub.append.mock.calls[0]?.[2] as StoredMessage[];

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
  const stub = stubStore(offlineStore);

  beforeEach(() => {
    bedrock.reset();
    stub.reset();
    answering(stub);
  });

  afterEach(() => {
    vi.restoreAllMocks();
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
      expect(body.messages[0]).toMatchObject({ role: 'user', content: 'hello', seq: 3 });
      expect(body.messages[1]).toMatchObject({
        role: 'assistant',
        content: '[offline] history: 2 messages, you said: hello',
        seq: 4,
        metadata: { model: 'offline', contextMessages: 2 },
      });
      expect(body.reply).toEqual(body.messages[1]);
      // References: the context is chosen without reading S3; only what the model gets is read.
      expect(stub.loadContext).toHaveBeenCalledWith('tenant-a', 'conv-1', {
        limit: 20,
        attachments: 'reference',
      });
      expect(stub.append).toHaveBeenCalledWith('tenant-a', 'conv-1', expect.any(Array), {
        expectedVersion: 2,
        idempotencyKey: undefined,
        idempotencyFingerprint: expect.objectContaining({ kind: 'turn' }),
        attachments: { inlineBudgetBytes: 1024 * 1024 },
      });
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
      expect(stub.append).toHaveBeenCalledOnce();
    });

    it('hands the store a message object exactly as sent, unknown keys and their order included', async () => {
      // Prepare
      const raw =
        '{"message":{"role":"user","content":[{"zeta":1,"type":"text","text":"a"}],' +
        '"metadata":{"b":1,"__proto__":{"kept":true},"a":[1,{"x":null}]}}}';

      // Act
      const response = await turn(raw);

      // Assess
      expect(response.statusCode).toBe(201);
      const [user] = appendedBy(stub);
      expect(JSON.stringify(user?.content)).toBe('[{"zeta":1,"type":"text","text":"a"}]');
      expect(JSON.stringify(user?.metadata)).toBe('{"b":1,"__proto__":{"kept":true},"a":[1,{"x":null}]}');
    });

    it('gives the model the system prompt without storing it', async () => {
      // Act
      const response = await turn({ message: 'hi', system: 'Be brief.' });

      // Assess
      expect(jsonBody(response).reply.content).toBe(
        '[offline] system: "Be brief.", history: 2 messages, you said: hi',
      );
      expect(appendedBy(stub)[0]).toEqual({ role: 'user', content: 'hi' });
    });

    it('regenerates on the new history after losing the race at commit', async () => {
      // Prepare: another writer commits seq 3 between the load and the commit.
      stub.loadContext.mockResolvedValueOnce(pageOf(2)).mockResolvedValue(pageOf(3));
      stub.append.mockRejectedValueOnce(new VersionConflictError(3));
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
        contextOmitted: 0,
        statusCode: 201,
        durationMs: expect.any(Number),
      });
      expect(addMetric.mock.calls).toEqual([
        ['turns', 'Count', 1],
        ['contextMessages', 'Count', 2],
        ['contextOmitted', 'Count', 0],
        ['modelCalls', 'Count', 1],
        ['modelLatency', 'Milliseconds', expect.any(Number)],
      ]);
    });

    it('answers a replay with 200 and Idempotent-Replayed: true, calling no model and appending nothing', async () => {
      // Prepare: the store finds the key's earlier turn.
      const earlier = appended('conv-1', [
        stored({ role: 'user', content: 'hello' }, 3),
        {
          ...stored({ role: 'assistant', content: 'before' }, 4),
          metadata: { model: 'offline', contextMessages: 2 },
        },
      ]);
      stub.findIdempotentResult.mockResolvedValue({ ...earlier, replayed: true });
      const addMetric = vi.spyOn(offlineObservability.metrics, 'addMetric');

      // Act
      const replay = await turn({ message: 'hello' }, { headers: { 'Idempotency-Key': 'turn-1' } });

      // Assess
      expect(replay.statusCode).toBe(200);
      expect(replay.headers).toMatchObject({ 'Idempotent-Replayed': 'true' });
      expect(jsonBody(replay)).toMatchObject({
        version: 4,
        reply: { content: 'before' },
        contextMessages: 2,
      });
      expect(stub.findIdempotentResult).toHaveBeenCalledWith(
        'tenant-a',
        'conv-1',
        'turn-1',
        expect.objectContaining({ kind: 'turn' }),
        { inlineBudgetBytes: 1024 * 1024 },
      );
      expect(stub.append).not.toHaveBeenCalled();
      expect(addMetric).toHaveBeenCalledWith('turnReplays', 'Count', 1);
      expect(addMetric).toHaveBeenCalledWith('modelCalls', 'Count', 0);
    });

    it('answers 422 idempotency_key_reused when the key comes back with another request', async () => {
      // Prepare
      stub.findIdempotentResult.mockRejectedValue(new IdempotencyKeyReusedError());

      // Act
      const response = await turn(
        { message: 'something else' },
        { headers: { 'idempotency-key': 'turn-1' } },
      );

      // Assess
      expect(response.statusCode).toBe(422);
      expect(jsonBody(response).error.code).toBe('idempotency_key_reused');
      expect(stub.append).not.toHaveBeenCalled();
    });

    it('answers 409 version_conflict with currentVersion before any model call when expectedVersion is stale', async () => {
      // Prepare
      stub.loadContext.mockResolvedValue(pageOf(5));
      const addMetric = vi.spyOn(offlineObservability.metrics, 'addMetric');

      // Act
      const response = await turn({ message: 'hello', expectedVersion: 3 });

      // Assess
      expect(response.statusCode).toBe(409);
      expect(jsonBody(response)).toEqual({
        error: { code: 'version_conflict', message: 'The conversation is at version 5.', currentVersion: 5 },
      });
      expect(stub.append).not.toHaveBeenCalled();
      expect(addMetric).toHaveBeenCalledWith('modelCalls', 'Count', 0);
      expect(addMetric).toHaveBeenCalledWith('conflicts', 'Count', 1);
    });

    it('answers 409 version_conflict when expectedVersion loses the race at commit, without regenerating', async () => {
      // Prepare
      stub.append.mockRejectedValue(new VersionConflictError(3));

      // Act
      const response = await turn({ message: 'hello', expectedVersion: 2 });

      // Assess
      expect(response.statusCode).toBe(409);
      expect(jsonBody(response).error).toMatchObject({ code: 'version_conflict', currentVersion: 3 });
      expect(stub.append).toHaveBeenCalledOnce();
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
    ])('answers 400 invalid_request for %s, without the store', async (_, body, message) => {
      // Act
      const response = await turn(body);

      // Assess
      expect(response.statusCode).toBe(400);
      expect(jsonBody(response).error).toEqual({
        code: 'invalid_request',
        message: expect.stringMatching(message),
      });
      expect(stub.loadContext).not.toHaveBeenCalled();
    });

    it.each([
      ['a bad conversation id', { message: 'hi' }, { conversationId: 'bad id!' }, 400, /conversationId/],
      [
        'a non-ASCII Idempotency-Key',
        { message: 'hi' },
        { headers: { 'idempotency-key': 'clé' } },
        400,
        /idempotency-key/,
      ],
      ['no authorizer context, before reading the body', '{bad json', { authorizer: null }, 401, /identity/],
      [
        'a message over 256 KiB',
        { message: 'x'.repeat(256 * 1024) },
        {},
        413,
        /^message is \d+ bytes of JSON; the limit is 262144/,
      ],
      ['a request body over 1 MiB', { message: 'x'.repeat(1024 * 1024) }, {}, 413, /1 MiB/],
    ])('answers %s with %i, without the store', async (_, body, options, status, message) => {
      // Act
      const response = await turn(body, options);

      // Assess
      expect(response.statusCode).toBe(status);
      expect(jsonBody(response).error.message).toMatch(message);
      expect(stub.loadContext).not.toHaveBeenCalled();
    });

    it('answers 503 unavailable with Retry-After when the store cannot read, calling no model', async () => {
      // Prepare
      stub.loadContext.mockRejectedValue(
        new UnavailableError('DynamoDB is throttling or unreachable. Retry shortly.'),
      );
      const addMetric = vi.spyOn(offlineObservability.metrics, 'addMetric');

      // Act
      const response = await turn({ message: 'hello' });

      // Assess
      expect(response.statusCode).toBe(503);
      expect(response.headers).toMatchObject({ 'Retry-After': '1', 'Content-Type': 'application/json' });
      expect(jsonBody(response).error.code).toBe('unavailable');
      expect(addMetric).toHaveBeenCalledWith('modelCalls', 'Count', 0);
    });
  });

  describe('with Bedrock', () => {
    const modelId = 'us.amazon.nova-lite-v1:0';
    let bedrockTurns: Awaited<ReturnType<typeof loadTurnModule>>;
    let bedrockStore: StoreStub;

    beforeAll(async () => {
      bedrockTurns = await loadTurnModule({
        MODEL_PROVIDER: 'bedrock',
        MODEL_ID: modelId,
        AWS_REGION: 'us-east-1',
        MODEL_TIMEOUT_MS: '1000',
      });
      bedrockStore = stubStore(bedrockTurns.store);
    });

    beforeEach(() => {
      bedrockStore.reset();
      answering(bedrockStore);
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
      const [committed] = await bedrockStore.append.mock.results.map((result) => result.value);
      bedrockStore.findIdempotentResult.mockResolvedValue({ ...(await committed), replayed: true });
      bedrock.resetHistory();

      // Act
      const replay = await turn(bedrockTurns.handler, { message: 'hello' }, { headers });

      // Assess
      expect(first.statusCode).toBe(201);
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
        expect(bedrockStore.append).not.toHaveBeenCalled();
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
      expect(bedrockStore.append).not.toHaveBeenCalled();
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
      expect(bedrockStore.append).not.toHaveBeenCalled();
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
      const slowStore = stubStore(slow.store);
      answering(slowStore);
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
      expect(slowStore.append).not.toHaveBeenCalled();
    });
  });
});
