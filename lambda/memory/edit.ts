import { partitionOf, requireSeq } from './arguments.js';
import { InvalidRequestError, SuffixMismatchError, VersionConflictError } from './errors.js';
import { liveVersion } from './head.js';
import { canonicalJson, findReplay, idempotencyKeyOf } from './idempotency.js';
import { newest } from './load.js';
import { limits, type MessageInput, parseMessages, type StoredMessage } from './message.js';
import { nowSeconds, type StoreContext } from './store-context.js';
import type { AppendOptions, EditResult } from './store-types.js';
import { commitAttempt, newWrite } from './write.js';

/**
 * ConversationStore.replaceSuffix: if the conversation ends with `expectedSuffix` now, removes those messages
 * and appends `replacement` in one conditional write on the version read; a lost race reads and compares again.
 */
export async function replaceSuffix(
  store: StoreContext,
  tenant: string,
  conversationId: string,
  edit: { expectedSuffix: readonly unknown[]; replacement: readonly unknown[] },
  options: AppendOptions = {},
): Promise<EditResult> {
  const pk = partitionOf(tenant, conversationId);
  const expected = parseMessages(edit.expectedSuffix, { allowEmpty: true });
  const replacement = parseMessages(edit.replacement, { allowEmpty: true });
  if (expected.length + replacement.length === 0) {
    throw new InvalidRequestError('An edit needs an expectedSuffix or a replacement.');
  }
  if (expected.length + replacement.length > limits.messagesPerAppend) {
    throw new InvalidRequestError(`An edit touches at most ${limits.messagesPerAppend} messages.`);
  }
  const { expectedVersion } = options;
  if (expectedVersion !== undefined) requireSeq('expectedVersion', expectedVersion);
  const idempotency = idempotencyKeyOf(options, () => ({
    edit: 'replace_suffix',
    expectedSuffix: expected.map(({ message }) => message),
    replacement: replacement.map(({ message }) => message),
    expectedVersion,
  }));
  const write = newWrite(store, { pk, conversationId, messages: replacement, idempotency });
  let capacity = 0;

  for (;;) {
    const [replay, window] = await Promise.all([
      idempotency ? findReplay(store, pk, conversationId, idempotency) : undefined,
      newest(store, pk, Math.max(expected.length, 1), Number.POSITIVE_INFINITY),
    ]);
    capacity += window.capacity;
    if (replay) return { ...replay, removed: [], consumedCapacity: capacity + replay.consumedCapacity };
    const version = liveVersion(window.head, nowSeconds(store));
    if (expectedVersion !== undefined && version !== expectedVersion) {
      throw new VersionConflictError(version);
    }
    const suffix = expected.length === 0 ? [] : window.messages.slice().reverse();
    const matches =
      suffix.length === expected.length &&
      suffix.every((stored, i) => sameMessage(stored, expected[i]?.message as MessageInput));
    if (!matches) throw new SuffixMismatchError(version);

    const remove = suffix.map((message) => message.seq);
    const outcome = await commitAttempt(store, write, {
      base: version,
      remove,
      known: { head: window.head },
    });
    if (outcome.done) {
      const result = outcome.result;
      return {
        ...result,
        removed: result.replayed ? [] : suffix,
        consumedCapacity: capacity + result.consumedCapacity,
      };
    }
    if (expectedVersion !== undefined && outcome.current !== expectedVersion) {
      throw new VersionConflictError(outcome.current, { cause: outcome.error });
    }
    await write.budget.afterFailedCondition(outcome.current !== version, outcome.error);
  }
}

/** Whether a stored message is the expected one: same JSON value, ignoring what the store added. */
function sameMessage(stored: StoredMessage, expected: MessageInput): boolean {
  const { seq: _seq, createdAt: _createdAt, id, ...rest } = stored;
  return canonicalJson(expected.id === undefined ? rest : { ...rest, id }) === canonicalJson(expected);
}
