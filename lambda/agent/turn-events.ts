import { modelMessagesOf } from '../chat/ui-message.js';
import type { ToolCall } from './chat-model.js';
import { contentText } from './message-content.js';
import { type RunTurnInput, runTurn, type TurnResult } from './run-turn.js';

/**
 * A streamed turn, as typed events for any wire format (the SSE writer of lambda/http, later others):
 * - `delta`: text of the reply as the model produces it; the deltas since the last `restart` concatenate to the
 *   stored reply's text;
 * - `tool_call`: one tool call of the reply, once complete;
 * - `restart`: everything since the previous `restart` is void (a lost race regenerated the reply, or the
 *   stored reply of a concurrent retry with the same Idempotency-Key won): the reply follows anew;
 * - then exactly one of `done` (the committed turn, as the non-streaming answer has it) and `error`.
 * A turn that produced no events of its own (a replay) reports the stored reply as one delta and its tool calls.
 */
export type TurnEvent =
  | { readonly type: 'delta'; readonly text: string }
  | { readonly type: 'tool_call'; readonly toolCall: ToolCall }
  | { readonly type: 'restart' }
  | { readonly type: 'done'; readonly result: TurnResult }
  | { readonly type: 'error'; readonly error: unknown };

/**
 * Runs the turn and yields its events. The turn runs to its end whether or not the events are read, so a client
 * that goes away does not stop the commit; in a Lambda function, read them to the end (the invocation must not
 * finish before the turn does).
 */
export async function* streamTurn(
  input: Omit<RunTurnInput, 'onEvent'>,
): AsyncGenerator<TurnEvent, void, undefined> {
  const queue: TurnEvent[] = [];
  let wake: (() => void) | undefined;
  const push = (event: TurnEvent) => {
    queue.push(event);
    wake?.();
  };
  let text = '';
  let callIds: string[] = [];

  void runTurn({
    ...input,
    onEvent: (event) => {
      if (event.type === 'text') {
        text += event.text;
        push({ type: 'delta', text: event.text });
      } else if (event.type === 'tool_call') {
        callIds.push(event.toolCall.id);
        push(event);
      } else {
        text = '';
        callIds = [];
        push(event);
      }
    },
  }).then(
    (result) => {
      // The model's last answer as stored (for a UI message: the text and tool calls of its last step).
      const answer = modelMessagesOf([result.reply]).findLast((message) => message.role === 'assistant');
      const stored = contentText(answer?.content ?? '');
      const calls = answer?.toolCalls ?? [];
      const same = stored === text && calls.map((call) => call.id).join('\n') === callIds.join('\n');
      if (!same) {
        if (text.length > 0 || callIds.length > 0) push({ type: 'restart' });
        if (stored.length > 0) push({ type: 'delta', text: stored });
        for (const toolCall of calls) push({ type: 'tool_call', toolCall });
      }
      push({ type: 'done', result });
    },
    (error: unknown) => push({ type: 'error', error }),
  );

  for (;;) {
    const event = queue.shift();
    if (event === undefined) {
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = undefined;
      continue;
    }
    yield event;
    if (event.type === 'done' || event.type === 'error') return;
  }
}
