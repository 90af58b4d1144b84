import type { StoredMessage } from '../../client/conversation-memory.js';

/*
 * Tool calls and their results, across the loaded messages. Every stored message stays its own entry in seq order
 * (the order is what a debugger needs to see); the pairing only adds cross-references: a call shows the result
 * that answers it, a result names the call it answers. What does not pair is itself worth seeing: a call without
 * a result (the conversation awaits tool results), a result whose call is not loaded (older) or exists nowhere,
 * a call answered twice.
 */

export interface CallPairing {
  readonly callId: string;
  /** The tool messages answering this call, in seq order (normally one). */
  readonly results: readonly StoredMessage[];
}

export interface ResultPairing {
  /** The assistant message holding the call, when it is loaded. */
  readonly callMessage: StoredMessage | undefined;
  readonly call: NonNullable<StoredMessage['toolCalls']>[number] | undefined;
}

export interface ToolPairing {
  callsOf(message: StoredMessage): readonly CallPairing[];
  resultOf(message: StoredMessage): ResultPairing | undefined;
  /** What of a message's pairing is shown: equal signatures render equally (the feed reuses the element). */
  signature(message: StoredMessage): string;
}

/** Pairs the calls and results among `messages` (ascending by seq). */
export function pairToolCalls(messages: readonly StoredMessage[]): ToolPairing {
  const calls = new Map<
    string,
    { message: StoredMessage; call: NonNullable<StoredMessage['toolCalls']>[number] }
  >();
  const results = new Map<string, StoredMessage[]>();
  for (const message of messages) {
    for (const call of message.toolCalls ?? [])
      if (!calls.has(call.id)) calls.set(call.id, { message, call });
    if (message.role === 'tool' && typeof message.toolCallId === 'string') {
      const list = results.get(message.toolCallId) ?? [];
      list.push(message);
      results.set(message.toolCallId, list);
    }
  }
  const callsOf = (message: StoredMessage): CallPairing[] =>
    (message.toolCalls ?? []).map((call) => ({ callId: call.id, results: results.get(call.id) ?? [] }));
  const resultOf = (message: StoredMessage): ResultPairing | undefined => {
    if (message.role !== 'tool' || typeof message.toolCallId !== 'string') return undefined;
    const found = calls.get(message.toolCallId);
    return { callMessage: found?.message, call: found?.call };
  };
  return {
    callsOf,
    resultOf,
    signature(message) {
      const answered = callsOf(message).map((pairing) =>
        pairing.results.map((result) => result.seq).join('+'),
      );
      return `${answered.join(',')}|${resultOf(message)?.callMessage?.seq ?? ''}`;
    },
  };
}
