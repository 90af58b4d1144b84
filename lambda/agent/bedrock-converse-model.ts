import {
  type BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
} from '@aws-sdk/client-bedrock-runtime';
import type { MessageInput } from '../memory/message.js';
import { abortable } from './abortable.js';
import { ConverseStreamAssembler, fromConverseOutput, toConverseInput } from './bedrock-converse-mapping.js';
import type { ChatModel, ChatRequest } from './chat-model.js';
import { ModelError, ModelTimeoutError } from './model-errors.js';

export interface BedrockConverseModelOptions {
  /** Build it once at module scope (and wrap it for tracing there). */
  readonly client: BedrockRuntimeClient;
  /** A model id or inference profile id/ARN, e.g. `us.amazon.nova-lite-v1:0`. */
  readonly modelId: string;
}

const THROTTLING = new Set([
  'ThrottlingException',
  'ServiceQuotaExceededException',
  'TooManyRequestsException',
]);
const REJECTED = new Set(['ValidationException', 'AccessDeniedException', 'ResourceNotFoundException']);

/**
 * Amazon Bedrock's Converse API, or ConverseStream when the caller streams (request and response mapping in
 * ./bedrock-converse-mapping.ts).
 */
export class BedrockConverseModel implements ChatModel {
  readonly modelId: string;
  private readonly client: BedrockRuntimeClient;

  constructor(options: BedrockConverseModelOptions) {
    this.client = options.client;
    this.modelId = options.modelId;
  }

  async reply(request: ChatRequest): Promise<MessageInput> {
    const input = toConverseInput(this.modelId, request);
    const { signal, onEvent } = request;
    try {
      if (onEvent === undefined) {
        const output = await abortable(
          this.client.send(new ConverseCommand(input), { abortSignal: signal }),
          signal,
        );
        return fromConverseOutput(output);
      }
      return await abortable(this.stream(input, signal, onEvent), signal);
    } catch (error) {
      if (error instanceof ModelError) throw error;
      throw translateBedrockError(error, signal);
    }
  }

  private async stream(
    input: ReturnType<typeof toConverseInput>,
    signal: AbortSignal,
    onEvent: NonNullable<ChatRequest['onEvent']>,
  ): Promise<MessageInput> {
    const output = await this.client.send(new ConverseStreamCommand(input), { abortSignal: signal });
    const assembler = new ConverseStreamAssembler(onEvent);
    for await (const event of output.stream ?? []) assembler.add(event);
    return assembler.reply();
  }
}

/** The one place where a Bedrock failure becomes a model error; the SDK error stays the cause. */
function translateBedrockError(error: unknown, signal: AbortSignal): ModelError | ModelTimeoutError {
  const name = error instanceof Error ? error.name : '';
  if (
    signal.aborted ||
    name === 'AbortError' ||
    name === 'TimeoutError' ||
    name === 'ModelTimeoutException'
  ) {
    return new ModelTimeoutError(undefined, { cause: error });
  }
  if (THROTTLING.has(name)) {
    return new ModelError('The model provider is throttling requests; retry shortly.', { cause: error });
  }
  if (REJECTED.has(name)) {
    return new ModelError('The model provider rejected the request.', { cause: error });
  }
  return new ModelError('The model provider failed.', { cause: error });
}
