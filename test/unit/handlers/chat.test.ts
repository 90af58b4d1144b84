import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { storedFormOf } from '../../../lambda/chat/ui-message.js';
import { keys } from '../../../lambda/memory/table.js';
import { installLambdaResponseStreaming } from '../../../local/lambda-response-streaming.js';
import { invokeStreaming } from '../../support/streaming-invoke.js';

vi.hoisted(() => {
  process.env.TABLE_NAME = 'memory-test';
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  process.env.MODEL_PROVIDER = 'offline';
});

installLambdaResponseStreaming();
const { handler: chat } = await import('../../../lambda/http/handlers/chat.js');
const { handler: resume } = await import('../../../lambda/http/handlers/resume-chat-stream.js');
const dynamo = mockClient(DynamoDBDocumentClient);

const caller = 'arn:aws:iam::123456789012:user/ada';
const pk = keys.partition(caller, 'chat-1');

/** A REST API proxy event (payload format 1.0), as the streaming front sends it. */
function restEvent(
  method: 'POST' | 'GET',
  path: string,
  options: { body?: unknown; anonymous?: boolean } = {},
) {
  const resource = method === 'POST' ? '/v1/chats' : '/v1/chats/{conversationId}/stream';
  return {
    resource,
    path,
    httpMethod: method,
    headers: { 'Content-Type': 'application/json' },
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: method === 'GET' ? { conversationId: 'chat-1' } : null,
    stageVariables: null,
    body: options.body === undefined ? null : JSON.stringify(options.body),
    isBase64Encoded: false,
    requestContext: {
      accountId: '123456789012',
      apiId: 'rest',
      authorizer: null,
      httpMethod: method,
      identity: {
        userArn: options.anonymous ? null : caller,
        cognitoIdentityId: null,
        sourceIp: '192.0.2.1',
      },
      path: `/stream${path}`,
      protocol: 'HTTP/1.1',
      requestId: 'request-1',
      requestTimeEpoch: 0,
      resourceId: 'r',
      resourcePath: resource,
      stage: 'stream',
    },
  } as unknown as APIGatewayProxyEvent;
}

const chunksOf = (body: string) =>
  body
    .split('\n\n')
    .filter((block) => block.startsWith('data: {'))
    .map((block) => JSON.parse(block.slice(6)) as { type: string; [key: string]: unknown });

const user = { id: 'u1', role: 'user', parts: [{ type: 'text', text: 'hello there' }] };

describe('chat handlers (streaming REST API)', () => {
  beforeEach(() => {
    dynamo.reset();
    dynamo.on(GetCommand).resolves({});
    dynamo.on(QueryCommand).resolves({ Items: [] });
    dynamo.on(TransactWriteCommand).resolves({});
    dynamo.on(PutCommand).resolves({});
    dynamo.on(DeleteCommand).resolves({});
  });

  describe('POST /v1/chats', () => {
    it('answers the UI message stream of a turn, commits user message and reply once, records the stream', async () => {
      // Act
      const response = await invokeStreaming(
        chat,
        restEvent('POST', '/v1/chats', { body: { id: 'chat-1', message: user, extra: 1 } }),
      );

      // Assess: the protocol's headers and chunks, ended by [DONE].
      expect(response.statusCode).toBe(200);
      expect(response.headers).toMatchObject({
        'Content-Type': 'text/event-stream; charset=utf-8',
        'x-vercel-ai-ui-message-stream': 'v1',
      });
      expect(response.body.endsWith('data: [DONE]\n\n')).toBe(true);
      const chunks = chunksOf(response.body);
      expect(chunks.map((chunk) => chunk.type)).toEqual([
        'start',
        'start-step',
        'text-start',
        ...Array(8).fill('text-delta'),
        'text-end',
        'finish-step',
        'finish',
      ]);
      const messageId = chunks[0]?.messageId;
      // One commit: the user message as sent, the reply under the id the stream announced.
      const commits = dynamo.commandCalls(TransactWriteCommand);
      expect(commits).toHaveLength(1);
      const written = (commits[0]?.args[0].input.TransactItems ?? []).flatMap((item) =>
        item.Put?.Item?.msg === undefined ? [] : [JSON.parse(String(item.Put.Item.msg))],
      );
      expect(written.map((message) => [message.id, message.role])).toEqual([
        ['u1', 'user'],
        [messageId, 'assistant'],
      ]);
      expect(written[0]).toMatchObject(storedFormOf(user as never));
      // The record: the pointer, batches ending with the done one, the pointer removed (only if still ours).
      const puts = dynamo.commandCalls(PutCommand).map((call) => call.args[0].input.Item ?? {});
      expect(puts[0]).toMatchObject({ pk, sk: keys.activeStream, messageId });
      const batches = puts.slice(1);
      expect(batches.map((batch) => batch.chunks).join('')).toBe(response.body);
      expect(batches.at(-1)?.done).toBe(true);
      expect(dynamo).toHaveReceivedCommandWith(DeleteCommand, {
        Key: { pk, sk: keys.activeStream },
        ExpressionAttributeValues: { ':streamId': puts[0]?.streamId },
      });
    });

    it.each([
      ['no message', { id: 'chat-1' }, 400, 'invalid_request'],
      ['a bad chat id', { id: 'no spaces', message: user }, 400, 'invalid_request'],
      [
        'a regenerate request',
        { id: 'chat-1', message: user, trigger: 'regenerate-message' },
        400,
        'invalid_request',
      ],
      ['a system message', { id: 'chat-1', message: { ...user, role: 'system' } }, 400, 'invalid_request'],
    ])(
      'answers %s with its status and the contract error body, never a stream',
      async (_name, body, status, code) => {
        // Act
        const response = await invokeStreaming(chat, restEvent('POST', '/v1/chats', { body }));

        // Assess
        expect(response.statusCode).toBe(status);
        expect(response.headers['Content-Type']).toBe('application/json');
        expect(JSON.parse(response.body).error.code).toBe(code);
        expect(dynamo).not.toHaveReceivedCommand(TransactWriteCommand);
        expect(dynamo).not.toHaveReceivedCommand(PutCommand);
      },
    );

    it('answers 401 without an identity', async () => {
      const response = await invokeStreaming(
        chat,
        restEvent('POST', '/v1/chats', { body: { id: 'chat-1', message: user }, anonymous: true }),
      );
      expect(response.statusCode).toBe(401);
    });

    it('answers tool outputs for a message that is not the newest with 409 no_pending_tool_calls', async () => {
      // Prepare: the chat ends with the user message.
      dynamo.on(QueryCommand).resolves({
        Items: [
          { pk, sk: keys.head, version: 1, messageCount: 1, createdAt: 'x', updatedAt: 'x' },
          {
            pk,
            sk: keys.message(1),
            msg: JSON.stringify({ id: 'u1', role: 'user', content: 'hi', seq: 1, createdAt: 'x' }),
          },
        ],
      });
      const answered = {
        id: 'a1',
        role: 'assistant',
        parts: [
          { type: 'tool-weather', toolCallId: 'c1', state: 'output-available', input: {}, output: 'rain' },
        ],
      };

      // Act
      const response = await invokeStreaming(
        chat,
        restEvent('POST', '/v1/chats', { body: { id: 'chat-1', message: answered } }),
      );

      // Assess
      expect(response.statusCode).toBe(409);
      expect(JSON.parse(response.body).error).toMatchObject({
        code: 'no_pending_tool_calls',
        currentVersion: 1,
      });
      expect(dynamo).not.toHaveReceivedCommand(TransactWriteCommand);
    });
  });

  describe('GET /v1/chats/{conversationId}/stream', () => {
    it('answers 204 when no reply is running, or when its writer is past its deadline', async () => {
      // Act
      const none = await invokeStreaming(resume, restEvent('GET', '/v1/chats/chat-1/stream'));
      dynamo.on(GetCommand).resolves({
        Item: { pk, sk: keys.activeStream, streamId: 'S', messageId: 'm', startedAt: 1, deadline: 2 },
      });
      const stale = await invokeStreaming(resume, restEvent('GET', '/v1/chats/chat-1/stream'));

      // Assess
      expect(none.statusCode).toBe(204);
      expect(stale.statusCode).toBe(204);
      expect(dynamo).toHaveReceivedCommandWith(GetCommand, {
        Key: { pk, sk: keys.activeStream },
        ConsistentRead: true,
      });
    });

    it('replays the recorded batches, then follows new ones until the done batch', async () => {
      // Prepare: a running stream; its second batch is written while the client follows.
      const now = Date.now();
      dynamo.on(GetCommand).resolves({
        Item: {
          pk,
          sk: keys.activeStream,
          streamId: 'S1',
          messageId: 'm',
          startedAt: now,
          deadline: now + 60_000,
        },
      });
      dynamo
        .on(QueryCommand)
        .resolvesOnce({ Items: [{ sk: keys.streamBatch('S1', 0), chunks: 'data: {"type":"start"}\n\n' }] })
        .resolvesOnce({ Items: [] })
        .resolves({
          Items: [
            {
              sk: keys.streamBatch('S1', 1),
              chunks: 'data: {"type":"finish"}\n\ndata: [DONE]\n\n',
              done: true,
            },
          ],
        });

      // Act
      const response = await invokeStreaming(resume, restEvent('GET', '/v1/chats/chat-1/stream'));

      // Assess
      expect(response.statusCode).toBe(200);
      expect(response.headers['x-vercel-ai-ui-message-stream']).toBe('v1');
      expect(response.body).toBe('data: {"type":"start"}\n\ndata: {"type":"finish"}\n\ndata: [DONE]\n\n');
      const queries = dynamo
        .commandCalls(QueryCommand)
        .map((call) => call.args[0].input.ExpressionAttributeValues);
      expect(queries.map((values) => values?.[':from'])).toEqual([
        keys.streamBatch('S1', 0),
        keys.streamBatch('S1', 1),
        keys.streamBatch('S1', 1),
      ]);
      expect(dynamo).not.toHaveReceivedCommand(PutCommand);
    });
  });
});
