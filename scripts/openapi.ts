/**
 * Generates docs/openapi.json from the handlers' schemas; `--check` instead fails (exit 1) when the committed
 * file differs from what would be generated. Usage: `tsx scripts/openapi.ts [--check]`.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildOpenApiDocument, renderOpenApiDocument } from './openapi-document.js';

const target = fileURLToPath(new URL('../docs/openapi.json', import.meta.url));
const args = process.argv.slice(2);
if (args.some((arg) => arg !== '--check')) {
  console.error(`Unknown argument(s): ${args.join(' ')}. Usage: tsx scripts/openapi.ts [--check]`);
  process.exit(2);
}

const generated = renderOpenApiDocument(buildOpenApiDocument());

if (args.includes('--check')) {
  const committed = await readFile(target, 'utf8').catch(() => undefined);
  if (committed !== generated) {
    const why =
      committed === undefined
        ? 'is missing'
        : `differs from the schemas ${firstDifference(committed, generated)}`;
    console.error(`docs/openapi.json ${why}. Run \`npm run openapi\` and commit docs/openapi.json.`);
    process.exit(1);
  }
  console.log('docs/openapi.json is up to date.');
} else {
  await mkdir(dirname(target), { recursive: true });
  await writeFile(target, generated);
  console.log(`Wrote docs/openapi.json (${Buffer.byteLength(generated)} bytes).`);
}

function firstDifference(committed: string, wanted: string): string {
  const have = committed.split('\n');
  const want = wanted.split('\n');
  const line = want.findIndex((text, index) => text !== have[index]);
  const at = line === -1 ? want.length : line;
  return `from line ${at + 1} (committed: ${JSON.stringify(have[at] ?? '<end>')}, generated: ${JSON.stringify(want[at] ?? '<end>')})`;
}
