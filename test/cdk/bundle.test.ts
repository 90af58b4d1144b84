import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { fallbackRoute, routes } from '../../lambda/http/routes.js';
import { projectRoot } from '../../lib/memory-function.js';
import { bundleOf, logicalIdOf, resourcesOfType, type Synthesized, synthStack } from './synth.js';

const resultMarker = 'BUNDLE-RESULT:';

/** Every function of a route: the HTTP API's, the streaming API's (`<id>Stream` beside an HTTP one), the fallback. */
const allRoutes = [
  ...routes.flatMap((route) => [
    ...(route.entry === undefined ? [] : [{ id: route.id, access: route.access }]),
    ...(route.streamingEntry === undefined
      ? []
      : [{ id: route.entry === undefined ? route.id : `${route.id}Stream`, access: route.access }]),
  ]),
  { id: fallbackRoute.id, access: fallbackRoute.access },
];

/**
 * Imports a bundle in a fresh Node process, as Lambda would (ESM, the function's environment, the `awslambda`
 * global that a response-streaming handler calls when it loads), and optionally calls its handler with an event.
 * Prints the outcome as JSON on stdout.
 */
function loadBundle(path: string, environment: Record<string, string>, event?: unknown) {
  const script = `
    globalThis.awslambda = { streamifyResponse: (handler) => handler, HttpResponseStream: { from: (stream) => stream } };
    const module = await import(${JSON.stringify(pathToFileURL(path).href)});
    const result = { handlerType: typeof module.handler };
    if (${JSON.stringify(event !== undefined)}) {
      result.response = await module.handler(${JSON.stringify(event)}, { awsRequestId: 'test', functionName: 'test' });
    }
    process.stdout.write('\\n${resultMarker}' + JSON.stringify(result) + '\\n');
  `;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { PATH: process.env.PATH ?? '', AWS_REGION: 'eu-west-1', ...environment },
    encoding: 'utf8',
    timeout: 20_000,
  });
  const line = child.stdout.split('\n').find((candidate) => candidate.startsWith(resultMarker));
  if (child.status !== 0 || line === undefined) throw new Error(`Loading ${path} failed:\n${child.stderr}`);
  return JSON.parse(line.slice(resultMarker.length)) as {
    handlerType: string;
    response?: { statusCode: number; body?: string };
  };
}

/** The function's environment as the template sets it, with placeholders for references (the table name). */
function environmentOf(synth: Synthesized, functionId: string): Record<string, string> {
  const fn = resourcesOfType(synth.template, 'AWS::Lambda::Function')[functionId];
  const variables = (fn?.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)
    ?.Variables;
  if (variables === undefined) throw new Error(`${functionId} has no environment`);
  return Object.fromEntries(
    Object.entries(variables).map(([key, value]) => [
      key,
      // Lowercase with hyphens: a valid table and bucket name.
      typeof value === 'string' ? value : `placeholder-${key.toLowerCase().replaceAll('_', '-')}`,
    ]),
  );
}

function installedVersion(packageName: string): string {
  const manifest = new URL(`../../node_modules/${packageName}/package.json`, import.meta.url);
  return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
}

function isBuiltin(specifier: string): boolean {
  return specifier.startsWith('node:') || builtinModules.includes(specifier);
}

/**
 * What the bundle loads at run time: static and dynamic imports, and the specifiers passed to esbuild's
 * `__require` shim (minified, so found by its shape: `var X=(t=>typeof require<"u"?require:...`).
 */
function moduleSpecifiers(code: string): string[] {
  const found = new Set<string>();
  for (const match of code.matchAll(/(?:^|[;}\s])import\s*(?:[\w${}*,\s]+from\s*)?["']([^"']+)["']/g)) {
    if (match[1] !== undefined) found.add(match[1]);
  }
  for (const match of code.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)) {
    if (match[1] !== undefined) found.add(match[1]);
  }
  const shim = /var ([\w$]+)=\(\w+=>typeof require<"u"\?require:/.exec(code)?.[1];
  if (shim !== undefined) {
    const escaped = shim.replace(/\$/g, '\\$');
    for (const match of code.matchAll(new RegExp(`(?<![\\w$.])${escaped}\\(["']([^"']+)["']\\)`, 'g'))) {
      if (match[1] !== undefined) found.add(match[1]);
    }
  }
  return [...found];
}

describe('function bundles', () => {
  let synth: Synthesized;

  beforeAll(() => {
    synth = synthStack({}, { bundle: true });
  });

  it.each(allRoutes)('$id: a minified ESM bundle with a source map', ({ id }) => {
    const { path, code } = bundleOf(synth, logicalIdOf(synth.stack, `${id}/Function`));
    expect(path.endsWith('.mjs')).toBe(true);
    expect(existsSync(`${path}.map`)).toBe(true);
    expect(/\/\/# sourceMappingURL=index\.mjs\.map\s*$/.test(code)).toBe(true);
    // Minified: one long line, broken only inside template literals (unminified output averages ~40 chars).
    const lines = code.split('\n');
    expect(code.length / lines.length).toBeGreaterThan(1000);
  });

  it.each(allRoutes)('$id: stays under 900 KiB, so zod is tree-shaken', ({ id }) => {
    const { code } = bundleOf(synth, logicalIdOf(synth.stack, `${id}/Function`));
    // ~175 KiB of each is the S3 client (attachments), evaluated only when a request first touches an attachment
    // (lambda/memory/attachments/lazy-s3-attachment-storage.ts). Classic zod (`from 'zod'`) or
    // `import { z } from 'zod/mini'` would add ~400 KiB to every function, and ~20 ms to every cold start: see
    // lambda/validation/zod.ts.
    expect(Buffer.byteLength(code)).toBeLessThan(900 * 1024);
  });

  it.each(allRoutes)('$id: imports nothing but Node built-ins (the AWS SDK is bundled)', ({ id }) => {
    const { code } = bundleOf(synth, logicalIdOf(synth.stack, `${id}/Function`));
    const specifiers = moduleSpecifiers(code);
    expect(specifiers.length).toBeGreaterThan(0);
    expect(specifiers.filter((specifier) => !isBuiltin(specifier))).toEqual([]);
  });

  it.each(allRoutes)('$id: carries nothing of the LangGraph checkpointer (its own entry point)', ({ id }) => {
    const { code } = bundleOf(synth, logicalIdOf(synth.stack, `${id}/Function`));
    // The thread partitions' template (`T#<tenant>#LG#<thread>`, lambda/checkpoints) survives minification.
    expect(code.includes('#LG#')).toBe(false);
  });

  it.each(allRoutes.filter((route) => route.access !== 'none'))(
    '$id: contains the installed DynamoDB client, not the one of the Lambda runtime',
    ({ id }) => {
      const { code } = bundleOf(synth, logicalIdOf(synth.stack, `${id}/Function`));
      // The service's protocol target prefix and the client's version (its user agent) survive minification.
      expect(code.includes('DynamoDB_20120810')).toBe(true);
      expect(code.includes(`"${installedVersion('@aws-sdk/client-dynamodb')}"`)).toBe(true);
    },
  );

  it.each(allRoutes)('$id: the bundle loads in Node as ESM with the function environment', ({ id }) => {
    const functionId = logicalIdOf(synth.stack, `${id}/Function`);
    const { path } = bundleOf(synth, functionId);
    // Outside the repository: nothing the bundle lacks can be resolved from node_modules.
    expect(path.startsWith(projectRoot)).toBe(false);
    expect(loadBundle(path, environmentOf(synth, functionId)).handlerType).toBe('function');
  });

  it('the health bundle answers 200 {"status":"ok"}', () => {
    const functionId = logicalIdOf(synth.stack, 'Health/Function');
    const { path } = bundleOf(synth, functionId);
    const event = {
      version: '2.0',
      routeKey: 'GET /health',
      rawPath: '/health',
      rawQueryString: '',
      headers: {},
      isBase64Encoded: false,
      requestContext: {
        accountId: '123456789012',
        apiId: 'api',
        domainName: 'api.example.com',
        domainPrefix: 'api',
        http: {
          method: 'GET',
          path: '/health',
          protocol: 'HTTP/1.1',
          sourceIp: '127.0.0.1',
          userAgent: 'test',
        },
        requestId: 'request',
        routeKey: 'GET /health',
        stage: '$default',
        time: '01/Jan/2026:00:00:00 +0000',
        timeEpoch: 1767225600000,
      },
    };
    const { response } = loadBundle(path, environmentOf(synth, functionId), event);
    expect(response?.statusCode).toBe(200);
    expect(JSON.parse(response?.body ?? '')).toEqual({ status: 'ok' });
  });
});
