import type { MessageInput } from '../memory/message.js';

/*
 * Content parts are open-ended in the contract (objects with a string `type`). The providers understand:
 *   { type: 'text', text }                          text, everywhere
 *   { type: 'image_url', image_url: { url } }       an image (OpenAI's shape); Bedrock only takes inline
 *                                                   `data:image/(png|jpeg|gif|webp);base64,...` URLs
 * Any other part is not dropped silently: it becomes a short text note such as `[audio content omitted]`,
 * so the model knows the user sent something it cannot see.
 */

export type ContentPart = Exclude<MessageInput['content'], string>[number];

export type UnderstoodPart =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'image'; readonly url: string; readonly part: ContentPart }
  | { readonly kind: 'other'; readonly note: string };

export function understandPart(part: ContentPart): UnderstoodPart {
  if (part.type === 'text' && typeof part.text === 'string') return { kind: 'text', text: part.text };
  const imageUrl = part.image_url as { url?: unknown } | string | undefined;
  const url = typeof imageUrl === 'string' ? imageUrl : imageUrl?.url;
  if (part.type === 'image_url' && typeof url === 'string') return { kind: 'image', url, part };
  return { kind: 'other', note: `[${part.type} content omitted]` };
}

/** The content as plain text: text parts joined by newlines, images and other parts as short notes. */
export function contentText(content: MessageInput['content']): string {
  if (typeof content === 'string') return content;
  return content
    .map((part) => {
      const understood = understandPart(part);
      if (understood.kind === 'text') return understood.text;
      if (understood.kind === 'image') return '[image omitted]';
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
