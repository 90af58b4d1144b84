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
      '410',
      '413',
      '422',
      '500',
      '503',
    ]);
    expect(statusesOf(messages, 'get')).toEqual(['200', '400', '401', '403', '500', '503']);
    expect(statusesOf(conversation, 'get')).toEqual(['200', '400', '401', '403', '404', '500', '503']);
    expect(statusesOf(conversation, 'delete')).toEqual(['204', '400', '401', '403', '500', '503']);
    expect(statusesOf('/health', 'get')).toEqual(['200']);
    expect(statusesOf(`${conversation}/turns`, 'post')).toEqual([
      '200',
      '201',
      '400',
      '401',
      '403',
      '409',
      '410',
      '413',
      '422',
      '500',
      '502',
      '503',
      '504',
    ]);
    expect(statusesOf(`${conversation}/edits`, 'post')).toEqual([
      '200',
      '400',
      '401',
      '403',
      '409',
      '410',
      '413',
      '422',
      '500',
      '503',
    ]);
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

  it('documents both 409s of a history edit, each with currentVersion', () => {
    // Act
    const conflict = document.paths['/v1/conversations/{conversationId}/edits']?.post?.responses['409'] as {
      description: string;
      content: Record<string, { schema: { $ref: string } }>;
    };

    // Assess
    expect(conflict.description).toMatch(/version_conflict/);
    expect(conflict.description).toMatch(/suffix_mismatch/);
    expect(conflict.description).toMatch(/currentVersion/);
    expect(conflict.content['application/json']?.schema.$ref).toBe('#/components/schemas/Error');
  });

  it('refuses a route that has no documented operation', () => {
    // Prepare
    const summaries = {
      id: 'Summarize',
      method: 'POST' as const,
      path: '/v1/conversations/{conversationId}/summaries',
      entry: 'summarize.ts',
      access: 'write' as const,
    };

    // Act
    const build = () => buildOpenApiDocument([...routes, summaries]);

    // Assess
    expect(build).toThrow(
      'No OpenAPI operation for Summarize (POST /v1/conversations/{conversationId}/summaries): add one to lambda/http/contract/openapi-operations.ts.',
    );
  });
});
