import type { AgentInputItem } from '@openai/agents';
import type { Message, StoredMessage } from './conversation-memory.js';

/*
 * How an OpenAI Agents SDK item is stored: one item = one message. The item itself, as JSON, is kept in
 * `metadata.openaiAgentsItem` (the lossless copy, which getItems returns), and role/content/toolCalls/
 * toolCallId say the same thing in the contract's terms for every other reader (the /turns route, LangChain):
 *
 *   user / assistant / system message   -> that role; text parts become { type: 'text' }, images { type: 'image_url' }
 *   function_call                       -> assistant, content '', toolCalls [{ id: callId, name, arguments }]
 *   function_call_result                -> tool, toolCallId = callId, name, the output as text
 *   anything else (reasoning, hosted
 *   tool calls, compaction, ...)        -> assistant, a one-line text summary such as `[reasoning] ...`
 *
 * The copy does not repeat the large strings the readable form already holds (an image's data URL, a long tool
 * output): each is a `{ "$agentMemoryContent": path }` pointing into `content`, so a screenshot is stored once
 * and a store with attachments moves it to S3 like any content part.
 *
 * The mapping is a pure function of the item, so the same item always becomes the same message: that is
 * what lets a history edit name its expected suffix by items (the store compares what it stored).
 *
 * Messages written by others (no `openaiAgentsItem`) are read as the items their role implies; an assistant
 * message with tool calls becomes its text (if any) followed by one function_call per call.
 */

/** The metadata key that holds the original item. */
export const openaiAgentsItemKey = 'openaiAgentsItem';

type JsonObject = Record<string, unknown>;

export function itemToMessage(item: AgentInputItem): Message {
  const stored = toJson(item, 'item') as JsonObject;
  const readable = readableForm(stored);
  return { ...readable, metadata: { [openaiAgentsItemKey]: pointingInto(stored, readable.content) } };
}

/** The items a stored message stands for: its original item, or what its role implies. */
export function messageToItems(message: StoredMessage | Message): AgentInputItem[] {
  const original = message.metadata?.[openaiAgentsItemKey];
  if (isObject(original)) return [resolvedFrom(original, message.content) as AgentInputItem];
  return derivedItems(message);
}

/** Strings from this long on are stored once, in `content`, when the readable form holds them. */
const sharedStringChars = 1024;
const contentPointer = '$agentMemoryContent';
type Path = readonly (string | number)[];

/** The item with every long string that `content` also holds replaced by a pointer to it. */
function pointingInto(item: JsonObject, content: Message['content']): JsonObject {
  const places = new Map<string, Path>();
  const collect = (value: unknown, path: Path): void => {
    if (typeof value === 'string') {
      if (value.length >= sharedStringChars && !places.has(value)) places.set(value, path);
    } else if (Array.isArray(value)) {
      for (const [i, child] of value.entries()) collect(child, [...path, i]);
    } else if (isObject(value)) {
      for (const [key, child] of Object.entries(value)) collect(child, [...path, key]);
    }
  };
  collect(content, []);
  if (places.size === 0) return item;
  const replace = (value: unknown): unknown => {
    if (typeof value === 'string') {
      const path = places.get(value);
      return path === undefined ? value : { [contentPointer]: path };
    }
    if (Array.isArray(value)) return value.map(replace);
    if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replace(v)]));
    return value;
  };
  return replace(item) as JsonObject;
}

/** The item as it was added: each pointer replaced by the string `content` holds there. */
function resolvedFrom(stored: JsonObject, content: unknown): unknown {
  const resolve = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(resolve);
    if (!isObject(value)) return value;
    const path = value[contentPointer];
    if (Array.isArray(path) && Object.keys(value).length === 1) {
      return path.reduce<unknown>((node, key) => (node as Record<string | number, unknown>)?.[key], content);
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v)]));
  };
  return resolve(stored);
}

function readableForm(item: JsonObject): Omit<Message, 'metadata'> {
  const type = item.type ?? 'message';
  if (type === 'message' && item.role === 'user') {
    return { role: 'user', content: typeof item.content === 'string' ? item.content : parts(item.content) };
  }
  if (type === 'message' && item.role === 'system') {
    return { role: 'system', content: typeof item.content === 'string' ? item.content : text(item.content) };
  }
  if (type === 'message' && item.role === 'assistant') {
    const content = Array.isArray(item.content) ? item.content : [];
    const allText = content.every((part) => isObject(part) && part.type === 'output_text');
    return { role: 'assistant', content: allText ? text(content) : parts(content) };
  }
  if (type === 'function_call') {
    return {
      role: 'assistant',
      content: '',
      toolCalls: [
        {
          id: String(item.callId ?? ''),
          name: String(item.name ?? ''),
          arguments: toolArguments(item.arguments),
        },
      ],
    };
  }
  if (type === 'function_call_result') {
    return {
      role: 'tool',
      content: outputText(item.output),
      toolCallId: String(item.callId ?? ''),
      ...(typeof item.name === 'string' ? { name: item.name } : {}),
    };
  }
  return { role: 'assistant', content: summary(item) };
}

/** Content parts in the contract's common vocabulary (text and image_url); other parts are kept as they are. */
function parts(content: unknown): Exclude<Message['content'], string> {
  if (!Array.isArray(content)) return [];
  return content.filter(isObject).map((part) => {
    if ((part.type === 'input_text' || part.type === 'output_text') && typeof part.text === 'string') {
      return { type: 'text', text: part.text };
    }
    if (part.type === 'refusal' && typeof part.refusal === 'string')
      return { type: 'text', text: part.refusal };
    if ((part.type === 'input_image' || part.type === 'image') && typeof part.image === 'string') {
      return { type: 'image_url', image_url: { url: part.image } };
    }
    return { ...part, type: String(part.type ?? 'unknown') };
  });
}

function text(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter(isObject)
    .map((part) =>
      typeof part.text === 'string' ? part.text : typeof part.refusal === 'string' ? part.refusal : '',
    )
    .join('');
}

function outputText(output: unknown): string {
  if (typeof output === 'string') return output;
  if (isObject(output) && output.type === 'text' && typeof output.text === 'string') return output.text;
  if (Array.isArray(output) && output.every((part) => isObject(part) && typeof part.text === 'string')) {
    return text(output);
  }
  return JSON.stringify(output ?? null);
}

/** Arguments as the contract allows them: the SDK's JSON string is kept as is (objects are stored as objects). */
function toolArguments(value: unknown): string | Record<string, unknown> {
  if (typeof value === 'string') return value;
  return isObject(value) ? value : JSON.stringify(value ?? null);
}

function summary(item: JsonObject): string {
  const type = String(item.type ?? 'item');
  if (type === 'reasoning') {
    const lines = [item.content, item.rawContent]
      .flatMap((list) => (Array.isArray(list) ? list : []))
      .filter(isObject)
      .map((part) => part.text)
      .filter((line): line is string => typeof line === 'string' && line.length > 0);
    return `[reasoning]${lines.length > 0 ? ` ${lines.join(' ')}` : ''}`;
  }
  if (type === 'compaction') return '[compaction] earlier history was compacted';
  const name = typeof item.name === 'string' ? ` ${item.name}` : '';
  const status = typeof item.status === 'string' ? ` (${item.status})` : '';
  return `[${type}]${name}${status}`;
}

function derivedItems(message: StoredMessage | Message): AgentInputItem[] {
  const { content } = message;
  switch (message.role) {
    case 'user':
      return [
        {
          type: 'message',
          role: 'user',
          content: typeof content === 'string' ? content : userParts(content),
        },
      ];
    case 'system':
    case 'developer':
      return [{ type: 'message', role: 'system', content: plainText(content) }];
    case 'tool':
      return [
        {
          type: 'function_call_result',
          callId: message.toolCallId ?? '',
          name: message.name ?? '',
          status: 'completed',
          output: plainText(content),
        },
      ];
    case 'assistant': {
      const said = plainText(content);
      const calls = (message.toolCalls ?? []).map(
        (call): AgentInputItem => ({
          type: 'function_call',
          callId: call.id,
          name: call.name,
          arguments: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments),
          status: 'completed',
        }),
      );
      const reply: AgentInputItem[] =
        said.length > 0 || calls.length === 0
          ? [
              {
                type: 'message',
                role: 'assistant',
                status: 'completed',
                content: [{ type: 'output_text', text: said }],
              },
            ]
          : [];
      return [...reply, ...calls];
    }
  }
}

type UserContent = Extract<AgentInputItem, { role: 'user' }>['content'];

function userParts(content: Exclude<Message['content'], string>): UserContent {
  return content.map((part) => {
    if (part.type === 'text' && typeof part.text === 'string') return { type: 'input_text', text: part.text };
    const url = isObject(part.image_url) ? part.image_url.url : part.image_url;
    if (part.type === 'image_url' && typeof url === 'string') return { type: 'input_image', image: url };
    return { type: 'input_text', text: `[${part.type} content]` };
  }) as UserContent;
}

function plainText(content: Message['content']): string {
  if (typeof content === 'string') return content;
  return content
    .map((part) => (typeof part.text === 'string' ? part.text : `[${part.type} content]`))
    .join('\n');
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The item as plain JSON, exactly what will be stored: properties that are undefined are left out (as
 * JSON.stringify does); anything JSON cannot hold faithfully is refused before anything is written.
 */
function toJson(value: unknown, path: string): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`${path} is ${value}, which JSON cannot hold.`);
    return value;
  }
  if (Array.isArray(value)) {
    return value.map((entry, index) => {
      if (entry === undefined) throw new TypeError(`${path}[${index}] is undefined, which JSON cannot hold.`);
      return toJson(entry, `${path}[${index}]`);
    });
  }
  if (value instanceof Uint8Array) {
    throw new TypeError(
      `${path} holds binary data; store it as a data URL or base64 string (the Runner does so itself).`,
    );
  }
  if (typeof value === 'object') {
    const prototype = Object.getPrototypeOf(value);
    if (prototype !== Object.prototype && prototype !== null) {
      throw new TypeError(
        `${path} is a ${prototype?.constructor?.name ?? 'class instance'}, not plain JSON.`,
      );
    }
    const result: JsonObject = {};
    for (const [key, entry] of Object.entries(value)) {
      // defineProperty: a `__proto__` key stays a key, as JSON.parse makes it.
      if (entry !== undefined) {
        Object.defineProperty(result, key, {
          value: toJson(entry, `${path}.${key}`),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
    }
    return result;
  }
  throw new TypeError(`${path} is a ${typeof value}, which JSON cannot hold.`);
}
