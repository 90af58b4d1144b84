import type { MessageInput, StoredMessage } from '../memory/message.js';

/*
 * AI SDK UI messages (the `UIMessage` of `useChat`, AI SDK v7) in the store. Nothing here imports the AI SDK:
 * the chat route speaks its protocol without it, and the `agent-memory/ai-sdk` entry point adds only types
 * and validation on top.
 *
 * One UI message is one stored message, exactly:
 *
 *   { id, role, metadata, parts }  ->  { id, role, content: parts, metadata: { aiSdk: { metadata } } }
 *
 * `content` holds the parts as they are (every part has a string `type`, as content parts must), so text,
 * reasoning, tool parts in every state, data parts, files, sources and step boundaries round-trip as JSON
 * values. `metadata.aiSdk` marks the message as a UI message and holds the UI message's own metadata (which
 * the application types), apart from the facts the server records next to it (`model`, `usage`, ...). A reply
 * that ended early is marked `metadata.aiSdk.interrupted` (`aborted`, `failed` or `cancelled`).
 *
 * Two views read the other way:
 * - uiMessagesOf: stored messages as UI messages. UI messages come back exactly; messages written by other
 *   means (the /turns route, other adapters) are grouped as the AI SDK groups model messages: an assistant
 *   message, the `tool` messages that answer it and the assistant messages that follow make one UI message.
 * - modelMessagesOf: stored messages as a model reads them. A UI assistant message becomes one assistant
 *   message per step (its text and tool calls) followed by the results of those calls, as `tool` messages;
 *   reasoning, data parts, sources and step boundaries are not sent (as the AI SDK's convertToModelMessages).
 */

/** A UI message part: the AI SDK's `UIMessagePart`, as JSON. */
export type UIPart = { readonly type: string } & Readonly<Record<string, unknown>>;

/** A UI message (the AI SDK's `UIMessage`), as JSON. */
export interface UIMessageJson {
  readonly id: string;
  readonly role: 'system' | 'user' | 'assistant';
  readonly metadata?: unknown;
  readonly parts: readonly UIPart[];
}

/** Why a reply was stored before it was complete. */
export type Interruption = 'aborted' | 'failed' | 'cancelled';

/** What `metadata.aiSdk` of a stored UI message holds. */
export interface UIMessageRecord {
  /** The UI message's own metadata, when it had any. */
  readonly metadata?: unknown;
  readonly interrupted?: Interruption;
}

const recordKey = 'aiSdk';

/** The stored form of a UI message: its parts as content, its metadata under `metadata.aiSdk`. */
export function storedFormOf(
  message: UIMessageJson,
  facts: { readonly interrupted?: Interruption; readonly metadata?: Record<string, unknown> } = {},
): MessageInput {
  const record: UIMessageRecord = {
    ...(message.metadata === undefined ? {} : { metadata: message.metadata }),
    ...(facts.interrupted === undefined ? {} : { interrupted: facts.interrupted }),
  };
  return {
    id: message.id,
    role: message.role,
    content: message.parts as MessageInput['content'],
    metadata: { ...facts.metadata, [recordKey]: record },
  };
}

/** The UI message record of a stored message; undefined for a message that is not a UI message. */
export function uiRecordOf(message: Pick<MessageInput, 'metadata'>): UIMessageRecord | undefined {
  const record = message.metadata?.[recordKey];
  return record !== null && typeof record === 'object' && !Array.isArray(record)
    ? (record as UIMessageRecord)
    : undefined;
}

export function isUIMessageForm(message: Pick<MessageInput, 'metadata'>): boolean {
  return uiRecordOf(message) !== undefined;
}

/** A stored UI message as the UI message it was. */
function uiMessageOf(message: StoredMessage, record: UIMessageRecord): UIMessageJson {
  const parts = typeof message.content === 'string' ? [textPart(message.content)] : message.content;
  return {
    id: message.id,
    role: message.role === 'system' || message.role === 'user' ? message.role : 'assistant',
    ...(record.metadata === undefined ? {} : { metadata: record.metadata }),
    parts: parts as UIPart[],
  };
}

/** One UI message and the stored messages it was read from (several for a group of foreign messages). */
export interface UIMessageSource {
  readonly message: UIMessageJson;
  readonly stored: readonly StoredMessage[];
}

/** Stored messages (ascending) as UI messages, each with the stored messages it came from. */
export function uiMessagesOf(messages: readonly StoredMessage[]): UIMessageSource[] {
  const result: UIMessageSource[] = [];
  for (let index = 0; index < messages.length; index++) {
    const message = messages[index] as StoredMessage;
    const record = uiRecordOf(message);
    if (record !== undefined) {
      result.push({ message: uiMessageOf(message, record), stored: [message] });
      continue;
    }
    if (message.role !== 'assistant' && message.role !== 'tool') {
      result.push({ message: foreignUIMessage(message), stored: [message] });
      continue;
    }
    // An assistant turn written by others: its messages up to the next user, system or UI message.
    const group: StoredMessage[] = [message];
    while (index + 1 < messages.length) {
      const next = messages[index + 1] as StoredMessage;
      if ((next.role !== 'assistant' && next.role !== 'tool') || isUIMessageForm(next)) break;
      group.push(next);
      index++;
    }
    result.push({ message: foreignAssistantMessage(group), stored: group });
  }
  return result;
}

function textPart(text: string): UIPart {
  return { type: 'text', text, state: 'done' };
}

/** A system, developer or user message written by others. */
function foreignUIMessage(message: StoredMessage): UIMessageJson {
  const parts =
    typeof message.content === 'string'
      ? [textPart(message.content)]
      : message.content.map((part): UIPart => {
          if (part.type === 'text' && typeof part.text === 'string') return textPart(part.text);
          const image = part.image_url as { url?: unknown } | string | undefined;
          const url = typeof image === 'string' ? image : image?.url;
          if (part.type === 'image_url' && typeof url === 'string') {
            return { type: 'file', mediaType: /^data:([^;,]+)/.exec(url)?.[1] ?? 'image', url };
          }
          return part as UIPart;
        });
  return { id: message.id, role: message.role === 'user' ? 'user' : 'system', parts };
}

/** Assistant and tool messages written by others, as one UI assistant message: one step per assistant message. */
function foreignAssistantMessage(group: readonly StoredMessage[]): UIMessageJson {
  const results = new Map<string, StoredMessage>();
  for (const message of group) {
    if (message.role === 'tool' && message.toolCallId !== undefined) results.set(message.toolCallId, message);
  }
  const parts: UIPart[] = [];
  for (const message of group) {
    if (message.role === 'tool') {
      if (message.toolCallId !== undefined) continue;
      parts.push(textPart(`[tool result] ${textOf(message.content)}`));
      continue;
    }
    parts.push(...replyParts(message, results));
  }
  return { id: (group[0] as StoredMessage).id, role: 'assistant', parts };
}

/**
 * The parts of one step of an assistant reply in the contract's form (text and `toolCalls`): a step boundary,
 * its text, and a tool part per call, `input-available`, or with its output when `results` holds a `tool`
 * message that answers it. The chat route stores its model's replies in this form.
 */
export function replyParts(
  reply: Pick<MessageInput, 'content' | 'toolCalls'>,
  results: ReadonlyMap<string, Pick<MessageInput, 'content' | 'metadata'>> = new Map(),
): UIPart[] {
  const text = textOf(reply.content);
  const parts: UIPart[] = [{ type: 'step-start' }];
  if (text.length > 0) parts.push(textPart(text));
  for (const call of reply.toolCalls ?? []) {
    const input = parseArguments(call.arguments);
    const result = results.get(call.id);
    const base = { type: `tool-${call.name}`, toolCallId: call.id };
    if (result === undefined) {
      parts.push({ ...base, state: 'input-available', input });
    } else if (result.metadata?.isError === true) {
      parts.push({ ...base, state: 'output-error', input, errorText: textOf(result.content) });
    } else {
      parts.push({ ...base, state: 'output-available', input, output: textOf(result.content) });
    }
  }
  return parts;
}

/** A tool call's arguments as the input of its tool part: parsed JSON (the text itself when it is not JSON). */
export function parseArguments(args: string | Record<string, unknown>): unknown {
  if (typeof args !== 'string') return args;
  try {
    return JSON.parse(args || '{}') as unknown;
  } catch {
    return args;
  }
}

function textOf(content: MessageInput['content']): string {
  if (typeof content === 'string') return content;
  return content
    .filter((part) => part.type === 'text' && typeof part.text === 'string')
    .map((part) => part.text as string)
    .join('');
}

/** A part that is a tool invocation (`tool-<name>` or `dynamic-tool`). */
export function isToolPart(part: UIPart): boolean {
  return part.type.startsWith('tool-') || part.type === 'dynamic-tool';
}

/** The tool name of a tool part. */
export function toolNameOf(part: UIPart): string {
  return part.type === 'dynamic-tool' ? String(part.toolName ?? '') : part.type.slice('tool-'.length);
}

/** The output states: the call was answered (a result, an error, or a denial). */
const answeredStates = new Set(['output-available', 'output-error', 'output-denied']);
/** The states of a complete call (its input is known); `input-streaming` was cut off mid-call. */
const calledStates = new Set([
  'input-available',
  'approval-requested',
  'approval-responded',
  ...answeredStates,
]);

/** Whether a tool part's call has its answer (output, error or denial). */
export function isAnswered(part: UIPart): boolean {
  return answeredStates.has(String(part.state));
}

/** The tool parts of a UI message's last step. */
export function lastStepToolParts(message: Pick<UIMessageJson, 'parts'>): UIPart[] {
  const start = message.parts.findLastIndex((part) => part.type === 'step-start');
  return message.parts.slice(start + 1).filter(isToolPart);
}

/**
 * Stored messages as the model reads them: UI messages expanded into the contract's messages (see the top of
 * this file), everything else as it is. Expanded messages keep the id, seq and createdAt of their UI message.
 */
export function modelMessagesOf<M extends MessageInput>(messages: readonly M[]): M[] {
  return messages.flatMap((message) => (isUIMessageForm(message) ? expand(message) : [message]));
}

function expand<M extends MessageInput>(message: M): M[] {
  const { metadata: _metadata, content, ...rest } = message;
  const parts = (typeof content === 'string' ? [textPart(content)] : content) as UIPart[];
  if (message.role !== 'assistant') {
    const modelParts = parts.flatMap(modelContentPart);
    return modelParts.length === 0 ? [] : [{ ...rest, content: modelParts } as M];
  }
  const expanded: M[] = [];
  for (const step of stepsOf(parts)) {
    const text = step
      .filter((part) => part.type === 'text' && typeof part.text === 'string')
      .map((part) => part.text as string)
      .join('');
    const calls = step.filter((part) => isToolPart(part) && calledStates.has(String(part.state)));
    if (text.length === 0 && calls.length === 0) continue;
    expanded.push({
      ...rest,
      content: text,
      ...(calls.length === 0
        ? {}
        : {
            toolCalls: calls.map((part) => ({
              id: String(part.toolCallId),
              name: toolNameOf(part),
              arguments: JSON.stringify(part.input ?? {}),
            })),
          }),
    } as M);
    for (const part of calls.filter(isAnswered)) {
      const failed = part.state !== 'output-available';
      const text =
        part.state === 'output-available'
          ? typeof part.output === 'string'
            ? part.output
            : (JSON.stringify(part.output) ?? '')
          : part.state === 'output-error'
            ? String(part.errorText ?? '')
            : 'The tool call was denied.';
      expanded.push({
        ...rest,
        role: 'tool',
        toolCallId: String(part.toolCallId),
        name: toolNameOf(part),
        content: text,
        ...(failed ? { metadata: { isError: true } } : {}),
      } as M);
    }
  }
  return expanded;
}

/** Parts split at step boundaries (a message without any is one step). */
function stepsOf(parts: readonly UIPart[]): UIPart[][] {
  const steps: UIPart[][] = [[]];
  for (const part of parts) {
    if (part.type === 'step-start') {
      if ((steps.at(-1) as UIPart[]).length > 0) steps.push([]);
      continue;
    }
    (steps.at(-1) as UIPart[]).push(part);
  }
  return steps;
}

/** A user or system part as a model content part: text, and files as the providers' image parts. */
function modelContentPart(part: UIPart): Exclude<MessageInput['content'], string> {
  if (part.type === 'text' && typeof part.text === 'string') return [{ type: 'text', text: part.text }];
  if (part.type === 'file' && typeof part.url === 'string') {
    return String(part.mediaType ?? '').startsWith('image')
      ? [{ type: 'image_url', image_url: { url: part.url } }]
      : [{ type: 'file', mediaType: part.mediaType, url: part.url }];
  }
  return [];
}
