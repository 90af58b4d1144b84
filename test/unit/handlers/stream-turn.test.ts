import type { APIGatewayProxyEvent } from 'aws-lambda';
import { beforeEach, describe, expect, it } from 'vitest';
import { store } from '../../../lambda/http/runtime/store.js';
import type { MessageInput } from '../../../lambda/memory/message.js';
import {
  installLambdaResponseStreaming,
  isStreamingHandler,
} from '../../../local/lambda-response-streaming.js';
import { invokeStreaming } from '../../support/streaming-invoke.js';
import { appended, stored, stubStore } from './store-stub.js';

// The handler module calls awslambda.streamifyResponse when it loads, as in Lambda's runtime.
installLambdaResponseStreaming();
const { handler } = await import('../../../lambda/http/handlers/stream-turn.js');
const stub = stubStore(store);
const invoke = (event: APIGatewayProxyEvent) => invokeStreaming(handler, event);

/** A REST API proxy event (payload format 1.0) for POST .../turns, as the streaming front sends it. */
function restEvent(options: {
  body: unknown;
  headers?: Record<string, string>;
  authorizer?: Record<string, unknown> | null;
  userArn?: string | null;
}): APIGatewayProxyEvent {
  const path = '/v1/conversations/conv-1/turns';
  return {
    resource: '/v1/conversations/{conversationId}/turns',
    path,
    httpMethod: 'POST',
    headers: { 'Content-Type': 'application/json', ...options.headers },
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: { conversationId: 'conv-1' },
    stageVariables: null,
    body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body),
    isBase64Encoded: false,
    requestContext: {
      accountId: '123456789012',
      apiId: 'rest',
      authorizer: options.authorizer ?? null,
      httpMethod: 'POST',
      identity: { userArn: options.userArn ?? null, cognitoIdentityId: null, sourceIp: '192.0.2.1' },
      path: `/prod${path}`,
      protocol: 'HTTP/1.1',
      requestId: 'request-1',
      requestTimeEpoch: 0,
      resourceId: 'r',
      resourcePath: '/v1/conversations/{conversationId}/turns',
      stage: 'prod',
    } as APIGatewayProxyEvent['requestContext'],
  };
}

const eventsOf = (body: string) =>
  body
    .trim()
    .split('\n\n')
    .map((block) => {
      const [event, ...data] = block.split('\n');
      return {
        event: event?.replace('event: ', ''),
        data: JSON.parse(data.map((line) => line.slice(6)).join('\n')),
      };
    });

describe('streaming turn handler (REST API, response streaming)', () => {
  beforeEach(() => {
    // An empty conversation that appends whatever it is given.
    stub.reset();
    stub.loadContext.mockResolvedValue({
      conversationId: 'conv-1',
      version: 0,
      messageCount: 0,
      messages: [],
      consumedCapacity: 1,
    });
    stub.findIdempotentResult.mockResolvedValue(undefined);
    stub.append.mockImplementation(async (_tenant, conversationId, messages) =>
      appended(
        conversationId,
        messages.map((message, index) => stored(message as MessageInput, index + 1)),
      ),
    );
  });

  it('is marked for response streaming', () => {
    expect(isStreamingHandler(handler)).toBe(true);
  });

  it('streams the turn of an IAM caller: one piece per event, deltas then done, on the role as tenant', async () => {
    // Act
    const response = await invoke(
      restEvent({
        body: { message: 'hello there' },
        headers: { Accept: 'text/event-stream' },
        userArn: 'arn:aws:sts::123456789012:assumed-role/Agents/session-1',
      }),
    );

    // Assess
    expect(response.statusCode).toBe(200);
    expect(response.headers['Content-Type']).toBe('text/event-stream; charset=utf-8');
    const events = eventsOf(response.body);
    expect(response.pieces).toHaveLength(events.length);
    expect(events.map((event) => event.event)).toEqual([...Array(8).fill('delta'), 'done']);
    const text = events.flatMap((event) => (event.event === 'delta' ? [event.data.text] : [])).join('');
    expect(text).toBe('[offline] history: 0 messages, you said: hello there');
    expect(events.at(-1)?.data).toMatchObject({
      version: 2,
      awaitingToolResults: false,
      reply: { content: text },
    });
    expect(stub.append).toHaveBeenCalledWith(
      'arn:aws:sts::123456789012:assumed-role/Agents',
      'conv-1',
      expect.any(Array),
      expect.anything(),
    );
  });

  it('takes the tenant of a JWT caller from the claims our authorizer verified', async () => {
    // Act
    const response = await invoke(
      restEvent({ body: { message: 'hi' }, authorizer: { principalId: 'u', claims: '{"sub":"tenant-j"}' } }),
    );

    // Assess
    expect(response.statusCode).toBe(201);
    expect(JSON.parse(response.body)).toMatchObject({ version: 2, reply: { role: 'assistant' } });
    expect(stub.loadContext).toHaveBeenCalledWith('tenant-j', 'conv-1', expect.anything());
  });

  it('answers 401 without an identity and 400 for a bad body with the contract body, never a stream', async () => {
    // Act
    const anonymous = await invoke(
      restEvent({ body: { message: 'hi' }, headers: { Accept: 'text/event-stream' } }),
    );
    const bad = await invoke(
      restEvent({
        body: { message: 'hi', toolResults: [{ toolCallId: 'a', content: 'b' }] },
        headers: { Accept: 'text/event-stream' },
        userArn: 'arn:aws:iam::123456789012:user/ada',
      }),
    );

    // Assess
    expect(anonymous.statusCode).toBe(401);
    expect(JSON.parse(anonymous.body).error.code).toBe('unauthorized');
    expect(bad.statusCode).toBe(400);
    expect(bad.headers['Content-Type']).toBe('application/json');
    expect(JSON.parse(bad.body).error.message).toMatch(/exactly one/);
    expect(stub.append).not.toHaveBeenCalled();
  });

  it('answers a continuation without pending calls with 409 before streaming anything', async () => {
    // Act
    const response = await invoke(
      restEvent({
        body: { toolResults: [{ toolCallId: 'call-1', content: 'x' }] },
        headers: { Accept: 'text/event-stream' },
        userArn: 'arn:aws:iam::123456789012:user/ada',
      }),
    );

    // Assess
    expect(response.statusCode).toBe(409);
    expect(JSON.parse(response.body).error).toMatchObject({
      code: 'no_pending_tool_calls',
      currentVersion: 0,
    });
    expect(stub.append).not.toHaveBeenCalled();
  });
});
