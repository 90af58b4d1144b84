/** The parts of package.json that say what the package offers. */
export interface PackageManifest {
  readonly exports: Readonly<Record<string, { readonly types?: unknown; readonly default?: unknown }>>;
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly peerDependencies?: Readonly<Record<string, string>>;
  readonly peerDependenciesMeta?: Readonly<Record<string, { readonly optional?: boolean }>>;
}

/**
 * The source file of each entry point (`./client` -> `client/index.ts`), by subpath. Every entry has one shape,
 * `{ "types": "./dist/<path>.d.ts", "default": "./dist/<path>.js" }`, built from `<path>.ts`: so adding an
 * entry point is one entry in package.json's `exports`.
 */
export function entryPointSources(manifest: PackageManifest): Record<string, string> {
  return Object.fromEntries(
    Object.entries(manifest.exports).map(([subpath, target]) => {
      const javascript = typeof target.default === 'string' ? target.default : '';
      const path = /^\.\/dist\/(.+)\.js$/.exec(javascript)?.[1];
      if (path === undefined || target.types !== `./dist/${path}.d.ts`) {
        throw new Error(
          `package.json exports["${subpath}"] must be { "types": "./dist/<path>.d.ts", "default": "./dist/<path>.js" }, built from <path>.ts.`,
        );
      }
      return [subpath, `${path}.ts`];
    }),
  );
}
