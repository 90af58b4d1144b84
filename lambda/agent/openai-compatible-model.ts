import { MemoryError } from '../memory/errors.js';
import type { MessageInput } from '../memory/message.js';
import { readServerSentEvents } from '../streaming/server-sent-events.js';
import { abortable } from './abortable.js';
import type { ChatModel, ChatRequest } from './chat-model.js';
import { ModelError, ModelTimeoutError } from './model-errors.js';
import type { ApiKeySource } from './openai-api-key.js';
import {
  ChatCompletionStreamAssembler,
  fromChatCompletionResponse,
  toChatCompletionRequest,
} from './openai-chat-mapping.js';

export interface OpenAiCompatibleModelOptions {
  /** The API root that `/chat/completions` is appended to, e.g. `https://api.openai.com/v1`. */
  readonly baseUrl: string;
  readonly modelId: string;
  readonly apiKey: ApiKeySource;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

/**
 * An OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, Ollama, LiteLLM, ...), with a bearer key;
 * `stream: true` (Server-Sent Events) when the caller streams.
 */
export class OpenAiCompatibleModel implements ChatModel {
  readonly modelId: string;
  private readonly url: string;
  private readonly apiKey: ApiKeySource;
  private readonly fetch: typeof fetch;

  constructor(options: OpenAiCompatibleModelOptions) {
    this.modelId = options.modelId;
    this.url = `${options.baseUrl.replace(/\/+$/, '')}/chat/completions`;
    this.apiKey = options.apiKey;
    this.fetch = options.fetch ?? ((url, init) => globalThis.fetch(url, init));
  }

  async reply(request: ChatRequest): Promise<MessageInput> {
    const { signal } = request;
    try {
      return await abortable(this.complete(request), signal);
    } catch (error) {
      if (signal.aborted || (error instanceof Error && error.name === 'AbortError')) {
        throw new ModelTimeoutError(undefined, { cause: error });
      }
      if (error instanceof MemoryError) throw error;
      throw new ModelError('The model provider could not be reached.', { cause: error });
    }
  }

  private async complete(request: ChatRequest): Promise<MessageInput> {
    const apiKey = await this.apiKey();
    const streaming = request.onEvent !== undefined;
    const body = toChatCompletionRequest(this.modelId, request);
    const response = await this.fetch(this.url, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        Accept: streaming ? 'text/event-stream' : 'application/json',
        Authorization: `Bearer ${apiKey}`,
      },
      body: JSON.stringify(
        streaming ? { ...body, stream: true, stream_options: { include_usage: true } } : body,
      ),
      signal: request.signal,
    });
    if (!response.ok) {
      const detail = await response.text().catch(() => '');
      const cause = new Error(`POST ${this.url} answered HTTP ${response.status}: ${detail.slice(0, 2000)}`);
      throw new ModelError(statusMessage(response.status), { cause });
    }
    if (streaming) return this.readStream(response, request);
    let answer: unknown;
    try {
      answer = await response.json();
    } catch (error) {
      if (request.signal.aborted) throw error;
      throw new ModelError('The model provider returned an unreadable answer.', { cause: error });
    }
    return fromChatCompletionResponse(answer);
  }

  private async readStream(response: Response, request: ChatRequest): Promise<MessageInput> {
    const assembler = new ChatCompletionStreamAssembler(request.onEvent);
    if (response.body === null) return assembler.reply();
    for await (const { data } of readServerSentEvents(response.body)) {
      if (data === '[DONE]') break;
      let chunk: unknown;
      try {
        chunk = JSON.parse(data);
      } catch (error) {
        throw new ModelError('The model provider returned an unreadable answer.', { cause: error });
      }
      assembler.add(chunk);
    }
    return assembler.reply();
  }
}

function statusMessage(status: number): string {
  if (status === 429) return 'The model provider is throttling requests; retry shortly.';
  if (status >= 400 && status < 500) return `The model provider rejected the request (HTTP ${status}).`;
  return `The model provider failed (HTTP ${status}).`;
}
