import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { withSourceStack } from '../../../lambda/http/runtime/source-stacks.js';

const work = mkdtempSync(join(tmpdir(), 'source-stacks-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A minified bundle with its source map beside it, as the functions are deployed, of the mapper and a thrower. */
async function bundled() {
  const outfile = join(work, 'index.mjs');
  await build({
    stdin: {
      contents: [
        "export { withSourceStack } from './lambda/http/runtime/source-stacks.ts';",
        'export function fail() {',
        "  throw new Error('failed', { cause: new Error('the cause') });",
        '}',
      ].join('\n'),
      resolveDir: process.cwd(),
      sourcefile: 'entry.ts',
      loader: 'ts',
    },
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    logLevel: 'warning',
  });
  return outfile;
}

/**
 * The stacks of the bundle's error before and after mapping, from a fresh Node process without source-map
 * support, as Lambda runs the functions (vitest's own process maps stacks itself).
 */
function stacksIn(bundle: string): { before: string; after: string; cause: string } {
  const script = [
    `const { fail, withSourceStack } = await import(${JSON.stringify(pathToFileURL(bundle).href)});`,
    'try { fail(); } catch (error) {',
    '  const before = error.stack;',
    '  withSourceStack(error);',
    '  console.log(JSON.stringify({ before, after: error.stack, cause: error.cause.stack }));',
    '}',
  ].join('\n');
  const { NODE_OPTIONS: _, ...environment } = process.env;
  const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    env: environment,
    encoding: 'utf8',
  });
  return JSON.parse(output);
}

describe('withSourceStack', () => {
  it('maps the stacks of an error and its cause from the bundle to the sources, when the error is logged', async () => {
    // Prepare
    const bundle = await bundled();

    // Act
    const { before, after, cause } = stacksIn(bundle);

    // Assess
    expect(before).toMatch(/index\.mjs:1:\d+/);
    expect(after).toMatch(/entry\.ts:3:\d+/);
    expect(after).not.toMatch(/index\.mjs:1:/);
    expect(cause).toMatch(/entry\.ts:3:\d+/);
  });

  it('leaves stacks alone where no source map lies beside the module (unbundled)', () => {
    const error = new Error('plain');
    const stack = error.stack;

    expect(withSourceStack(error).stack).toBe(stack);
  });
});
