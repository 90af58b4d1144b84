import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';

/*
 * Error stacks in the sources' terms, mapped through the bundle's source map only when an error is logged (a
 * 5xx). Node's --enable-source-maps would read and parse the map (about 1 MB) at every cold start instead, a
 * cost every request pays for the few that fail. Unbundled (the local server, tests) there is no map next to
 * the module, and stacks stay as they are.
 */

/** The bundle this code runs in: in Lambda, the one file `index.mjs`, with `index.mjs.map` beside it. */
const bundle = fileURLToPath(import.meta.url);
const positionInBundle = new RegExp(
  `(?:file://)?${bundle.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:(\\d+):(\\d+)`,
  'g',
);
let map: SourceMap | null | undefined;

/** The error, its stack (and those of its causes) rewritten to source positions where the map knows them. */
export function withSourceStack<T>(error: T): T {
  map ??= readSourceMap();
  if (map === null) return error;
  const seen = new Set<unknown>();
  for (
    let current: unknown = error;
    current instanceof Error && !seen.has(current);
    current = current.cause
  ) {
    seen.add(current);
    if (current.stack)
      current.stack = current.stack.replace(positionInBundle, (position, line, column) =>
        source(position, line, column),
      );
  }
  return error;
}

function source(position: string, line: string, column: string): string {
  const entry = map?.findEntry(Number(line) - 1, Number(column) - 1);
  return entry && 'originalSource' in entry
    ? `${entry.originalSource}:${entry.originalLine + 1}:${entry.originalColumn + 1}`
    : position;
}

function readSourceMap(): SourceMap | null {
  try {
    return new SourceMap(JSON.parse(readFileSync(`${bundle}.map`, 'utf8')));
  } catch {
    return null;
  }
}
