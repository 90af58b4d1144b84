import { bytesText, type Child, h, prettyJson } from './element.js';

/*
 * A message's content as stored: a string, or parts (objects with a string `type`, otherwise open-ended). One case
 * per part type, in the shapes the project's adapters and common SDKs store:
 *   text, input_text, output_text          { text }
 *   image_url                              { image_url: { url } | url }             (OpenAI; the contract's images)
 *   image, input_image                     { image: url | base64, mediaType? } (AI SDK, OpenAI Agents)
 *                                          { source: { type: 'base64', media_type, data } | { type: 'url', url } }
 *   file, input_file, document             { data | url | file: { file_data, filename }, mediaType, filename }
 *   attachment                             { attachment: { url, mediaType, bytes, filename? } }
 *   anything else                          shown as its JSON, labelled with its type
 * `attachment` parts are values the store keeps in S3 (a page answers them by reference past its inline budget),
 * with a short-lived presigned URL of the deployment's own bucket: images are shown from it (the document's CSP
 * allows that one origin), other files are links.
 */

/** Where a part's bytes are: inline (a data: URL we may show) or behind a URL (shown as a link). */
export type PartSource =
  | { readonly kind: 'inline'; readonly dataUrl: string; readonly mediaType: string; readonly bytes: number }
  | { readonly kind: 'remote'; readonly url: string; readonly mediaType: string | undefined }
  | { readonly kind: 'stored'; readonly url: string; readonly mediaType: string; readonly bytes: number };

/** Longer texts are cut here until the reader asks for the rest: one message may hold 256 KiB. */
export const textPreviewChars = 4000;

type Part = Readonly<Record<string, unknown>> & { readonly type?: unknown };

export function renderContent(content: unknown): HTMLElement {
  if (typeof content === 'string') return h('div', { class: 'content' }, renderText(content));
  if (!Array.isArray(content)) {
    return h('div', { class: 'content' }, unknownPart('content is not a string or parts', content));
  }
  if (content.length === 0)
    return h('div', { class: 'content' }, h('p', { class: 'empty' }, 'No content parts.'));
  return h('div', { class: 'content parts' }, ...content.map((part: unknown) => renderPart(part)));
}

export function renderPart(part: unknown): HTMLElement {
  if (typeof part !== 'object' || part === null) return unknownPart('not an object', part);
  const record = part as Part;
  const type = typeof record.type === 'string' ? record.type : undefined;
  switch (type) {
    case 'text':
    case 'input_text':
    case 'output_text':
      return typeof record.text === 'string'
        ? partFrame(type, renderText(record.text))
        : unknownPart(type, part);
    case 'image_url':
    case 'image':
    case 'input_image': {
      const source = partSource(record, 'image/');
      return source ? partFrame(type, image(source)) : unknownPart(type, part);
    }
    case 'file':
    case 'input_file':
    case 'document': {
      const source = partSource(record, '');
      return partFrame(type, file(record, source));
    }
    case 'attachment': {
      const source = partSource(record, '');
      if (source?.kind !== 'stored') return unknownPart(type, part);
      const reference = record.attachment as Part;
      return partFrame(type, source.mediaType.startsWith('image/') ? image(source) : file(reference, source));
    }
    default:
      return unknownPart(type ?? 'untyped part', part);
  }
}

/** The bytes of an image or file part, from whichever shape it is stored in. */
export function partSource(part: Part, mediaTypePrefix: string): PartSource | undefined {
  if (part.type === 'attachment') return storedSource(part.attachment);
  const declared =
    stringField(part, 'mediaType') ?? stringField(part, 'media_type') ?? stringField(part, 'mimeType');
  const imageUrl = part.image_url;
  const file = isRecord(part.file) ? part.file : undefined;
  const source = isRecord(part.source) ? part.source : undefined;
  const candidates: unknown[] = [
    isRecord(imageUrl) ? imageUrl.url : imageUrl,
    part.image,
    part.url,
    part.data,
    file?.file_data,
    file?.url,
    source?.type === 'url' ? source.url : undefined,
  ];
  if (source?.type === 'base64' && typeof source.data === 'string') {
    return fromBase64(source.data, stringField(source, 'media_type') ?? declared, mediaTypePrefix);
  }
  for (const candidate of candidates) {
    if (typeof candidate !== 'string' || candidate.length === 0) continue;
    const dataUrl = /^data:([\w.+-]+\/[\w.+-]+)?(;[^,]*)?,/i.exec(candidate);
    if (dataUrl) {
      const mediaType = dataUrl[1] ?? declared ?? 'application/octet-stream';
      const payload = candidate.slice(dataUrl[0].length);
      const bytes = dataUrl[2]?.includes(';base64') ? base64Bytes(payload) : payload.length;
      return { kind: 'inline', dataUrl: candidate, mediaType, bytes };
    }
    if (/^https?:\/\//i.test(candidate)) return { kind: 'remote', url: candidate, mediaType: declared };
    // Bare base64 (the AI SDK's `image`/`data` as a string): shown when the media type says what it is.
    if (/^[A-Za-z0-9+/=\s]+$/.test(candidate)) return fromBase64(candidate, declared, mediaTypePrefix);
  }
  return undefined;
}

/** An attachment part's reference: the store's presigned URL, its media type and size. */
function storedSource(reference: unknown): PartSource | undefined {
  if (!isRecord(reference)) return undefined;
  const url = stringField(reference, 'url');
  const mediaType = stringField(reference, 'mediaType') ?? 'application/octet-stream';
  const bytes = typeof reference.bytes === 'number' ? reference.bytes : 0;
  if (url === undefined || !/^https?:\/\//i.test(url)) return undefined;
  return { kind: 'stored', url, mediaType, bytes };
}

function fromBase64(data: string, mediaType: string | undefined, prefix: string): PartSource | undefined {
  const type = mediaType ?? (prefix === 'image/' ? 'image/png' : 'application/octet-stream');
  const clean = data.replace(/\s+/g, '');
  return {
    kind: 'inline',
    dataUrl: `data:${type};base64,${clean}`,
    mediaType: type,
    bytes: base64Bytes(clean),
  };
}

function base64Bytes(base64: string): number {
  const clean = base64.replace(/\s+/g, '');
  const padding = clean.endsWith('==') ? 2 : clean.endsWith('=') ? 1 : 0;
  return Math.max(0, Math.floor((clean.length * 3) / 4) - padding);
}

/**
 * Inline raster images are shown, and those in the store's bucket; any other URL is a link, so viewing history
 * never calls out to a URL someone stored.
 */
function image(source: PartSource): Child {
  if (source.kind === 'remote') return remoteLink(source, 'image');
  const stored = source.kind === 'stored';
  const caption = `${source.mediaType}, ${bytesText(source.bytes)}${stored ? ', kept in S3' : ''}`;
  if (!/^image\/(png|jpeg|gif|webp|avif|bmp)$/i.test(source.mediaType)) {
    return h('p', {}, `An image part (${caption}) of a type not shown here.`);
  }
  return h(
    'figure',
    { class: 'image' },
    h('img', {
      src: stored ? source.url : source.dataUrl,
      alt: `Image part (${caption})`,
      loading: 'lazy',
    }),
    h('figcaption', {}, caption),
  );
}

function file(part: Part, source: PartSource | undefined): Child {
  const fileRecord = isRecord(part.file) ? part.file : undefined;
  const name =
    stringField(part, 'filename') ??
    stringField(part, 'name') ??
    (fileRecord && stringField(fileRecord, 'filename'));
  if (source === undefined) return h('p', {}, `File ${name ?? '(no name)'}: no content or URL in the part.`);
  if (source.kind === 'remote') return remoteLink(source, `file ${name ?? ''}`.trim());
  const stored = source.kind === 'stored';
  return h(
    'p',
    { class: 'file' },
    h(
      'a',
      stored
        ? { href: source.url, target: '_blank', rel: 'noopener noreferrer' }
        : { href: source.dataUrl, download: name ?? 'attachment' },
      name ?? 'Download file',
    ),
    ` (${source.mediaType}, ${bytesText(source.bytes)}${stored ? ', kept in S3' : ''})`,
  );
}

function remoteLink(source: PartSource & { kind: 'remote' }, what: string): Child {
  return h(
    'p',
    { class: 'remote' },
    `A ${what} at a URL (not loaded here): `,
    h('a', { href: source.url, target: '_blank', rel: 'noopener noreferrer' }, source.url),
    source.mediaType ? ` (${source.mediaType})` : '',
  );
}

function renderText(text: string): HTMLElement {
  if (text.length === 0) return h('p', { class: 'text empty' }, 'Empty text.');
  if (text.length <= textPreviewChars) return h('p', { class: 'text' }, text);
  const paragraph = h('p', { class: 'text' }, text.slice(0, textPreviewChars), '…');
  const more = h(
    'button',
    {
      type: 'button',
      class: 'link',
      onclick: () => {
        paragraph.textContent = text;
        more.remove();
      },
    },
    `Show all ${text.length.toLocaleString()} characters`,
  );
  return h('div', {}, paragraph, more);
}

function partFrame(type: string, body: Child): HTMLElement {
  return h('div', { class: 'part', 'data-part-type': type }, h('span', { class: 'part-type' }, type), body);
}

function unknownPart(label: string, value: unknown): HTMLElement {
  return h(
    'div',
    { class: 'part unknown', 'data-part-type': label },
    h('span', { class: 'part-type' }, label),
    h('pre', { class: 'json' }, prettyJson(value)),
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringField(record: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const value = record[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}
