import {
  parseJsonEventStream,
  readUIMessageStream,
  type UIMessage,
  type UIMessageChunk,
  uiMessageChunkSchema,
} from 'ai';
import { describe, expect, it } from 'vitest';
import type { TurnResult } from '../../../lambda/agent/run-turn.js';
import type { TurnEvent } from '../../../lambda/agent/turn-events.js';
import type { UIMessageJson } from '../../../lambda/chat/ui-message.js';
import {
  encodeChunks,
  type UIMessageChunk as OurChunk,
  replayChunksOf,
  streamEnd,
  TurnChunks,
} from '../../../lambda/chat/ui-message-stream.js';

/**
 * Reads Server-Sent Events text as DefaultChatTransport does (the AI SDK's parseJsonEventStream and its chunk
 * schema), then builds the message with the SDK's own readUIMessageStream: the message a browser would show.
 */
async function messageOf(sse: string): Promise<UIMessage | undefined> {
  const bytes = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(sse));
      controller.close();
    },
  });
  const chunks = parseJsonEventStream({ stream: bytes, schema: uiMessageChunkSchema }).pipeThrough(
    new TransformStream<{ success: boolean; value?: unknown; error?: unknown }, UIMessageChunk>({
      transform(parsed, controller) {
        if (!parsed.success) throw parsed.error;
        controller.enqueue(parsed.value as UIMessageChunk);
      },
    }),
  );
  let last: UIMessage | undefined;
  for await (const snapshot of readUIMessageStream({ stream: chunks, terminateOnError: true })) {
    last = snapshot;
  }
  return last;
}

const done = (awaitingToolResults: boolean): TurnEvent => ({
  type: 'done',
  result: { awaitingToolResults } as TurnResult,
});
const errorBody = (error: unknown) =>
  JSON.stringify({ error: { code: 'model_error', message: String(error) } });

describe('the UI message stream', () => {
  describe('TurnChunks', () => {
    it('writes a turn as start, a text part, tool parts, finish; a restart resets the step', async () => {
      // Prepare
      const chunks = new TurnChunks('reply-1');
      const events: TurnEvent[] = [
        { type: 'delta', text: 'First ' },
        { type: 'delta', text: 'try' },
        { type: 'restart' },
        { type: 'delta', text: 'Second ' },
        { type: 'delta', text: 'try.' },
        { type: 'tool_call', toolCall: { id: 'c1', name: 'weather', arguments: '{"city":"Paris"}' } },
        done(true),
      ];

      // Act
      const written = [...chunks.begin(), ...events.flatMap((event) => chunks.of(event, errorBody))];
      const message = await messageOf(encodeChunks(written) + streamEnd);

      // Assess
      expect(written.map((chunk) => chunk.type)).toEqual([
        'start',
        'start-step',
        'text-start',
        'text-delta',
        'text-delta',
        'reset-step',
        'text-start',
        'text-delta',
        'text-delta',
        'text-end',
        'tool-input-available',
        'finish-step',
        'finish',
      ]);
      expect(written.at(-1)).toEqual({ type: 'finish', finishReason: 'tool-calls' });
      expect(message).toEqual({
        id: 'reply-1',
        role: 'assistant',
        parts: [
          { type: 'step-start' },
          { type: 'text', text: 'Second try.', state: 'done' },
          { type: 'tool-weather', toolCallId: 'c1', state: 'input-available', input: { city: 'Paris' } },
        ],
      });
    });

    it('ends a failed turn with an error chunk whose text is the contract error body', () => {
      // Prepare
      const chunks = new TurnChunks('reply-2');

      // Act
      const written = [
        ...chunks.of({ type: 'delta', text: 'partial' }, errorBody),
        ...chunks.of({ type: 'error', error: 'boom' }, errorBody),
      ];

      // Assess
      expect(written.slice(-2)).toEqual([
        { type: 'text-end', id: 'text-1' },
        { type: 'error', errorText: '{"error":{"code":"model_error","message":"boom"}}' },
      ]);
    });
  });

  describe('replayChunksOf', () => {
    it('rebuilds a message, every part kind, through the AI SDK stream reader', async () => {
      // Prepare
      const message: UIMessageJson = {
        id: 'a1',
        role: 'assistant',
        parts: [
          { type: 'step-start' },
          { type: 'reasoning', id: 'r1', text: 'Let me see.', state: 'done' },
          { type: 'text', text: 'Two tools:', state: 'done' },
          {
            type: 'tool-weather',
            toolCallId: 'c1',
            state: 'output-available',
            input: { city: 'Oslo' },
            output: { t: -3 },
          },
          {
            type: 'tool-weather',
            toolCallId: 'c2',
            state: 'output-error',
            input: { city: 'Rome' },
            errorText: 'down',
          },
          { type: 'tool-weather', toolCallId: 'c3', state: 'input-available', input: { city: 'Lima' } },
          {
            type: 'dynamic-tool',
            toolName: 'search',
            toolCallId: 'c4',
            state: 'output-available',
            input: { q: 1 },
            output: 'r',
          },
          { type: 'step-start' },
          { type: 'data-card', id: 'd1', data: { title: 'x' } },
          { type: 'source-url', sourceId: 's1', url: 'https://example.com', title: 'Example' },
          { type: 'file', mediaType: 'image/png', url: 'data:image/png;base64,AAAA' },
          { type: 'text', text: 'Done.', state: 'done' },
        ],
      };

      // Act
      const rebuilt = await messageOf(encodeChunks(replayChunksOf(message)));

      // Assess
      expect(rebuilt).toEqual(message);
    });

    it('is a full replay: with the continuation that follows it, the whole continued message', async () => {
      // Prepare: a stored message with the browser's tool output, then the continuation's live chunks.
      const continued: UIMessageJson = {
        id: 'a1',
        role: 'assistant',
        parts: [
          { type: 'step-start' },
          { type: 'tool-weather', toolCallId: 'c1', state: 'output-available', input: {}, output: 'rain' },
        ],
      };
      const live = new TurnChunks('a1');
      const liveChunks: OurChunk[] = [
        ...live.begin(),
        ...live.of({ type: 'delta', text: 'Umbrella.' }, errorBody),
        ...live.of(done(false), errorBody),
      ];

      // Act: what a page opened mid-stream receives (the record: replay prefix, then the live chunks).
      const rebuilt = await messageOf(
        encodeChunks([...replayChunksOf(continued), ...liveChunks]) + streamEnd,
      );

      // Assess
      expect(rebuilt).toEqual({
        ...continued,
        parts: [
          ...continued.parts,
          { type: 'step-start' },
          { type: 'text', text: 'Umbrella.', state: 'done' },
        ],
      });
    });
  });
});
