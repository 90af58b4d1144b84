import { partitionOf, requireSeq } from './arguments.js';
import { parseUploadId } from './attachments/attachment-keys.js';
import { garbageMarker, prepareMessages } from './attachments/attachment-writes.js';
import { recordsOf } from './attachments/loaded-records.js';
import { bytesOf, getAt, setAt, sha } from './attachments/offload.js';
import { isReferencePart, presentMessages } from './attachments/presentation.js';
import { InvalidRequestError, SuffixMismatchError, VersionConflictError } from './errors.js';
import { isValidSummary, liveVersion } from './head.js';
import { canonicalJson, findReplay, idempotencyKeyOf } from './idempotency.js';
import { newest } from './load.js';
import { limits, type MessageInput, parseMessages, type StoredMessage } from './message.js';
import type { SummaryGuard } from './requests.js';
import { nowSeconds, type StoreContext } from './store-context.js';
import type { EditOptions, EditResult } from './store-types.js';
import { commitAttempt, newWrite, settleAttachments } from './write.js';

/**
 * ConversationStore.replaceSuffix: if the conversation ends with `expectedSuffix` now, removes those messages
 * and appends `replacement` in one conditional write on the version read; a lost race reads and compares again.
 * Removing messages the summary covers removes the summary in the same write.
 */
export async function replaceSuffix(
  store: StoreContext,
  tenant: string,
  conversationId: string,
  edit: { expectedSuffix: readonly unknown[]; replacement: readonly unknown[] },
  options: EditOptions = {},
): Promise<EditResult> {
  const pk = partitionOf(tenant, conversationId);
  const largest = store.attachments ? limits.contentRequestBytes : limits.messageBytes;
  const expected = parseMessages(edit.expectedSuffix, {
    allowEmpty: true,
    maxMessageBytes: largest,
    maxTotalBytes: Number.POSITIVE_INFINITY,
  });
  const replacement = prepareMessages(store, edit.replacement, { allowEmpty: true });
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
    replacement: replacement.map(({ input }) => input),
    expectedVersion,
  }));
  const where = { pk, tenant, conversationId };
  const write = await newWrite(store, { ...where, messages: replacement, idempotency });
  const view = options.attachments ?? 'inline';
  const present = (messages: StoredMessage[]) =>
    presentMessages(store, { tenant, conversationId }, messages, view, write.staged?.known);
  let capacity = 0;

  return settleAttachments(store, write, async () => {
    for (;;) {
      const [replay, window] = await Promise.all([
        idempotency ? findReplay(store, pk, conversationId, idempotency) : undefined,
        newest(store, pk, Math.max(expected.length, 1), Number.POSITIVE_INFINITY),
      ]);
      capacity += window.capacity;
      if (replay) {
        const messages = await present(replay.messages);
        return { ...replay, messages, removed: [], consumedCapacity: capacity + replay.consumedCapacity };
      }
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
      write.garbage = garbageMarker(
        store,
        where,
        { id: `${write.op.id}-g`, dueSeconds: Math.floor(write.op.nowMs / 1000) },
        suffix.map(recordsOf),
      );
      const outcome = await commitAttempt(store, write, {
        base: version,
        remove,
        known: { head: window.head },
        ...(remove.length === 0 ? {} : { summary: summaryGuard(window, remove, nowSeconds(store)) }),
      });
      if (outcome.done) {
        const result = outcome.result;
        return {
          ...result,
          messages: await present(result.messages),
          // Before the sweep of their objects, which follows.
          removed: result.replayed ? [] : await present(suffix),
          consumedCapacity: capacity + result.consumedCapacity,
        };
      }
      if (expectedVersion !== undefined && outcome.current !== expectedVersion) {
        throw new VersionConflictError(outcome.current, { cause: outcome.error });
      }
      await write.budget.afterFailedCondition(outcome.current !== version, outcome.error);
    }
  });
}

/** An edit that removes messages deletes the summary if it covers one of them (it would tell what is gone). */
function summaryGuard(
  window: Awaited<ReturnType<typeof newest>>,
  remove: readonly number[],
  nowSec: number,
): SummaryGuard {
  const { summary, head } = window;
  const lowest = Math.min(...remove);
  return {
    op: summary?.op,
    remove: summary !== undefined && isValidSummary(summary, head, nowSec) && lowest <= summary.throughSeq,
  };
}

/**
 * Whether a stored message is the expected one: same JSON value, ignoring what the store added. A value the
 * stored message moved to S3 matches by its SHA-256 (nothing is read back), or by the attachment part a read gave
 * for it.
 */
function sameMessage(stored: StoredMessage, expected: MessageInput): boolean {
  const { seq: _seq, createdAt: _createdAt, id, ...rest } = stored;
  let candidate: unknown = expected;
  const records = recordsOf(stored);
  if (records !== undefined) {
    candidate = structuredClone(expected);
    for (const record of records) {
      const place = record.p.length === 1 ? ['content'] : record.p.slice(0, 2);
      const given = getAt(candidate, place);
      const reference = Array.isArray(given) && record.p.length === 1 ? given[0] : given;
      if (
        (isReferencePart(reference) && reference.attachment.id === record.i) ||
        (record.e === 'upload' && isUploadOf(reference, record.i))
      ) {
        setAt(candidate, place, structuredClone(getAt(stored, place)));
        continue;
      }
      const bytes = record.e === 'upload' ? undefined : bytesOf(record, getAt(candidate, record.p));
      if (bytes === undefined || sha(bytes) !== record.h) return false;
      setAt(candidate, record.p, null);
    }
  }
  return canonicalJson(expected.id === undefined ? rest : { ...rest, id }) === canonicalJson(candidate);
}

/** Whether a part is the upload reference a message was sent with, for the upload that became object `id`. */
function isUploadOf(part: unknown, id: string): boolean {
  const uploadId = (part as { attachment?: { uploadId?: unknown } } | null)?.attachment?.uploadId;
  return typeof uploadId === 'string' && id.endsWith(`/u-${parseUploadId(uploadId)?.nonce}`);
}
