import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { routes } from '../../../lambda/http/routes.js';
import { buildOpenApiDocument, renderOpenApiDocument } from '../../../scripts/openapi-document.js';

type Operation = {
  responses: Record<string, { $ref?: string; headers?: Record<string, unknown> }>;
  security?: [];
};
type Document = {
  paths: Record<string, Record<string, Operation>>;
  components: { responses: Record<string, { headers?: Record<string, unknown> }> };
};

const document = buildOpenApiDocument() as Document;
const statusesOf = (path: string, method: string) =>
  Object.keys(document.paths[path]?.[method]?.responses ?? {});

describe('OpenAPI document', () => {
  it('is committed as generated (run `npm run openapi` after changing a schema)', async () => {
    // Act
    const committed = await readFile(new URL('../../../docs/openapi.json', import.meta.url), 'utf8');

    // Assess
    expect(committed).toBe(renderOpenApiDocument(buildOpenApiDocument()));
  });

  it('documents every route of the route table', () => {
    // Act
    const documented = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );

    // Assess
    expect(documented.sort()).toEqual(routes.map((route) => `${route.method} ${route.path}`).sort());
  });

  it('lists the statuses of the HTTP contract for each route', () => {
    // Assess
    const messages = '/v1/conversations/{conversationId}/messages';
    const conversation = '/v1/conversations/{conversationId}';
    expect(statusesOf(messages, 'post')).toEqual([
      '200',
      '201',
      '400',
      '401',
      '403',
      '409',
      '413',
      '422',
      '500',
      '503',
    ]);
    expect(statusesOf(messages, 'get')).toEqual(['200', '400', '401', '403', '500', '503']);
    expect(statusesOf(conversation, 'get')).toEqual(['200', '400', '401', '403', '404', '500', '503']);
    expect(statusesOf(conversation, 'delete')).toEqual(['204', '400', '401', '403', '500', '503']);
    expect(statusesOf('/health', 'get')).toEqual(['200']);
    expect(document.paths['/health']?.get?.security).toEqual([]);
  });

  it('documents the Idempotent-Replayed and Retry-After headers', () => {
    // Act
    const append = document.paths['/v1/conversations/{conversationId}/messages']?.post;

    // Assess
    expect(append?.responses['200']?.headers).toHaveProperty('Idempotent-Replayed');
    expect(append?.responses['503']?.$ref).toBe('#/components/responses/unavailable');
    expect(document.components.responses.unavailable?.headers).toHaveProperty('Retry-After');
  });

  it('refuses a route that has no documented operation', () => {
    // Prepare
    const turns = {
      id: 'RunTurn',
      method: 'POST' as const,
      path: '/v1/conversations/{conversationId}/turns',
      entry: 'run-turn.ts',
      access: 'write' as const,
    };

    // Act
    const build = () => buildOpenApiDocument([...routes, turns]);

    // Assess
    expect(build).toThrow(
      'No OpenAPI operation for RunTurn (POST /v1/conversations/{conversationId}/turns): add one to lambda/http/api-operations.ts.',
    );
  });
});
