import { errorDescriptions, namedSchemas } from '../lambda/http/contract/openapi-components.js';
import { type OperationDoc, operations } from '../lambda/http/contract/openapi-operations.js';
import { type RouteDefinition, routes } from '../lambda/http/routes.js';
import { type ErrorCode, errorStatus } from '../lambda/memory/error-codes.js';
import * as z from '../lambda/validation/zod.js';

type JsonObject = Record<string, unknown>;

const componentRef = (id: string) => `#/components/schemas/${id}`;

/**
 * The OpenAPI 3.1 document of the HTTP API: paths from the route table (./lambda/http/routes.ts), requests and
 * responses from the zod schemas the handlers validate with (./lambda/http/contract/openapi-operations.ts). Deterministic,
 * so that `--check` can compare it with the committed file.
 */
export function buildOpenApiDocument(
  table: readonly RouteDefinition[] = routes,
  docs: Readonly<Record<string, OperationDoc>> = operations,
): JsonObject {
  const undocumented = table.filter((route) => docs[route.id] === undefined);
  if (undocumented.length > 0) {
    const list = undocumented.map((route) => `${route.id} (${route.method} ${route.path})`).join(', ');
    throw new Error(
      `No OpenAPI operation for ${list}: add one to lambda/http/contract/openapi-operations.ts.`,
    );
  }
  const orphans = Object.keys(docs).filter((id) => !table.some((route) => route.id === id));
  if (orphans.length > 0) {
    throw new Error(`OpenAPI operations without a route in lambda/http/routes.ts: ${orphans.join(', ')}.`);
  }

  const names = new Map(namedSchemas.map(([id, schema]) => [schema, id] as const));
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of namedSchemas) registry.add(schema, { id });
  // 'input': what a client sends and may rely on; objects that are not strict stay open for new fields.
  const { schemas } = z.toJSONSchema(registry, { target: 'draft-2020-12', io: 'input', uri: componentRef });

  const paths: Record<string, JsonObject> = {};
  for (const route of table) {
    const operation = operationObject(route, docs[route.id] as OperationDoc, names);
    paths[route.path] = { ...paths[route.path], [route.method.toLowerCase()]: operation };
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'agent-memory',
      version: '1.0.0',
      summary: 'Durable conversation memory for AI agents.',
      description:
        'Every conversation belongs to the tenant of the authenticated caller (IAM principal or JWT claim). ' +
        'Every error is `{"error": {"code", "message", ...details}}`. A path that is not listed is ' +
        '`404 not_found`; a listed path with another method is `405 method_not_allowed` with an `Allow` header.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    // Relative to this document (docs/openapi.json): the contract's prose, which this document follows.
    externalDocs: { description: 'The HTTP contract, line by line.', url: './http-contract.md' },
    servers: [
      {
        url: 'https://{apiId}.execute-api.{region}.amazonaws.com',
        description: 'The deployed stack (the ApiUrl stack output).',
        variables: { apiId: { default: 'apiId' }, region: { default: 'us-east-1' } },
      },
      { url: 'http://127.0.0.1:3000', description: 'The local server (`npm start`).' },
    ],
    security: [{ sigv4: [] }, { jwt: [] }],
    paths,
    components: {
      schemas: Object.fromEntries(Object.entries(schemas).map(([id, schema]) => [id, tidy(schema)])),
      responses: Object.fromEntries(
        (Object.keys(errorStatus) as ErrorCode[]).map((code) => [code, errorResponseObject(code)]),
      ),
      securitySchemes: {
        sigv4: {
          type: 'apiKey',
          in: 'header',
          name: 'Authorization',
          description:
            'AWS Signature Version 4 (IAM authorizer, the default): sign for service `execute-api`.',
        },
        jwt: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            'When the stack is deployed with a JWT authorizer; the tenant is a claim (default `sub`).',
        },
      },
    },
  };
}

export function renderOpenApiDocument(document: JsonObject): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}

function operationObject(
  route: RouteDefinition,
  doc: OperationDoc,
  names: Map<z.ZodMiniType, string>,
): JsonObject {
  const { path, query, headers, body } = doc.request;
  const parameters = [
    ...parametersOf(path, 'path'),
    ...parametersOf(query, 'query'),
    ...parametersOf(headers, 'header'),
  ];
  const responses: Record<string, JsonObject> = {};
  for (const [status, response] of Object.entries(doc.responses)) {
    responses[status] = {
      description: response.description,
      ...(response.headers ? { headers: response.headers } : {}),
      ...(response.schema ? { content: jsonContent(response.schema, names) } : {}),
      ...(response.eventStream ? { content: { 'text/event-stream': { schema: { type: 'string' } } } } : {}),
    };
  }
  for (const code of doc.errors) {
    const status = String(errorStatus[code]);
    if (responses[status]) throw new Error(`${route.id}: two responses for status ${status}.`);
    responses[status] = { $ref: `#/components/responses/${code}` };
  }
  return {
    operationId: route.id.charAt(0).toLowerCase() + route.id.slice(1),
    summary: doc.summary,
    ...(doc.description ? { description: doc.description } : {}),
    ...(route.public ? { security: [] } : {}),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(body ? { requestBody: { required: true, content: jsonContent(body, names) } } : {}),
    responses: Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b))),
  };
}

function parametersOf(
  schema: z.ZodMiniObject | undefined,
  location: 'path' | 'query' | 'header',
): JsonObject[] {
  if (!schema) return [];
  return Object.entries(schema.shape).map(([name, field]) => {
    const fieldSchema = field as z.ZodMiniType;
    // 'output': a query value is sent as text but means an integer, which is what a client needs to know.
    const { description, ...jsonSchema } = tidy(
      z.toJSONSchema(fieldSchema, { target: 'draft-2020-12', io: 'output' }),
    );
    return {
      name: location === 'header' ? headerName(name) : name,
      in: location,
      required: location === 'path' || !fieldSchema.safeParse(undefined).success,
      ...(description === undefined ? {} : { description }),
      schema: jsonSchema,
    };
  });
}

function jsonContent(schema: z.ZodMiniType, names: Map<z.ZodMiniType, string>): JsonObject {
  const id = names.get(schema);
  if (id === undefined)
    throw new Error('Request and response bodies must be named schemas (see namedSchemas).');
  return { 'application/json': { schema: { $ref: componentRef(id) } } };
}

function errorResponseObject(code: ErrorCode): JsonObject {
  const retryAfter = {
    'Retry-After': {
      description: 'Seconds to wait before retrying.',
      schema: { type: 'integer', minimum: 0 },
    },
  };
  const headers = {
    throttled: retryAfter,
    unavailable: retryAfter,
    method_not_allowed: {
      Allow: { description: 'The methods this path allows, e.g. `GET, POST`.', schema: { type: 'string' } },
    },
  }[code as string];
  const example = {
    error: {
      code,
      message: errorDescriptions[code],
      ...(code === 'version_conflict' ? { currentVersion: 7 } : {}),
    },
  };
  return {
    description: `\`${errorStatus[code]} ${code}\`: ${errorDescriptions[code]}`,
    ...(headers ? { headers } : {}),
    content: { 'application/json': { schema: { $ref: componentRef('Error') }, example } },
  };
}

/** 'idempotency-key' -> 'Idempotency-Key' */
function headerName(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_, dash: string, letter: string) => dash + letter.toUpperCase());
}

/** Drops what OpenAPI does not want on a component (`$schema`, `$id`) and zod's long regex beside a format. */
function tidy(schema: JsonObject): JsonObject & { description?: string } {
  const { $schema, $id, ...rest } = schema;
  return JSON.parse(
    JSON.stringify(rest, (_key, value: unknown) => {
      if (value && typeof value === 'object' && 'format' in value && 'pattern' in value) {
        const { pattern, ...withoutPattern } = value as JsonObject;
        return withoutPattern;
      }
      return value;
    }),
  ) as JsonObject;
}
