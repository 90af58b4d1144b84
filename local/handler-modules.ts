import type { APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { fallbackRoute, routes } from '../lambda/http/routes.js';
import { installLambdaResponseStreaming } from './lambda-response-streaming.js';

export type LambdaHttpHandler = (
  event: APIGatewayProxyEventV2WithJWTAuthorizer,
  context: Context,
) => Promise<APIGatewayProxyResultV2>;

/**
 * Handler functions by module entry (`append-messages.ts`, ...), as the routes table names them: HTTP API
 * handlers, and the response-streaming ones of `streamingEntry` (see ./lambda-response-streaming.ts).
 */
export type HandlerModules = ReadonlyMap<string, unknown>;

/**
 * Imports every handler module the routes table names, plus the fallback. Call it only after the
 * environment points at the right DynamoDB: the modules read their configuration and build their clients
 * when they load, as they do in a Lambda cold start.
 */
export async function loadHandlerModules(): Promise<HandlerModules> {
  installLambdaResponseStreaming();
  const entries = [
    ...new Set([
      ...routes
        .flatMap((route) => [route.entry, route.streamingEntry])
        .filter((entry) => entry !== undefined),
      fallbackRoute.entry,
    ]),
  ];
  const loaded = await Promise.all(
    entries.map(async (entry) => {
      const url = new URL(`../lambda/http/handlers/${entry}`, import.meta.url);
      const module: { handler?: unknown } = await import(url.href);
      if (typeof module.handler !== 'function') {
        throw new Error(`lambda/http/handlers/${entry} does not export a function named handler.`);
      }
      return [entry, module.handler] as const;
    }),
  );
  return new Map(loaded);
}
