import { type MockInstance, vi } from 'vitest';
import type { ConversationStore } from '../../../lambda/memory/conversation-store.js';
import type { StoredMessage } from '../../../lambda/memory/message.js';
import type { AppendResult } from '../../../lambda/memory/store-types.js';

const methods = [
  'append',
  'replaceSuffix',
  'load',
  'loadContext',
  'getConversation',
  'deleteConversation',
  'findIdempotentResult',
  'patchConversation',
  'listConversations',
] as const;

export type StoreStub = { [K in (typeof methods)[number]]: MockInstance<ConversationStore[K]> } & {
  /** Every method stubbed afresh, rejecting until the test answers it (also after vi.restoreAllMocks). */
  reset(): void;
};

/**
 * Stubs every method of the handlers' store (the runtime singleton a handler module uses): a handler test says
 * what the store answers and checks what it was asked, so it asserts the HTTP mapping only; the store itself is
 * tested on DynamoDB Local. A method the test did not answer rejects, naming itself.
 */
export function stubStore(store: ConversationStore): StoreStub {
  const stub = {
    reset() {
      for (const name of methods) {
        const spy = vi.spyOn(store, name).mockReset();
        spy.mockRejectedValue(new Error(`the test did not stub store.${name}`));
        Object.assign(stub, { [name]: spy });
      }
    },
  } as StoreStub;
  stub.reset();
  return stub;
}

/** A message as the store returns it. */
export function stored(message: { role: string; content: unknown }, seq: number): StoredMessage {
  return {
    ...(message as StoredMessage),
    id: `01J0000000000000000000000${seq % 10}`,
    seq,
    createdAt: '2026-01-01T00:00:00.000Z',
  };
}

/** What the store answers an append (or a replay of one). */
export function appended(
  conversationId: string,
  messages: StoredMessage[],
  options: { replayed?: boolean; consumedCapacity?: number } = {},
): AppendResult {
  return {
    conversationId,
    version: messages.at(-1)?.seq ?? 0,
    messages,
    replayed: options.replayed ?? false,
    consumedCapacity: options.consumedCapacity ?? 0,
  };
}
