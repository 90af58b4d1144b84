import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../local/local-server-config.js';
import { entryPointSources, type PackageManifest } from '../../scripts/package-entry-points.js';

/*
 * What each public entry point loads and declares, read from the sources with the TypeScript compiler: the
 * dependencies a consumer must install for it, and the types a consumer can name.
 */

const manifest = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as PackageManifest;
const entries = entryPointSources(manifest);

/**
 * The packages each entry point loads when imported. Peers are optional: an app installs only those of the
 * entry points it uses. A new entry point gets a row here.
 */
const peersLoadedBy: Record<string, readonly string[]> = {
  './client': [],
  './client/store': [],
  './client/openai-agents': [],
  './client/langchain': ['@langchain/core'],
  './store': ['@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb', '@aws-sdk/util-dynamodb'],
  './construct': ['aws-cdk-lib', 'constructs'],
  './langgraph': ['@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb', '@langchain/langgraph-checkpoint'],
  './ai-sdk': ['ai'],
};

/** Packages an entry point may import on first use of a function only (SigV4 signing, S3 for attachments). */
const loadedOnUse: Record<string, readonly string[]> = {
  './client': ['@aws-crypto/sha256-js', '@aws-sdk/credential-provider-node', '@smithy/signature-v4'],
  './store': ['@aws-sdk/client-s3', '@aws-sdk/s3-request-presigner'],
};

const packageName = (specifier: string) =>
  specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : (specifier.split('/')[0] ?? '');
const isBuiltin = (specifier: string) => specifier.startsWith('node:') || builtinModules.includes(specifier);

/** The modules a source file loads at run time: static (not type-only) and dynamic imports. */
function runtimeImports(file: ts.SourceFile): { static: string[]; dynamic: string[] } {
  const found = { static: [] as string[], dynamic: [] as string[] };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && !node.importClause?.isTypeOnly) {
      found.static.push((node.moduleSpecifier as ts.StringLiteral).text);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier !== undefined && !node.isTypeOnly) {
      found.static.push((node.moduleSpecifier as ts.StringLiteral).text);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] !== undefined &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      found.dynamic.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

/** The packages an entry point's module graph imports: statically, and dynamically (on use). */
function packagesLoadedBy(source: string): { static: Set<string>; dynamic: Set<string> } {
  const loaded = { static: new Set<string>(), dynamic: new Set<string>() };
  // A module reached only through a dynamic import loads its packages on use too (lazy).
  const seen = new Map<string, boolean>();
  const queue: Array<[string, boolean]> = [[join(projectRoot, source), false]];
  for (let next = queue.pop(); next !== undefined; next = queue.pop()) {
    const [path, lazy] = next;
    if (seen.has(path) && (lazy || seen.get(path) === false)) continue;
    seen.set(path, lazy);
    const file = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
    const imports = runtimeImports(file);
    for (const [kind, specifiers] of Object.entries(imports) as Array<['static' | 'dynamic', string[]]>) {
      const onUse = lazy || kind === 'dynamic';
      for (const specifier of specifiers) {
        if (specifier.startsWith('.'))
          queue.push([join(path, '..', specifier.replace(/\.js$/, '.ts')), onUse]);
        else if (!isBuiltin(specifier)) loaded[onUse ? 'dynamic' : 'static'].add(packageName(specifier));
      }
    }
  }
  for (const name of loaded.static) loaded.dynamic.delete(name);
  return loaded;
}

/**
 * Types that an entry point's exports use in their signatures (parameters, results, properties, bases),
 * declared in this repository, that no entry point exports: a consumer could not name them. A type that
 * another entry point exports is that entry point's to check (the adapters take the ConversationMemory of
 * `./client`; `./client/store` takes the ConversationStore of `./store`, whose results share the client's
 * names but not their shapes).
 */
function unnameableTypes(program: ts.Program, sources: readonly string[]): Record<string, string[]> {
  const checker = program.getTypeChecker();
  const resolve = (symbol: ts.Symbol) =>
    symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
  const exportsOf = (source: string) => {
    const file = program.getSourceFile(join(projectRoot, source));
    const moduleSymbol = file === undefined ? undefined : checker.getSymbolAtLocation(file);
    if (moduleSymbol === undefined) throw new Error(`${source} is not a module`);
    return new Set(checker.getExportsOfModule(moduleSymbol).map(resolve));
  };
  const exportedBy = new Map(sources.map((source) => [source, exportsOf(source)]));
  const exportedAnywhere = new Set([...exportedBy.values()].flatMap((symbols) => [...symbols]));
  return Object.fromEntries(
    sources.map((source) => [
      source,
      unexported(exportedBy.get(source) ?? new Set(), exportedAnywhere, checker, resolve),
    ]),
  );
}

function unexported(
  exported: ReadonlySet<ts.Symbol>,
  exportedAnywhere: ReadonlySet<ts.Symbol>,
  checker: ts.TypeChecker,
  resolve: (symbol: ts.Symbol) => ts.Symbol,
): string[] {
  const ours = (symbol: ts.Symbol) =>
    (symbol.declarations ?? []).some((declaration) => {
      const path = declaration.getSourceFile().fileName;
      return path.startsWith(projectRoot) && !path.includes('/node_modules/');
    });
  const missing = new Set<string>();
  const visited = new Set<ts.Symbol>();
  const queue = [...exported];

  const visit = (node: ts.Node): void => {
    // What only the implementation sees: bodies, initializers, private members.
    if (ts.isBlock(node) || ts.isTypeParameterDeclaration(node)) return;
    if (ts.canHaveModifiers(node)) {
      const modifiers = ts.getModifiers(node) ?? [];
      if (modifiers.some((modifier) => modifier.kind === ts.SyntaxKind.PrivateKeyword)) return;
    }
    if (
      (ts.isPropertyDeclaration(node) || ts.isClassElement(node)) &&
      node.name &&
      ts.isPrivateIdentifier(node.name)
    )
      return;
    if (
      (ts.isVariableDeclaration(node) || ts.isPropertyDeclaration(node) || ts.isParameter(node)) &&
      node.initializer
    ) {
      if (node.type !== undefined) visit(node.type);
      return;
    }
    const name = ts.isTypeReferenceNode(node)
      ? node.typeName
      : ts.isExpressionWithTypeArguments(node)
        ? node.expression
        : undefined;
    if (name !== undefined) {
      const symbol = checker.getSymbolAtLocation(name);
      const target = symbol === undefined ? undefined : resolve(symbol);
      if (target !== undefined && ours(target) && !(target.flags & ts.SymbolFlags.TypeParameter)) {
        if (!exportedAnywhere.has(target)) missing.add(target.getName());
        if (!exportedAnywhere.has(target) || exported.has(target)) queue.push(target);
      }
    }
    ts.forEachChild(node, visit);
  };

  for (let symbol = queue.pop(); symbol !== undefined; symbol = queue.pop()) {
    if (visited.has(symbol)) continue;
    visited.add(symbol);
    for (const declaration of symbol.declarations ?? []) visit(declaration);
  }
  return [...missing].sort();
}

describe('package entry points', () => {
  it('every entry point has its row of peers', () => {
    expect(Object.keys(peersLoadedBy).sort()).toEqual(Object.keys(entries).sort());
  });

  it('every package they load is a dependency or an optional peer', () => {
    const declared = new Set([
      ...Object.keys(manifest.dependencies ?? {}),
      ...Object.keys(manifest.peerDependencies ?? {}),
    ]);
    const optional = Object.keys(manifest.peerDependencies ?? {}).filter(
      (name) => manifest.peerDependenciesMeta?.[name]?.optional !== true,
    );
    const undeclared = Object.values(entries)
      .map(packagesLoadedBy)
      .flatMap((loaded) => [...loaded.static, ...loaded.dynamic])
      .filter((name) => !declared.has(name));
    expect([...new Set(undeclared)]).toEqual([]);
    expect(optional).toEqual([]);
  });

  it.each(Object.entries(entries))('%s loads only its own peers (%s)', (subpath, source) => {
    const dependencies = new Set(Object.keys(manifest.dependencies ?? {}));
    const loaded = packagesLoadedBy(source);
    expect([...loaded.static].filter((name) => !dependencies.has(name)).sort()).toEqual(
      [...(peersLoadedBy[subpath] ?? [])].sort(),
    );
    expect([...loaded.dynamic].sort()).toEqual([...(loadedOnUse[subpath] ?? [])].sort());
  });

  it('every type the entry points use in their signatures can be imported from one of them', () => {
    const config = ts.getParsedCommandLineOfConfigFile(
      join(projectRoot, 'tsconfig.json'),
      {},
      {
        ...ts.sys,
        onUnRecoverableConfigFileDiagnostic: () => {},
      },
    );
    const program = ts.createProgram({
      rootNames: Object.values(entries).map((source) => join(projectRoot, source)),
      options: config?.options ?? {},
    });
    const problems = unnameableTypes(program, Object.values(entries));
    expect(problems).toEqual(Object.fromEntries(Object.values(entries).map((source) => [source, []])));
  }, 60_000);
});
