import type { MessageInput } from '../memory/message.js';
import * as z from '../validation/zod.js';
import {
  assistantReply,
  type ChatRequest,
  type ModelStreamEvent,
  summarySystemText,
  type ToolCall,
} from './chat-model.js';
import { argumentsText, contentText, fileNote, understandPart } from './message-content.js';
import { ModelError } from './model-errors.js';
import { pairToolMessages } from './tool-pairing.js';
import { offeredTools } from './tools.js';

/*
 * Our messages -> chat-completions messages, after the turn's system prompt and the conversation's summary (each a
 * `system` message):
 *   system, developer  -> `system` (many OpenAI-compatible servers do not know `developer`), in place
 *   user               -> `user`; content parts: `text` and `image_url` as they are, others -> text notes
 *   assistant          -> `assistant` with text content and `tool_calls` (arguments as a JSON string)
 *   tool               -> `tool` with `tool_call_id`; a failed tool's result (metadata.isError) is prefixed
 *                         `[tool error] `, since chat completions has no error flag
 * `name` is kept on user, system and assistant messages. Tool calls are paired first (./tool-pairing.ts).
 * The turn's tools become `tools` (`{type: 'function', function: {name, description, parameters}}`) and its
 * toolChoice `tool_choice` (`auto`, `none`, `required`, or `{type: 'function', function: {name}}`).
 */

/** Chat completions marks nothing as an error result, so the model reads it in the text. */
export const toolErrorPrefix = '[tool error] ';

export type ChatCompletionMessage =
  | { role: 'system'; content: string; name?: string }
  | { role: 'user'; content: string | ChatCompletionPart[]; name?: string }
  | { role: 'assistant'; content: string | null; name?: string; tool_calls?: ChatCompletionToolCall[] }
  | { role: 'tool'; content: string; tool_call_id: string };

export type ChatCompletionPart =
  | { type: 'text'; text: string }
  | { type: 'image_url'; image_url: unknown }
  | { type: 'file'; file: { filename: string; file_data: string } };

interface ChatCompletionToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

interface ChatCompletionTool {
  type: 'function';
  function: { name: string; description?: string; parameters: Record<string, unknown> };
}

type ChatCompletionToolChoice =
  | 'auto'
  | 'none'
  | 'required'
  | { type: 'function'; function: { name: string } };

export interface ChatCompletionRequest {
  model: string;
  messages: ChatCompletionMessage[];
  tools?: ChatCompletionTool[];
  tool_choice?: ChatCompletionToolChoice;
  stream?: true;
  stream_options?: { include_usage: true };
}

export function toChatCompletionRequest(
  model: string,
  request: Pick<ChatRequest, 'system' | 'summary' | 'history' | 'messages' | 'tools' | 'toolChoice'>,
): ChatCompletionRequest {
  const messages: ChatCompletionMessage[] = [];
  if (request.system?.trim()) messages.push({ role: 'system', content: request.system });
  if (request.summary) messages.push({ role: 'system', content: summarySystemText(request.summary) });
  for (const message of pairToolMessages([...request.history, ...request.messages])) {
    messages.push(chatCompletionMessage(message));
  }
  const tools = offeredTools(request.tools, request.toolChoice).map(
    (tool): ChatCompletionTool => ({
      type: 'function',
      function: {
        name: tool.name,
        ...(tool.description === undefined ? {} : { description: tool.description }),
        parameters: tool.inputSchema,
      },
    }),
  );
  const choice = request.toolChoice;
  const toolChoice: ChatCompletionToolChoice | undefined =
    tools.length === 0 || choice === undefined
      ? undefined
      : typeof choice === 'string'
        ? choice
        : { type: 'function', function: { name: choice.name } };
  return {
    model,
    messages,
    ...(tools.length > 0 ? { tools } : {}),
    ...(toolChoice === undefined ? {} : { tool_choice: toolChoice }),
  };
}

function chatCompletionMessage(message: MessageInput): ChatCompletionMessage {
  const name = message.name === undefined ? {} : { name: message.name };
  switch (message.role) {
    case 'system':
    case 'developer':
      return { role: 'system', content: contentText(message.content), ...name };
    case 'user':
      return {
        role: 'user',
        content: typeof message.content === 'string' ? message.content : message.content.map(userPart),
        ...name,
      };
    case 'assistant': {
      const text = contentText(message.content);
      const toolCalls = (message.toolCalls ?? []).map(
        (call): ChatCompletionToolCall => ({
          id: call.id,
          type: 'function',
          function: { name: call.name, arguments: argumentsText(call.arguments) },
        }),
      );
      return {
        role: 'assistant',
        content: text.length === 0 && toolCalls.length > 0 ? null : text,
        ...name,
        ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
      };
    }
    case 'tool': {
      const text = contentText(message.content);
      return {
        role: 'tool',
        content: message.metadata?.isError === true ? `${toolErrorPrefix}${text}` : text,
        tool_call_id: message.toolCallId ?? '',
      };
    }
  }
}

function userPart(part: Exclude<MessageInput['content'], string>[number]): ChatCompletionPart {
  const understood = understandPart(part);
  if (understood.kind === 'text') return { type: 'text', text: understood.text };
  if (understood.kind === 'image') {
    const { part } = understood;
    return {
      type: 'image_url',
      image_url: part.type === 'image_url' ? part.image_url : { url: understood.url },
    };
  }
  if (understood.kind === 'file') {
    // Chat completions reads PDFs as `file` parts with their bytes as a data URL; other files become a note.
    if (understood.mediaType === 'application/pdf' && understood.base64 !== undefined) {
      return {
        type: 'file',
        file: {
          filename: understood.filename ?? 'document.pdf',
          file_data: `data:application/pdf;base64,${understood.base64}`,
        },
      };
    }
    return { type: 'text', text: fileNote(understood, 'not sent to this provider') };
  }
  return { type: 'text', text: understood.note };
}

const chatCompletionResponseSchema = z.object({
  choices: z
    .array(
      z.object({
        message: z.object({
          content: z.nullish(z.string()),
          tool_calls: z.nullish(
            z.array(
              z.object({
                id: z.string(),
                function: z.object({ name: z.string(), arguments: z.string() }),
              }),
            ),
          ),
        }),
        finish_reason: z.nullish(z.string()),
      }),
    )
    .check(z.minLength(1)),
  usage: z.nullish(
    z.object({
      prompt_tokens: z.optional(z.number()),
      completion_tokens: z.optional(z.number()),
      total_tokens: z.optional(z.number()),
    }),
  ),
});

/** A chat-completions answer -> the assistant's reply (first choice), finish reason and usage in `metadata`. */
export function fromChatCompletionResponse(body: unknown): MessageInput {
  const parsed = chatCompletionResponseSchema.safeParse(body);
  if (!parsed.success) {
    throw new ModelError('The model provider returned an unreadable answer.', { cause: parsed.error });
  }
  const [choice] = parsed.data.choices as [(typeof parsed.data.choices)[number]];
  const toolCalls = (choice.message.tool_calls ?? []).map((call) => ({
    id: call.id,
    name: call.function.name,
    arguments: call.function.arguments,
  }));
  return assistantReply({
    content: choice.message.content ?? '',
    toolCalls,
    stopReason: choice.finish_reason ?? undefined,
    usage: tokenUsage(parsed.data.usage),
  });
}

const chatCompletionChunkSchema = z.object({
  choices: z.optional(
    z.array(
      z.object({
        delta: z.optional(
          z.object({
            content: z.nullish(z.string()),
            tool_calls: z.nullish(
              z.array(
                z.object({
                  index: z.number(),
                  id: z.nullish(z.string()),
                  function: z.nullish(
                    z.object({ name: z.nullish(z.string()), arguments: z.nullish(z.string()) }),
                  ),
                }),
              ),
            ),
          }),
        ),
        finish_reason: z.nullish(z.string()),
      }),
    ),
  ),
  usage: chatCompletionResponseSchema.shape.usage,
});

/**
 * A streamed chat completion (`stream: true`), chunk by chunk -> the same reply fromChatCompletionResponse makes
 * of a whole answer (first choice), reporting text as it arrives. Tool calls arrive as fragments by `index`
 * (id and name first, arguments in pieces); each is reported once the model has finished its reply.
 */
export class ChatCompletionStreamAssembler {
  private text = '';
  private readonly toolCalls = new Map<number, { id: string; name: string; arguments: string }>();
  private finishReason: string | undefined;
  private usage: z.infer<typeof chatCompletionChunkSchema>['usage'];
  private chunks = 0;

  constructor(private readonly onEvent?: (event: ModelStreamEvent) => void) {}

  /** Takes one chunk (a `data:` line's JSON); throws ModelError for one it cannot read. */
  add(chunk: unknown): void {
    if (typeof chunk === 'object' && chunk !== null && 'error' in chunk) {
      throw new ModelError('The model provider failed.', { cause: new Error(JSON.stringify(chunk)) });
    }
    const parsed = chatCompletionChunkSchema.safeParse(chunk);
    if (!parsed.success) {
      throw new ModelError('The model provider returned an unreadable answer.', { cause: parsed.error });
    }
    this.chunks++;
    if (parsed.data.usage) this.usage = parsed.data.usage;
    const choice = parsed.data.choices?.[0];
    if (!choice) return;
    const content = choice.delta?.content;
    if (content) {
      this.text += content;
      this.onEvent?.({ type: 'text', text: content });
    }
    for (const fragment of choice.delta?.tool_calls ?? []) {
      const call = this.toolCalls.get(fragment.index) ?? { id: '', name: '', arguments: '' };
      call.id ||= fragment.id ?? '';
      call.name ||= fragment.function?.name ?? '';
      call.arguments += fragment.function?.arguments ?? '';
      this.toolCalls.set(fragment.index, call);
    }
    if (choice.finish_reason) this.finishReason = choice.finish_reason;
  }

  /** The assistant's reply, once the stream has ended (`[DONE]` or the end of the body). */
  reply(): MessageInput {
    if (this.chunks === 0) {
      throw new ModelError('The model provider returned an unreadable answer.', {
        cause: new Error('The stream ended without a chunk.'),
      });
    }
    const toolCalls: ToolCall[] = [...this.toolCalls.entries()]
      .sort(([a], [b]) => a - b)
      .map(([, call]) => call);
    for (const toolCall of toolCalls) this.onEvent?.({ type: 'tool_call', toolCall });
    return assistantReply({
      content: this.text,
      toolCalls,
      stopReason: this.finishReason,
      usage: tokenUsage(this.usage),
    });
  }
}

/** Chat completions' token counts, as every provider reports them. */
function tokenUsage(
  usage: { prompt_tokens?: number; completion_tokens?: number; total_tokens?: number } | null | undefined,
) {
  return usage
    ? {
        inputTokens: usage.prompt_tokens,
        outputTokens: usage.completion_tokens,
        totalTokens: usage.total_tokens,
      }
    : undefined;
}
