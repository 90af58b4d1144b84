import type {
  ContentBlock,
  ConverseCommandInput,
  ConverseCommandOutput,
  ImageFormat,
  Message,
  SystemContentBlock,
  Tool,
  ToolUseBlock,
} from '@aws-sdk/client-bedrock-runtime';
import type { MessageInput } from '../memory/message.js';
import { type ChatRequest, replyMetadata } from './chat-model.js';
import { contentText, parseImageDataUrl, understandPart } from './message-content.js';
import { ModelError } from './model-errors.js';
import { pairToolMessages } from './tool-pairing.js';

/*
 * Our messages -> a Converse request:
 *   system, developer       -> `system` text blocks (the turn's system prompt first), wherever they stand
 *   user                    -> user text blocks; `image_url` parts with inline png/jpeg/gif/webp data URLs
 *                              -> image blocks; other parts -> text notes; `name` is dropped (no field)
 *   assistant               -> text block + one toolUse block per tool call (string arguments parsed; a
 *                              value that is not a JSON object is sent as { "arguments": <the string> })
 *   tool                    -> a user message with a toolResult block (toolUseId = toolCallId)
 * Converse wants user/assistant alternation starting with user, and no blank text: blank text is skipped,
 * a message left empty is dropped, consecutive same-role messages are merged into one, and a history that
 * (after the window) starts with the assistant gets a placeholder user message in front. Converse also
 * refuses toolUse/toolResult blocks without a toolConfig, so a history that holds tool calls declares those
 * tools (by name, with an open input schema); the model may then call them again, and such a reply's
 * toolCalls are stored like any other.
 */

/** A JSON document, as the SDK types a toolUse input. */
type ToolInput = NonNullable<ToolUseBlock['input']>;

const IMAGE_FORMATS: ReadonlySet<string> = new Set(['png', 'jpeg', 'gif', 'webp']);
const OMITTED_HISTORY = '(earlier messages of this conversation are omitted)';
const EMPTY_TOOL_RESULT = '(empty result)';

export function toConverseInput(
  modelId: string,
  request: Pick<ChatRequest, 'system' | 'history' | 'message'>,
): ConverseCommandInput {
  const system: SystemContentBlock[] = [];
  if (request.system?.trim()) system.push({ text: request.system });
  const messages: Message[] = [];

  for (const message of pairToolMessages([...request.history, request.message])) {
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

  const toolNames = new Set<string>();
  let usesTools = false;
  for (const block of messages.flatMap((message) => message.content ?? [])) {
    if (block.toolUse?.name) toolNames.add(block.toolUse.name);
    if (block.toolUse || block.toolResult) usesTools = true;
  }
  const tools: Tool[] = [...toolNames].map((name) => ({
    toolSpec: {
      name,
      description: 'A tool called earlier in this conversation.',
      inputSchema: { json: { type: 'object' } },
    },
  }));

  return {
    modelId,
    messages,
    ...(system.length > 0 ? { system } : {}),
    ...(usesTools ? { toolConfig: { tools } } : {}),
  };
}

function contentBlocks(message: MessageInput): ContentBlock[] {
  if (message.role === 'tool') {
    const text = contentText(message.content);
    return [
      {
        toolResult: {
          toolUseId: toolIdentifier(message.toolCallId ?? ''),
          content: [{ text: text.trim() ? text : EMPTY_TOOL_RESULT }],
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
  return [{ text: understood.note }];
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
  return {
    role: 'assistant',
    content: texts.join('\n'),
    ...(toolCalls.length > 0 ? { toolCalls } : {}),
    metadata: {
      ...replyMetadata(output.stopReason, {
        inputTokens: output.usage?.inputTokens,
        outputTokens: output.usage?.outputTokens,
        totalTokens: output.usage?.totalTokens,
      }),
    },
  };
}
