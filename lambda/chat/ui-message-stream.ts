import type { TurnEvent } from '../agent/turn-events.js';
import {
  isAnswered,
  isToolPart,
  parseArguments,
  toolNameOf,
  type UIMessageJson,
  type UIPart,
} from './ui-message.js';

/*
 * The AI SDK's UI message stream protocol (v1), which `useChat` and `DefaultChatTransport` read: Server-Sent
 * Events whose data are JSON chunks (`start`, `start-step`, `text-delta`, `tool-input-available`, ..., `finish`),
 * ended by `data: [DONE]`, with the header `x-vercel-ai-ui-message-stream: v1`.
 */

/** One chunk of the stream (the AI SDK's `UIMessageChunk`), as JSON. */
export type UIMessageChunk = { readonly type: string } & Readonly<Record<string, unknown>>;

export const uiMessageStreamHeaders = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache',
  'x-vercel-ai-ui-message-stream': 'v1',
  'x-accel-buffering': 'no',
} as const;

/** The chunks as Server-Sent Events. */
export function encodeChunks(chunks: readonly UIMessageChunk[]): string {
  return chunks.map((chunk) => `data: ${JSON.stringify(chunk)}\n\n`).join('');
}

/** The stream's last event. */
export const streamEnd = 'data: [DONE]\n\n';

/**
 * The chunks of one reply, from a streamed turn's events (lambda/agent/turn-events.ts): `start` with the reply's
 * message id and a `start-step`, the text as one text part, each tool call as `tool-input-available` (a static
 * tool: the part is `tool-<name>`), `restart` as `reset-step` (the step's parts are void, the reply follows
 * anew), then `finish-step` and `finish`, or an `error` whose text is the contract's error body.
 */
export class TurnChunks {
  private textId: string | undefined;
  private texts = 0;

  constructor(private readonly messageId: string) {}

  /** The chunks that open the reply. */
  begin(): UIMessageChunk[] {
    return [{ type: 'start', messageId: this.messageId }, { type: 'start-step' }];
  }

  /** The chunks of one event; `errorBody` gives the contract's error body of an `error` event. */
  of(event: TurnEvent, errorBody: (error: unknown) => string): UIMessageChunk[] {
    switch (event.type) {
      case 'delta': {
        if (event.text.length === 0) return [];
        const open: UIMessageChunk[] = [];
        if (this.textId === undefined) {
          this.textId = `text-${++this.texts}`;
          open.push({ type: 'text-start', id: this.textId });
        }
        return [...open, { type: 'text-delta', id: this.textId, delta: event.text }];
      }
      case 'tool_call': {
        const { id, name, arguments: args } = event.toolCall;
        return [
          ...this.closeText(),
          { type: 'tool-input-available', toolCallId: id, toolName: name, input: parseArguments(args) },
        ];
      }
      case 'restart':
        // The open text part is among the parts reset-step removes.
        this.textId = undefined;
        return [{ type: 'reset-step' }];
      case 'done':
        return [
          ...this.closeText(),
          { type: 'finish-step' },
          { type: 'finish', finishReason: event.result.awaitingToolResults ? 'tool-calls' : 'stop' },
        ];
      case 'error':
        return [...this.closeText(), { type: 'error', errorText: errorBody(event.error) }];
    }
  }

  private closeText(): UIMessageChunk[] {
    if (this.textId === undefined) return [];
    const id = this.textId;
    this.textId = undefined;
    return [{ type: 'text-end', id }];
  }
}

/**
 * Chunks that rebuild a message from nothing: `start`, then each part as the stream would have sent it, steps
 * closed. A resumed stream is a full replay (DefaultChatTransport resets the message on its first `start`), so the
 * record of a stream that continues a message begins with these.
 */
export function replayChunksOf(message: UIMessageJson): UIMessageChunk[] {
  const chunks: UIMessageChunk[] = [{ type: 'start', messageId: message.id }];
  let stepOpen = false;
  let ids = 0;
  for (const part of message.parts) {
    if (part.type === 'step-start') {
      if (stepOpen) chunks.push({ type: 'finish-step' });
      chunks.push({ type: 'start-step' });
      stepOpen = true;
      continue;
    }
    chunks.push(...partChunks(part, `replay-${++ids}`));
  }
  if (stepOpen) chunks.push({ type: 'finish-step' });
  return chunks;
}

function partChunks(part: UIPart, id: string): UIMessageChunk[] {
  const { type, ...fields } = part;
  const meta = part.providerMetadata === undefined ? {} : { providerMetadata: part.providerMetadata };
  if (type === 'text' || type === 'reasoning') {
    // A reasoning part keeps its id (one without gets this one: the SDK gives every streamed reasoning an id).
    const partId = type === 'reasoning' && typeof part.id === 'string' ? part.id : id;
    return [
      { type: `${type}-start`, id: partId, ...meta },
      { type: `${type}-delta`, id: partId, delta: String(part.text ?? '') },
      { type: `${type}-end`, id: partId, ...meta },
    ];
  }
  if (isToolPart(part)) return toolChunks(part);
  if (type === 'step-start') return [];
  // data-*, source-url, source-document, file, reasoning-file, custom: one chunk of the same shape.
  const { state: _state, ...rest } = fields;
  return [{ type, ...rest }];
}

function toolChunks(part: UIPart): UIMessageChunk[] {
  const call = {
    toolCallId: part.toolCallId,
    toolName: toolNameOf(part),
    ...(part.type === 'dynamic-tool' ? { dynamic: true } : {}),
    ...(part.providerExecuted === undefined ? {} : { providerExecuted: part.providerExecuted }),
    ...(part.title === undefined ? {} : { title: part.title }),
  };
  if (part.state === 'input-streaming') {
    return [{ type: 'tool-input-start', ...call }];
  }
  const chunks: UIMessageChunk[] = [{ type: 'tool-input-available', ...call, input: part.input }];
  const approval = part.approval as { id?: string; approved?: boolean; reason?: string } | undefined;
  if (approval?.id !== undefined) {
    chunks.push({ type: 'tool-approval-request', approvalId: approval.id, toolCallId: part.toolCallId });
    if (approval.approved !== undefined) {
      chunks.push({
        type: 'tool-approval-response',
        approvalId: approval.id,
        approved: approval.approved,
        ...(approval.reason === undefined ? {} : { reason: approval.reason }),
      });
    }
  }
  if (!isAnswered(part)) return chunks;
  if (part.state === 'output-available') {
    chunks.push({ type: 'tool-output-available', toolCallId: part.toolCallId, output: part.output });
  } else if (part.state === 'output-error') {
    chunks.push({ type: 'tool-output-error', toolCallId: part.toolCallId, errorText: part.errorText });
  } else {
    chunks.push({ type: 'tool-output-denied', toolCallId: part.toolCallId });
  }
  return chunks;
}
