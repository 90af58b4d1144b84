/**
 * Builds the inspector into one self-contained HTML document: the page's TypeScript bundled and minified by
 * esbuild (no framework), its CSS, and a Content-Security-Policy that allows exactly those two inline blocks (by
 * hash), data: images and requests to the page's own origin (the API). One document is one request to open it.
 *
 * `npx tsx inspector/build.ts <folder>` writes `inspector.html` there (the construct's bundling does so);
 * the local server builds it in memory on the first request of /inspector.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { inspectorFileName } from './inspector-document.js';

const pageFolder = fileURLToPath(new URL('./page/', import.meta.url));

export interface InspectorBuild {
  readonly html: string;
  readonly sizes: {
    readonly script: number;
    readonly style: number;
    readonly html: number;
    readonly htmlGzip: number;
  };
}

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

export async function buildInspector(): Promise<InspectorBuild> {
  const esbuild = await import('esbuild');
  const bundle = await esbuild.build({
    entryPoints: [join(pageFolder, 'main.ts')],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    // Evergreen browsers of 2024 on: native <dialog>, fetch, crypto.randomUUID, Intl.
    target: ['chrome120', 'firefox120', 'safari17'],
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
  });
  const style = await esbuild.transform(readFileSync(join(pageFolder, 'inspector.css'), 'utf8'), {
    loader: 'css',
    minify: true,
  });
  // `</script` inside the script (a string, a regex) would end the inline block.
  const script = (bundle.outputFiles[0]?.text ?? '').replaceAll('</script', '<\\/script').trim();
  const css = style.code.trim();
  const policy = [
    "default-src 'none'",
    `script-src ${sha256(script)}`,
    `style-src ${sha256(css)}`,
    'img-src data: blob:',
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  // The auth meta is what inspector-document.ts sets per server.
  const html = [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${policy}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    '<meta name="agent-memory-auth" content="tenant-header">',
    '<title>agent-memory inspector</title>',
    `<style>${css}</style>`,
    '</head>',
    '<body>',
    '<noscript>The inspector needs JavaScript.</noscript>',
    `<script>${script}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
  return {
    html,
    sizes: {
      script: Buffer.byteLength(script),
      style: Buffer.byteLength(css),
      html: Buffer.byteLength(html),
      htmlGzip: gzipSync(html).length,
    },
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const folder = process.argv[2];
  if (!folder) {
    console.error('usage: tsx inspector/build.ts <output folder>');
    process.exit(2);
  }
  const { html, sizes } = await buildInspector();
  writeFileSync(join(folder, inspectorFileName), html);
  console.log(
    `inspector: ${sizes.html} bytes (${sizes.htmlGzip} gzipped): script ${sizes.script}, style ${sizes.style}`,
  );
}
