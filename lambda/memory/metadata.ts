import * as z from '../validation/zod.js';
import { InvalidRequestError, PayloadTooLargeError } from './errors.js';
import { jsonDepth, limits } from './message.js';

/*
 * A conversation's title and metadata: their limits, and how a PATCH changes them. Both live on the head, which
 * every write of messages reads and rewrites, so they are kept small: a write costs one more write unit per
 * started KB of head.
 */

export const conversationLimits = {
  /** Unicode characters (code points). */
  titleLength: 256,
  /** UTF-8 bytes of the metadata's JSON. */
  metadataBytes: 4096,
} as const;

/**
 * A PATCH: a JSON merge patch (RFC 7386) of the conversation's `{title, metadata}`. `title` replaces the title,
 * `null` removes it. `metadata` is merged into the metadata: its members replace those of the same name, a
 * `null` member removes one, objects merge recursively; `metadata: null` removes all of it.
 */
export interface ConversationPatch {
  readonly title?: string | null;
  readonly metadata?: Readonly<Record<string, unknown>> | null;
}

/** Title and metadata as the head stores them (metadata as JSON text); undefined: none. */
export interface TitleAndMetadata {
  readonly title: string | undefined;
  readonly meta: string | undefined;
}

const titleRule = `must be 1-${conversationLimits.titleLength} characters, not only white space`;

/** A title: 1-256 characters (code points), not only white space. */
export const titleSchema = z
  .string()
  .check(
    z.refine(
      (title) => [...title].length <= conversationLimits.titleLength && title.trim().length > 0,
      titleRule,
    ),
  );

export function requireTitle(title: unknown): asserts title is string {
  if (!titleSchema.safeParse(title).success) throw new InvalidRequestError(`title ${titleRule}.`);
}

/** Checks a patch as the store is given it (the HTTP layer's schema says the same). */
export function requirePatch(patch: unknown): asserts patch is ConversationPatch {
  if (!isObject(patch)) throw new InvalidRequestError('The patch must be an object.');
  const unknown = Object.keys(patch).filter((name) => name !== 'title' && name !== 'metadata');
  if (unknown.length > 0)
    throw new InvalidRequestError(`The patch has unknown fields: ${unknown.join(', ')}.`);
  if (patch.title === undefined && patch.metadata === undefined) {
    throw new InvalidRequestError('A patch changes title, metadata or both.');
  }
  if (patch.title !== undefined && patch.title !== null) requireTitle(patch.title);
  if (patch.metadata !== undefined && patch.metadata !== null && !isObject(patch.metadata)) {
    throw new InvalidRequestError('metadata must be a JSON object, or null to remove it.');
  }
  if (jsonDepth(patch.metadata) > limits.jsonDepth) {
    throw new InvalidRequestError(`metadata is nested deeper than ${limits.jsonDepth} levels.`);
  }
}

/** The title and metadata after `patch`. Metadata that ends up empty is none. */
export function applyPatch(current: TitleAndMetadata, patch: ConversationPatch): TitleAndMetadata {
  const title = patch.title === undefined ? current.title : (patch.title ?? undefined);
  if (patch.metadata === undefined) return { title, meta: current.meta };
  const merged = mergePatch(current.meta === undefined ? {} : JSON.parse(current.meta), patch.metadata);
  if (!isObject(merged) || Object.keys(merged).length === 0) return { title, meta: undefined };
  const meta = JSON.stringify(merged);
  const bytes = Buffer.byteLength(meta);
  if (bytes > conversationLimits.metadataBytes) {
    throw new PayloadTooLargeError(
      `The metadata would be ${bytes} bytes of JSON; the limit is ${conversationLimits.metadataBytes}.`,
    );
  }
  return { title, meta };
}

/**
 * RFC 7386: a patch that is not an object replaces the target; an object's members are merged into it, `null`
 * removing a member. Built with Object.fromEntries, so a member named `__proto__` stays a member.
 */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const result = new Map(Object.entries(isObject(target) ? target : {}));
  for (const [name, value] of Object.entries(patch)) {
    if (value === null) result.delete(name);
    else result.set(name, mergePatch(result.get(name), value));
  }
  return Object.fromEntries(result);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
