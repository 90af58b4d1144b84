/**
 * `npm run build` (and `npm pack`, through `prepack`): the package as npm ships it, in dist/.
 *
 * 1. JavaScript (ESM) and declarations for every entry point of package.json's `exports`, compiled by tsc
 *    with the project's compiler options, together with the modules they import (./package-entry-points.ts:
 *    adding an entry point is one entry in `exports`).
 * 2. The construct's Lambda handlers, prebuilt: the construct is synthesized from source, which bundles each
 *    function with lib/memory-function.ts's esbuild options, and each bundle is copied to
 *    dist/bundles/<handler path>/, where the built construct deploys it from. A consumer's synth then needs
 *    neither esbuild nor our lock file, and ships exactly what this repository's own stack is tested with.
 */
import { cpSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import type { Asset } from 'aws-cdk-lib/aws-s3-assets';
import ts from 'typescript';
import { AgentMemory } from '../lib/agent-memory.js';
import { MemoryFunction, prebuiltBundlePath, projectRoot } from '../lib/memory-function.js';
import { entryPointSources, type PackageManifest } from './package-entry-points.js';

const distFolder = join(projectRoot, 'dist');

function compileEntryPoints(sources: readonly string[]): void {
  const missing = sources.filter((source) => !existsSync(join(projectRoot, source)));
  if (missing.length > 0) throw new Error(`Entry point sources not found: ${missing.join(', ')}.`);
  const config = ts.getParsedCommandLineOfConfigFile(
    join(projectRoot, 'tsconfig.json'),
    {
      noEmit: false,
      declaration: true,
      rootDir: projectRoot,
      outDir: distFolder,
      sourceMap: false,
      declarationMap: false,
    },
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
        throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
      },
    },
  );
  if (config === undefined) throw new Error('tsconfig.json could not be read.');
  const program = ts.createProgram({
    rootNames: sources.map((source) => join(projectRoot, source)),
    options: config.options,
  });
  const emitted = program.emit();
  const diagnostics = [...ts.getPreEmitDiagnostics(program), ...emitted.diagnostics];
  if (diagnostics.length > 0 || emitted.emitSkipped) {
    throw new Error(
      ts.formatDiagnostics(diagnostics, {
        getCanonicalFileName: (name) => name,
        getCurrentDirectory: () => projectRoot,
        getNewLine: () => '\n',
      }),
    );
  }
}

/**
 * Synthesizes the construct from source and copies every function's bundle into dist/bundles. The synth runs
 * inside dist/, so the source maps' relative paths name nothing of this machine. The props create every
 * function the construct has: the streaming API (on by default) and, with JWT auth, its authorizer and the
 * inspector page (whose bundle folder holds the built page, inspector/build.ts).
 */
function prebuildHandlers(): string[] {
  const outdir = join(distFolder, '.synth');
  const app = new App({ outdir });
  const stack = new Stack(app, 'Package');
  new AgentMemory(stack, 'Memory', {
    auth: { type: 'jwt', issuer: 'https://issuer.example.com/', audience: ['package-build'] },
    inspector: true,
  });
  const assembly = app.synth();
  const functions = stack.node.findAll().filter((node) => node instanceof MemoryFunction);
  const copied = functions.map((memoryFunction) => {
    const asset = memoryFunction.function.node.findChild('Code') as Asset;
    const target = prebuiltBundlePath(memoryFunction.entry);
    cpSync(join(assembly.directory, asset.assetPath), join(distFolder, target), { recursive: true });
    return target;
  });
  rmSync(outdir, { recursive: true, force: true });
  return copied;
}

const manifest = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as PackageManifest;
const since = (start: number) => `${((performance.now() - start) / 1000).toFixed(1)} s`;
rmSync(distFolder, { recursive: true, force: true });
const sources = Object.values(entryPointSources(manifest));
let started = performance.now();
compileEntryPoints(sources);
console.log(`dist/: ${sources.length} entry points compiled in ${since(started)} (${sources.join(', ')}).`);
started = performance.now();
const bundles = prebuildHandlers();
console.log(`dist/bundles: ${bundles.length} handlers bundled in ${since(started)}.`);
