import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { LambdaResponseStream } from '../../local/lambda-response-streaming.js';

/** A response-streaming handler, as `awslambda.streamifyResponse` marks it. */
type StreamingHandler = (event: APIGatewayProxyEvent, stream: never, context: Context) => unknown;

/**
 * Invokes a response-streaming handler as Lambda would (install the `awslambda` stand-in before importing it) and
 * reads what API Gateway makes of its bytes: the metadata's status and headers, then the body, piece by piece.
 */
export async function invokeStreaming(handler: StreamingHandler, event: APIGatewayProxyEvent) {
  let head: { statusCode?: number; headers?: Record<string, string> } = {};
  const pieces: string[] = [];
  const stream = new LambdaResponseStream({
    head: (metadata) => {
      head = metadata;
    },
    body: (chunk) => {
      pieces.push(chunk.toString('utf8'));
    },
    end: () => undefined,
  });
  await handler(event, stream as never, { getRemainingTimeInMillis: () => 29_000 } as Context);
  return { statusCode: head.statusCode, headers: head.headers ?? {}, pieces, body: pieces.join('') };
}
