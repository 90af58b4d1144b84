import type { MessageInput } from '../memory/message.js';
import * as z from '../validation/zod.js';
import { type ChatRequest, replyMetadata } from './chat-model.js';
import { argumentsText, contentText, understandPart } from './message-content.js';
import { ModelError } from './model-errors.js';
import { pairToolMessages } from './tool-pairing.js';

/*
 * Our messages -> chat-completions messages:
 *   system, developer  -> `system` (many OpenAI-compatible servers do not know `developer`), in place
 *   user               -> `user`; content parts: `text` and `image_url` as they are, others -> text notes
 *   assistant          -> `assistant` with text content and `tool_calls` (arguments as a JSON string)
 *   tool               -> `tool` with `tool_call_id`
 * `name` is kept on user, system and assistant messages. Tool calls are paired first (./tool-pairing.ts).
 */

export type ChatCompletionMessage =
  | { role: 'system'; content: string; name?: string }
  | { role: 'user'; content: string | ChatCompletionPart[]; name?: string }
  | { role: 'assistant'; content: string | null; name?: string; tool_calls?: ChatCompletionToolCall[] }
  | { role: 'tool'; content: string; tool_call_id: string };

export type ChatCompletionPart = { type: 'text'; text: string } | { type: 'image_url'; image_url: unknown };

interface ChatCompletionToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface ChatCompletionRequest {
  model: string;
  messages: ChatCompletionMessage[];
}

export function toChatCompletionRequest(
  model: string,
  request: Pick<ChatRequest, 'system' | 'history' | 'message'>,
): ChatCompletionRequest {
  const messages: ChatCompletionMessage[] = [];
  if (request.system?.trim()) messages.push({ role: 'system', content: request.system });
  for (const message of pairToolMessages([...request.history, request.message])) {
    messages.push(chatCompletionMessage(message));
  }
  return { model, messages };
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
    case 'tool':
      return { role: 'tool', content: contentText(message.content), tool_call_id: message.toolCallId ?? '' };
  }
}

function userPart(part: Exclude<MessageInput['content'], string>[number]): ChatCompletionPart {
  const understood = understandPart(part);
  if (understood.kind === 'text') return { type: 'text', text: understood.text };
  if (understood.kind === 'image') return { type: 'image_url', image_url: understood.part.image_url };
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
  const usage = parsed.data.usage;
  return {
    role: 'assistant',
    content: choice.message.content ?? '',
    ...(toolCalls.length > 0 ? { toolCalls } : {}),
    metadata: {
      ...replyMetadata(choice.finish_reason ?? undefined, {
        inputTokens: usage?.prompt_tokens,
        outputTokens: usage?.completion_tokens,
        totalTokens: usage?.total_tokens,
      }),
    },
  };
}
