import type {
  ContentBlock,
  ConverseCommandInput,
  ConverseCommandOutput,
  ConverseStreamOutput,
  TokenUsage as ConverseTokenUsage,
  ToolChoice as ConverseToolChoice,
  DocumentFormat,
  ImageFormat,
  Message,
  SystemContentBlock,
  Tool,
  ToolUseBlock,
} from '@aws-sdk/client-bedrock-runtime';
import type { MessageInput } from '../memory/message.js';
import {
  assistantReply,
  type ChatRequest,
  type ModelStreamEvent,
  summarySystemText,
  type ToolCall,
} from './chat-model.js';
import { contentText, fileNote, parseImageDataUrl, understandPart } from './message-content.js';
import { ModelError } from './model-errors.js';
import { pairToolMessages } from './tool-pairing.js';
import { offeredTools, type ToolChoice } from './tools.js';

/*
 * Our messages -> a Converse request:
 *   system, developer       -> `system` text blocks (the turn's system prompt, then the conversation's summary,
 *                              first), wherever they stand
 *   user                    -> user text blocks; `image_url` parts with inline png/jpeg/gif/webp data URLs
 *                              -> image blocks; other parts -> text notes; `name` is dropped (no field)
 *   assistant               -> text block + one toolUse block per tool call (string arguments parsed; a
 *                              value that is not a JSON object is sent as { "arguments": <the string> })
 *   tool                    -> a user message with a toolResult block (toolUseId = toolCallId; status
 *                              `error` when metadata.isError)
 * The turn's tools become `toolConfig.tools` (toolSpec: name, description, inputSchema.json) and its toolChoice
 * `auto` -> {auto}, `required` -> {any}, {name} -> {tool: {name}}; `none` offers no tools (Converse has no such
 * choice).
 * Converse wants user/assistant alternation starting with user, and no blank text: blank text is skipped,
 * a message left empty is dropped, consecutive same-role messages are merged into one, and a history that
 * (after the window) starts with the assistant gets a placeholder user message in front. Converse also
 * refuses toolUse/toolResult blocks without a toolConfig, so a history that holds tool calls declares those
 * tools too (by name, with an open input schema) when the turn does not offer them itself; the model may then
 * call them again, and such a reply's toolCalls are stored like any other.
 */

/** A JSON document, as the SDK types a toolUse input. */
type ToolInput = NonNullable<ToolUseBlock['input']>;

const IMAGE_FORMATS: ReadonlySet<string> = new Set(['png', 'jpeg', 'gif', 'webp']);

/** The documents Converse reads, by media type. */
const DOCUMENT_FORMATS: Readonly<Record<string, DocumentFormat>> = {
  'application/pdf': 'pdf',
  'text/csv': 'csv',
  'application/msword': 'doc',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
  'application/vnd.ms-excel': 'xls',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'xlsx',
  'text/html': 'html',
  'text/plain': 'txt',
  'text/markdown': 'md',
};
const OMITTED_HISTORY = '(earlier messages of this conversation are omitted)';
const EMPTY_TOOL_RESULT = '(empty result)';

export function toConverseInput(
  modelId: string,
  request: Pick<ChatRequest, 'system' | 'summary' | 'history' | 'messages' | 'tools' | 'toolChoice'>,
): ConverseCommandInput {
  const system: SystemContentBlock[] = [];
  if (request.system?.trim()) system.push({ text: request.system });
  if (request.summary) system.push({ text: summarySystemText(request.summary) });
  const messages: Message[] = [];

  for (const message of pairToolMessages([...request.history, ...request.messages])) {
    if (message.role === 'system' || message.role === 'developer') {
      const text = contentText(message.content);
      if (text.trim()) system.push({ text });
      continue;
    }
    const role = message.role === 'assistant' ? 'assistant' : 'user';
    const content = contentBlocks(message);
    if (content.length === 0) continue;
    const previous = messages.at(-1);
    if (previous?.role === role) previous.content?.push(...content);
    else messages.push({ role, content });
  }
  if (messages[0]?.role === 'assistant')
    messages.unshift({ role: 'user', content: [{ text: OMITTED_HISTORY }] });

  const offered = offeredTools(request.tools, request.toolChoice);
  const tools: Tool[] = offered.map((tool) => ({
    toolSpec: {
      name: tool.name,
      ...(tool.description === undefined ? {} : { description: tool.description }),
      inputSchema: { json: tool.inputSchema as ToolInput },
    },
  }));
  const toolNames = new Set(offered.map((tool) => tool.name));
  let usesTools = tools.length > 0;
  for (const block of messages.flatMap((message) => message.content ?? [])) {
    const name = block.toolUse?.name;
    if (name && !toolNames.has(name)) {
      toolNames.add(name);
      tools.push({
        toolSpec: {
          name,
          description: 'A tool called earlier in this conversation.',
          inputSchema: { json: { type: 'object' } },
        },
      });
    }
    if (block.toolUse || block.toolResult) usesTools = true;
  }
  const toolChoice = offered.length > 0 ? converseToolChoice(request.toolChoice) : undefined;

  return {
    modelId,
    messages,
    ...(system.length > 0 ? { system } : {}),
    ...(usesTools ? { toolConfig: { tools, ...(toolChoice ? { toolChoice } : {}) } } : {}),
  };
}

function converseToolChoice(choice: ToolChoice | undefined): ConverseToolChoice | undefined {
  if (choice === undefined || choice === 'none') return undefined;
  if (choice === 'auto') return { auto: {} };
  if (choice === 'required') return { any: {} };
  return { tool: { name: choice.name } };
}

function contentBlocks(message: MessageInput): ContentBlock[] {
  if (message.role === 'tool') {
    const text = contentText(message.content);
    return [
      {
        toolResult: {
          toolUseId: toolIdentifier(message.toolCallId ?? ''),
          content: [{ text: text.trim() ? text : EMPTY_TOOL_RESULT }],
          ...(message.metadata?.isError === true ? { status: 'error' as const } : {}),
        },
      },
    ];
  }
  const blocks: ContentBlock[] = [];
  if (message.role === 'user' && typeof message.content !== 'string') {
    for (const part of message.content) blocks.push(...userPartBlocks(part));
  } else {
    const text = contentText(message.content);
    if (text.trim()) blocks.push({ text });
  }
  for (const call of message.role === 'assistant' ? (message.toolCalls ?? []) : []) {
    blocks.push({
      toolUse: {
        toolUseId: toolIdentifier(call.id),
        name: toolIdentifier(call.name),
        input: toolInput(call.arguments),
      },
    });
  }
  return blocks;
}

function userPartBlocks(part: Exclude<MessageInput['content'], string>[number]): ContentBlock[] {
  const understood = understandPart(part);
  if (understood.kind === 'text') return understood.text.trim() ? [{ text: understood.text }] : [];
  if (understood.kind === 'image') {
    const image = parseImageDataUrl(understood.url);
    if (image && IMAGE_FORMATS.has(image.format)) {
      const bytes = new Uint8Array(Buffer.from(image.base64, 'base64'));
      return [{ image: { format: image.format as ImageFormat, source: { bytes } } }];
    }
    return [{ text: '[image omitted: only inline png, jpeg, gif or webp data URLs are supported]' }];
  }
  if (understood.kind === 'file') {
    const format = DOCUMENT_FORMATS[understood.mediaType.split(';')[0] as string];
    if (format === undefined) return [{ text: fileNote(understood, 'a type Converse does not read') }];
    if (understood.base64 === undefined)
      return [{ text: fileNote(understood, 'larger than Converse takes') }];
    const bytes = new Uint8Array(Buffer.from(understood.base64, 'base64'));
    return [{ document: { format, name: documentName(understood.filename), source: { bytes } } }];
  }
  return [{ text: understood.note }];
}

/**
 * Converse names documents with letters, digits, single spaces, hyphens, parentheses and square brackets; the name
 * is also what the model may quote.
 */
function documentName(filename: string | undefined): string {
  const cleaned = (filename ?? 'document')
    .replace(/\.[A-Za-z0-9]+$/, '')
    .replace(/[^A-Za-z0-9\s\-()[\]]/g, '-')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 100);
  return cleaned.length > 0 ? cleaned : 'document';
}

/** Converse accepts tool names and ids of [a-zA-Z0-9_-], 1-64 characters. */
function toolIdentifier(value: string): string {
  const cleaned = value.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 64);
  return cleaned.length > 0 ? cleaned : '_';
}

function toolInput(args: string | Record<string, unknown>): ToolInput {
  if (typeof args !== 'string') return args as ToolInput;
  try {
    const parsed: unknown = JSON.parse(args);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
      return parsed as ToolInput;
    }
  } catch {
    // not JSON: sent as a string below
  }
  return { arguments: args };
}

/**
 * A Converse answer -> the assistant's reply: text blocks joined by newlines, toolUse blocks as toolCalls
 * (input as a JSON string, as chat completions carries it), stop reason and token usage in `metadata`.
 * Other blocks (reasoning, citations, ...) are not kept.
 */
export function fromConverseOutput(output: ConverseCommandOutput): MessageInput {
  const message = output.output?.message;
  if (!message?.content) {
    throw new ModelError('The model returned no message.', { cause: new Error(JSON.stringify(output)) });
  }
  const texts: string[] = [];
  const toolCalls: NonNullable<MessageInput['toolCalls']> = [];
  for (const block of message.content) {
    if (block.text !== undefined) texts.push(block.text);
    else if (block.toolUse) {
      toolCalls.push({
        id: block.toolUse.toolUseId ?? '',
        name: block.toolUse.name ?? '',
        arguments: JSON.stringify(block.toolUse.input ?? {}),
      });
    }
  }
  return assistantReply({
    content: texts.join('\n'),
    toolCalls,
    stopReason: output.stopReason,
    usage: tokenUsage(output.usage),
  });
}

/** The exception members a ConverseStream event may carry instead of data, by their SDK error name. */
const STREAM_EXCEPTIONS = {
  internalServerException: 'InternalServerException',
  modelStreamErrorException: 'ModelStreamErrorException',
  validationException: 'ValidationException',
  throttlingException: 'ThrottlingException',
  serviceUnavailableException: 'ServiceUnavailableException',
} as const;

/**
 * A ConverseStream answer, event by event -> the same reply fromConverseOutput makes of a Converse answer, while
 * reporting text as it arrives and each tool call once its block stops. Text blocks are joined by newlines (a
 * newline is reported before the first text of every text block but the first), a toolUse block's input
 * fragments are one JSON document (reported and stored compact, as Converse's parsed input would be).
 */
export class ConverseStreamAssembler {
  private readonly texts = new Map<number, string>();
  private readonly toolUses = new Map<number, { id: string; name: string; input: string }>();
  private readonly toolCalls: ToolCall[] = [];
  private stopReason: string | undefined;
  private usage: ConverseCommandOutput['usage'];

  constructor(private readonly onEvent?: (event: ModelStreamEvent) => void) {}

  /** Takes one stream event; throws an error named like the SDK's for an exception event. */
  add(event: ConverseStreamOutput): void {
    for (const [member, name] of Object.entries(STREAM_EXCEPTIONS)) {
      const exception = (event as unknown as Record<string, { message?: string } | undefined>)[member];
      if (exception) throw Object.assign(new Error(exception.message ?? name), { name });
    }
    if (event.contentBlockStart?.start?.toolUse) {
      const { toolUseId, name } = event.contentBlockStart.start.toolUse;
      this.toolUses.set(event.contentBlockStart.contentBlockIndex ?? 0, {
        id: toolUseId ?? '',
        name: name ?? '',
        input: '',
      });
    } else if (event.contentBlockDelta?.delta) {
      const index = event.contentBlockDelta.contentBlockIndex ?? 0;
      const { text, toolUse } = event.contentBlockDelta.delta;
      if (text !== undefined) this.addText(index, text);
      else if (toolUse?.input !== undefined) {
        const block = this.toolUses.get(index);
        if (block) block.input += toolUse.input;
      }
    } else if (event.contentBlockStop) {
      const index = event.contentBlockStop.contentBlockIndex ?? 0;
      const block = this.toolUses.get(index);
      if (block) {
        this.toolUses.delete(index);
        const toolCall = { id: block.id, name: block.name, arguments: compactJson(block.input) };
        this.toolCalls.push(toolCall);
        this.onEvent?.({ type: 'tool_call', toolCall });
      }
    } else if (event.messageStop) {
      this.stopReason = event.messageStop.stopReason;
    } else if (event.metadata?.usage) {
      this.usage = event.metadata.usage;
    }
  }

  /** The assistant's reply, once the stream has ended. */
  reply(): MessageInput {
    if (this.texts.size === 0 && this.toolCalls.length === 0 && this.stopReason === undefined) {
      throw new ModelError('The model returned no message.', { cause: new Error('empty ConverseStream') });
    }
    return assistantReply({
      content: [...this.texts.values()].join('\n'),
      toolCalls: this.toolCalls,
      stopReason: this.stopReason,
      usage: tokenUsage(this.usage),
    });
  }

  private addText(index: number, text: string): void {
    const earlier = this.texts.get(index);
    if (earlier === undefined && this.texts.size > 0) this.onEvent?.({ type: 'text', text: '\n' });
    this.texts.set(index, (earlier ?? '') + text);
    if (text.length > 0) this.onEvent?.({ type: 'text', text });
  }
}

/** Tool input JSON as Converse's parsed input, stringified, would be; an unparsable fragment is kept as is. */
function compactJson(input: string): string {
  if (input.trim() === '') return '{}';
  try {
    return JSON.stringify(JSON.parse(input));
  } catch {
    return input;
  }
}

/** Converse's token counts, as every provider reports them (cache counts are not kept). */
function tokenUsage(usage: ConverseTokenUsage | undefined) {
  return usage
    ? { inputTokens: usage.inputTokens, outputTokens: usage.outputTokens, totalTokens: usage.totalTokens }
    : undefined;
}
