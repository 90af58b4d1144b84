import type { MessageInput } from '../memory/message.js';

/*
 * Content parts are open-ended in the contract (objects with a string `type`). The providers understand:
 *   { type: 'text', text }                          text, everywhere
 *   { type: 'image_url', image_url: { url } }       an image (OpenAI's shape); Bedrock only takes inline
 *                                                   `data:image/(png|jpeg|gif|webp);base64,...` URLs
 *   { type: 'image', image, mediaType }             an image as base64 or a URL (the AI SDK's shape)
 *   { type: 'file', mediaType, data, filename }     a file as base64 (the AI SDK's shape), or
 *   { type: 'file', file: { file_data, filename } } with a data URL (OpenAI's)
 *   { type: 'attachment', attachment }              a file in S3 (an upload, or a value given by reference):
 *                                                   an image or a file, with its bytes (`data`) when the turn
 *                                                   read them for the model, else its presigned URL
 * Any other part is not dropped silently: it becomes a short text note such as `[audio content omitted]`,
 * so the model knows the user sent something it cannot see.
 */

export type ContentPart = Exclude<MessageInput['content'], string>[number];

export type UnderstoodPart =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'image'; readonly url: string; readonly part: ContentPart }
  | {
      readonly kind: 'file';
      readonly mediaType: string;
      /** The bytes, base64; absent when only a URL is known. */
      readonly base64?: string;
      readonly url?: string;
      readonly filename?: string;
      readonly bytes?: number;
    }
  | { readonly kind: 'other'; readonly note: string };

export function understandPart(part: ContentPart): UnderstoodPart {
  if (part.type === 'text' && typeof part.text === 'string') return { kind: 'text', text: part.text };
  const imageUrl = part.image_url as { url?: unknown } | string | undefined;
  const url = typeof imageUrl === 'string' ? imageUrl : imageUrl?.url;
  if (part.type === 'image_url' && typeof url === 'string') return { kind: 'image', url, part };
  const mediaType = stringOf(part.mediaType) ?? stringOf(part.mimeType);
  if (part.type === 'image' && typeof part.image === 'string') {
    const image = part.image;
    const isUrl = /^(data:|https?:)/.test(image);
    return { kind: 'image', url: isUrl ? image : `data:${mediaType ?? 'image/png'};base64,${image}`, part };
  }
  if (part.type === 'file') {
    const file = part.file as { file_data?: unknown; filename?: unknown } | undefined;
    const dataUrl = parseDataUrl(stringOf(file?.file_data) ?? stringOf(part.data) ?? '');
    const filename = stringOf(part.filename) ?? stringOf(file?.filename);
    const named = filename === undefined ? {} : { filename };
    if (dataUrl) return { kind: 'file', mediaType: dataUrl.mediaType, base64: dataUrl.base64, ...named };
    if (mediaType !== undefined && typeof part.data === 'string') {
      return { kind: 'file', mediaType, base64: part.data, ...named };
    }
  }
  if (part.type === 'attachment' && typeof part.attachment === 'object' && part.attachment !== null) {
    const attachment = part.attachment as Record<string, unknown>;
    const type = stringOf(attachment.mediaType) ?? 'application/octet-stream';
    const data = stringOf(attachment.data);
    const link = stringOf(attachment.url);
    if (type.startsWith('image/') && (data ?? link) !== undefined) {
      return {
        kind: 'image',
        url: data === undefined ? (link as string) : `data:${type};base64,${data}`,
        part,
      };
    }
    return {
      kind: 'file',
      mediaType: type,
      ...(data === undefined ? {} : { base64: data }),
      ...(link === undefined ? {} : { url: link }),
      ...(typeof attachment.filename === 'string' ? { filename: attachment.filename } : {}),
      ...(typeof attachment.bytes === 'number' ? { bytes: attachment.bytes } : {}),
    };
  }
  return { kind: 'other', note: `[${part.type} content omitted]` };
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** A `data:<type>;base64,<data>` URL, split. */
export function parseDataUrl(url: string): { mediaType: string; base64: string } | undefined {
  const match = /^data:([\w.+-]+\/[\w.+-]+)(?:;[\w.+-]+=[\w.+-]+)*;base64,/.exec(url);
  return match?.[1] ? { mediaType: match[1], base64: url.slice(match[0].length) } : undefined;
}

/** A short note for a file the model is not given. */
export function fileNote(file: Extract<UnderstoodPart, { kind: 'file' }>, why: string): string {
  const size =
    file.bytes ?? (file.base64 === undefined ? undefined : Math.floor((file.base64.length * 3) / 4));
  const described = [file.mediaType, size === undefined ? undefined : `${size} bytes`]
    .filter(Boolean)
    .join(', ');
  return `[file ${file.filename ?? ''} (${described}) omitted: ${why}]`.replace('file  (', 'file (');
}

/** The content as plain text: text parts joined by newlines, images and other parts as short notes. */
export function contentText(content: MessageInput['content']): string {
  if (typeof content === 'string') return content;
  return content
    .map((part) => {
      const understood = understandPart(part);
      if (understood.kind === 'text') return understood.text;
      if (understood.kind === 'image') return '[image omitted]';
      if (understood.kind === 'file') return fileNote(understood, 'not text');
      return understood.note;
    })
    .join('\n');
}

/** Whether content says anything: a string with non-whitespace text, or at least one part. */
export function hasContent(content: MessageInput['content']): boolean {
  return typeof content === 'string' ? content.trim().length > 0 : content.length > 0;
}

/** A `data:image/<format>;base64,<data>` URL, split; undefined for any other URL. */
export function parseImageDataUrl(url: string): { format: string; base64: string } | undefined {
  const match = /^data:image\/([a-z]+);base64,([A-Za-z0-9+/=\s]+)$/.exec(url);
  return match?.[1] && match[2] ? { format: match[1], base64: match[2] } : undefined;
}

/** Tool-call arguments as the JSON string OpenAI-style APIs carry. */
export function argumentsText(args: string | Record<string, unknown>): string {
  return typeof args === 'string' ? args : JSON.stringify(args);
}
