import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { HttpHandler } from '../../lambda/http/pipeline/http-handler.js';
import { conversationEvent, jsonBody, jwtAuthorizer } from '../support/api-gateway-events.js';
import { createTestTable } from '../support/dynamodb.js';

let append: HttpHandler;
let load: HttpHandler;

describe('HTTP handlers on DynamoDB Local', () => {
  beforeAll(async () => {
    // The handlers build their client at import, from the standard AWS variables, as in a Lambda cold start.
    const { endpoint, tableName } = await createTestTable('http');
    vi.stubEnv('TABLE_NAME', tableName);
    vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', endpoint);
    vi.stubEnv('AWS_REGION', 'local');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'local');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'local');
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
    append = (await import('../../lambda/http/handlers/append-messages.js')).handler;
    load = (await import('../../lambda/http/handlers/load-messages.js')).handler;
  });

  it('appends, replays and loads a conversation, exactly as sent and only for its tenant', async () => {
    // Prepare
    const messages = [
      { role: 'user', content: [{ type: 'text', text: 'hi', zeta: { keep: [1, null] } }] },
      {
        role: 'assistant',
        content: '',
        toolCalls: [{ id: 'call-1', name: 'lookup', arguments: { q: 'x' } }],
        metadata: { b: 1, __proto__: { kept: true }, a: 2 },
      },
    ];
    // JSON.stringify would drop a literal __proto__ key from an object literal, so the body is spelled out.
    const body = JSON.stringify({ messages }).replace(
      '"metadata":{"b":1,"a":2}',
      '"metadata":{"b":1,"__proto__":{"kept":true},"a":2}',
    );
    const request = () =>
      conversationEvent('POST', 'user-42:ticket-7', {
        suffix: '/messages',
        body,
        headers: { 'idempotency-key': 'turn-1' },
      });

    // Act
    const first = await append(request());
    const replay = await append(request());
    const page = await load(conversationEvent('GET', 'user-42:ticket-7', { suffix: '/messages' }));
    const otherTenant = await load(
      conversationEvent('GET', 'user-42:ticket-7', {
        suffix: '/messages',
        authorizer: jwtAuthorizer({ sub: 'tenant-b' }),
      }),
    );

    // Assess
    expect(first.statusCode).toBe(201);
    expect(replay.statusCode).toBe(200);
    expect(replay.headers).toMatchObject({ 'Idempotent-Replayed': 'true' });
    expect(jsonBody(replay)).toEqual(jsonBody(first));
    expect(page.statusCode).toBe(200);
    const loaded = jsonBody(page);
    expect(loaded).toMatchObject({ conversationId: 'user-42:ticket-7', version: 2, nextBefore: null });
    expect(loaded.messages.map((m: { seq: number }) => m.seq)).toEqual([1, 2]);
    expect(JSON.stringify(loaded.messages[0].content)).toBe(JSON.stringify(messages[0]?.content));
    expect(page.body).toContain('"metadata":{"b":1,"__proto__":{"kept":true},"a":2}');
    expect(jsonBody(otherTenant)).toEqual({
      conversationId: 'user-42:ticket-7',
      version: 0,
      messages: [],
      nextBefore: null,
    });
  });

  it('answers 409 with currentVersion on a stale expectedVersion against the real conditional write', async () => {
    // Prepare
    const event = (expectedVersion: number) =>
      conversationEvent('POST', 'conv-409', {
        suffix: '/messages',
        body: { messages: [{ role: 'user', content: 'x' }], expectedVersion },
      });
    await append(event(0));

    // Act
    const stale = await append(event(0));

    // Assess
    expect(stale.statusCode).toBe(409);
    expect(jsonBody(stale).error).toMatchObject({ code: 'version_conflict', currentVersion: 1 });
  });
});
