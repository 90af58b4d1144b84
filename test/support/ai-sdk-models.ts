import type { LanguageModelV4StreamPart } from '@ai-sdk/provider';
import { MockLanguageModelV4, simulateReadableStream } from 'ai/test';

/*
 * The AI SDK's own mock language model (`ai/test`), answering scripted steps, for tests that run streamText.
 */

const usage = {
  inputTokens: { total: 3, noCache: 3, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 5, text: 5, reasoning: undefined },
};

/** A model step: its text (streamed word by word) and tool calls. */
export type Step = {
  readonly text?: string;
  readonly calls?: ReadonlyArray<{ name: string; input: object }>;
};

/** The AI SDK's own mock model, answering `steps` in order, `delayMs` between chunks. */
export function mockModel(steps: readonly Step[], delayMs: number | null = null): MockLanguageModelV4 {
  let call = 0;
  return new MockLanguageModelV4({
    doStream: async () => {
      const step = steps[call++] ?? { text: 'no more steps' };
      const words = step.text?.match(/\S+\s*/g) ?? [];
      const chunks: LanguageModelV4StreamPart[] = [
        { type: 'stream-start', warnings: [] },
        ...(words.length === 0
          ? []
          : [
              { type: 'text-start' as const, id: 't' },
              ...words.map((delta) => ({ type: 'text-delta' as const, id: 't', delta })),
              { type: 'text-end' as const, id: 't' },
            ]),
        ...(step.calls ?? []).map((toolCall, index) => ({
          type: 'tool-call' as const,
          toolCallId: `call-${call}-${index}`,
          toolName: toolCall.name,
          input: JSON.stringify(toolCall.input),
        })),
        {
          type: 'finish',
          finishReason: { unified: step.calls?.length ? 'tool-calls' : 'stop', raw: undefined },
          usage,
        },
      ];
      return {
        stream: simulateReadableStream({ chunks, chunkDelayInMs: delayMs, initialDelayInMs: delayMs }),
      };
    },
  });
}

/** The prompt the model was given in its first call, as role: text lines (what it "sees"). */
export function promptOf(model: MockLanguageModelV4): string[] {
  const prompt = model.doStreamCalls[0]?.prompt ?? [];
  return prompt.map((message) => {
    const content =
      typeof message.content === 'string'
        ? message.content
        : message.content
            .map((part) =>
              part.type === 'text'
                ? part.text
                : part.type === 'tool-result'
                  ? `[result ${JSON.stringify(part.output)}]`
                  : `[${part.type}]`,
            )
            .join(' ');
    return `${message.role}: ${content}`;
  });
}
