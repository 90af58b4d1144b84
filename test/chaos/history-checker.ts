import { errorStatus } from '../../lambda/memory/error-codes.js';
import {
  type Exchange,
  type History,
  type OperationRecord,
  type ReadRecord,
  tagOf,
  type WriteRecord,
} from './history.js';

/*
 * Checks a chaos run's history. Messages are known by their tags (unique per write), so every observation of
 * one (in an answer, a read, the final state) can be tied to the write that sent it. What is proven, per
 * conversation:
 *
 * - identity: each message has one seq and one id wherever it is seen, and each seq holds one message: nothing
 *   is duplicated, moved or reordered;
 * - batches: a write's messages sit at consecutive seqs in order; acknowledged writes' versions never overlap;
 * - acknowledged writes (2xx) are present, at their seqs, in every read that started after the answer, unless
 *   an edit that targeted them may have run; what an acknowledged edit removed never comes back;
 * - rejected writes (4xx) are never stored; writes whose answer was lost (5xx, no answer) are stored at most
 *   once: that is all identity allows;
 * - reads: any two reads agree on every message that existed at both their versions, reads at one version
 *   are equal, and a message disappears only if an edit targeted it;
 * - real-time order: an answer that came before another request started has the lower version, for writes
 *   and reads alike, and no read shows a write sent after it ended;
 * - per client, versions never go backwards;
 * - every answer has an expected status, and every error body the contract's shape.
 */

export interface Violation {
  readonly check: string;
  readonly detail: string;
}

/** A state of one conversation seen whole: a read's answer, or the final state. */
interface Snapshot {
  readonly source: string;
  readonly start: number;
  readonly end: number;
  readonly version: number;
  readonly messages: readonly Observed[];
}

/** A message seen somewhere. */
interface Observed {
  readonly tag: string;
  readonly seq: number;
  readonly id: string;
}

interface Acknowledged {
  readonly write: WriteRecord;
  readonly start: number;
  readonly end: number;
  readonly version: number;
  readonly messages: readonly Observed[];
  readonly removed: readonly Observed[];
  /** Answered as a replay of its key's earlier request (Idempotent-Replayed). */
  readonly replayed: boolean;
}

type Outcome = 'acknowledged' | 'rejected' | 'unknown';

/** Statuses a definite "not applied" comes with. */
const rejections = new Set([400, 404, 409, 413, 422]);
/** 410 (applied once, since edited away) only answers a keyed retry. */
const allowedStatuses: Record<OperationRecord['type'] | WriteRecord['kind'], readonly number[]> = {
  append: [200, 201, 409, 410, 503],
  turn: [200, 201, 409, 410, 503],
  edit: [200, 409, 410, 503],
  write: [],
  read: [200, 503],
};

export function checkHistory(history: History): Violation[] {
  const violations: Violation[] = [];
  const report = (check: string, detail: string) => violations.push({ check, detail });
  for (const record of history.records) checkAnswers(record, report);
  for (const conversation of history.conversations) checkConversation(history, conversation, report);
  checkClients(history, report);
  return violations;
}

function outcomeOf(write: WriteRecord): Outcome {
  const last = write.exchanges.at(-1);
  if (last?.status === undefined) return 'unknown';
  if (last.status >= 200 && last.status < 300) return 'acknowledged';
  return rejections.has(last.status) ? 'rejected' : 'unknown';
}

function observe(message: unknown): Observed {
  const { seq, id } = message as { seq?: unknown; id?: unknown };
  return { tag: tagOf(message), seq: Number(seq), id: String(id) };
}

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies as received, read field by field.
const bodyOf = (exchange: Exchange): any => exchange.body;

/** Every answer: an expected status, the contract's error shape, replays only for keyed writes. */
function checkAnswers(record: OperationRecord, report: (check: string, detail: string) => void): void {
  const exchanges = record.type === 'read' ? [record.exchange] : record.exchanges;
  const kind = record.type === 'read' ? 'read' : record.kind;
  for (const exchange of exchanges) {
    const { status } = exchange;
    if (status === undefined) continue;
    const where = `${record.op} (${kind} on ${record.conversation}, ${exchange.server})`;
    if (
      !allowedStatuses[kind].includes(status) ||
      (status === 410 && record.type === 'write' && !record.keyed)
    ) {
      report('status', `${where}: unexpected ${status} ${JSON.stringify(exchange.body)}`);
    }
    const body = bodyOf(exchange);
    if (status >= 400) {
      const error = body?.error;
      const code = error?.code as string | undefined;
      const shaped =
        typeof error === 'object' &&
        code !== undefined &&
        Object.hasOwn(errorStatus, code) &&
        errorStatus[code as keyof typeof errorStatus] === status &&
        typeof error.message === 'string' &&
        error.message.length > 0;
      if (!shaped) report('error shape', `${where}: ${status} ${JSON.stringify(body)}`);
      if ((status === 503 || status === 429) && !exchange.retryAfter) {
        report('error shape', `${where}: ${status} without Retry-After`);
      }
      continue;
    }
    if (record.type === 'write') {
      // Applied now: 201 (an edit: 200). A replay: 200 with Idempotent-Replayed, for a keyed write only.
      const replayed = exchange.replayed === true;
      const fresh = record.kind === 'edit' ? 200 : 201;
      if (replayed ? status !== 200 || !record.keyed : status !== fresh) {
        report(
          'status',
          `${where}: ${status}${replayed ? ' replayed' : ''} for ${record.keyed ? 'a keyed' : 'an unkeyed'} ${kind}`,
        );
      }
    }
    if (typeof body?.version !== 'number' || !Array.isArray(body?.messages)) {
      report('answer shape', `${where}: ${JSON.stringify(body)}`);
    }
  }
}

function checkConversation(
  history: History,
  conversation: string,
  reportAlways: (check: string, detail: string) => void,
): void {
  // A message found wrong is reported once per check (`subject`), not once per read that shows it.
  const reported = new Set<string>();
  const report = (check: string, detail: string, subject = detail) => {
    if (reported.has(`${check} ${subject}`)) return;
    reported.add(`${check} ${subject}`);
    reportAlways(check, detail);
  };
  const records = history.records.filter((record) => record.conversation === conversation);
  const writes = records.filter((record): record is WriteRecord => record.type === 'write');
  const reads = records.filter((record): record is ReadRecord => record.type === 'read');
  const outcome = new Map(writes.map((write) => [write, outcomeOf(write)]));
  const writerOf = new Map<string, WriteRecord>();
  for (const write of writes) for (const tag of write.adds) writerOf.set(tag, write);

  const acknowledged: Acknowledged[] = [];
  for (const write of writes) {
    if (outcome.get(write) !== 'acknowledged') continue;
    const last = write.exchanges.at(-1) as Exchange;
    const body = bodyOf(last);
    if (typeof body?.version !== 'number' || !Array.isArray(body?.messages)) continue;
    acknowledged.push({
      write,
      start: write.exchanges[0]?.start ?? last.start,
      end: last.end,
      version: body.version,
      messages: body.messages.map(observe),
      removed: Array.isArray(body.removed) ? body.removed.map(observe) : [],
      replayed: last.replayed === true,
    });
  }

  const snapshots: Snapshot[] = [];
  for (const read of reads) {
    const body = bodyOf(read.exchange);
    if (read.exchange.status !== 200 || !Array.isArray(body?.messages)) continue;
    snapshots.push({
      source: read.op,
      start: read.exchange.start,
      end: read.exchange.end,
      version: body.version,
      messages: body.messages.map(observe),
    });
  }
  const final = history.final[conversation];
  if (final) {
    snapshots.push({
      source: 'final state',
      start: history.finalAt,
      end: history.finalAt,
      version: final.version,
      messages: final.messages.map(observe),
    });
  }

  // An edit may have removed a message if it targeted it, was not refused, and started before `until`.
  const editsTargeting = new Map<string, WriteRecord[]>();
  for (const write of writes) {
    if (write.kind !== 'edit' || outcome.get(write) === 'rejected') continue;
    for (const tag of write.expectedSuffix)
      editsTargeting.set(tag, [...(editsTargeting.get(tag) ?? []), write]);
  }
  const mayHaveBeenRemoved = (tag: string, until: number) =>
    (editsTargeting.get(tag) ?? []).some((edit) => (edit.exchanges[0]?.start ?? Infinity) < until);
  const label = (snapshot: Snapshot) => `${snapshot.source} (version ${snapshot.version})`;

  // Identity: one seq and id per message, one message per seq, across every observation.
  const placeOf = new Map<string, Observed & { where: string }>();
  const tagAt = new Map<number, string>();
  const observations: Array<[string, readonly Observed[]]> = [
    ...acknowledged.map((ack): [string, readonly Observed[]] => [
      `answer to ${ack.write.op}`,
      [...ack.messages, ...ack.removed],
    ]),
    ...snapshots.map((snapshot): [string, readonly Observed[]] => [label(snapshot), snapshot.messages]),
  ];
  for (const [where, messages] of observations) {
    const inThis = new Set<string>();
    for (const message of messages) {
      if (inThis.has(message.tag)) {
        report('duplicate', `${conversation}: ${message.tag} twice in ${where}`, message.tag);
      }
      inThis.add(message.tag);
      const seen = placeOf.get(message.tag);
      if (seen && (seen.seq !== message.seq || seen.id !== message.id)) {
        report(
          'duplicate',
          `${conversation}: ${message.tag} at seq ${message.seq} (id ${message.id}) in ${where}, at seq ${seen.seq} (id ${seen.id}) in ${seen.where}`,
          `${message.tag} ${message.seq}`,
        );
      } else if (!seen) {
        placeOf.set(message.tag, { ...message, where });
      }
      const other = tagAt.get(message.seq);
      if (other !== undefined && other !== message.tag) {
        report(
          'order',
          `${conversation}: seq ${message.seq} holds ${message.tag} in ${where} and ${other} elsewhere`,
          `${message.seq} ${message.tag}`,
        );
      } else if (other === undefined) {
        tagAt.set(message.seq, message.tag);
      }
      if (!writerOf.has(message.tag)) {
        report('phantom', `${conversation}: ${message.tag} in ${where} was never sent`, message.tag);
      }
    }
  }

  // Batches: consecutive seqs in order; acknowledged answers carry what was sent, at their version.
  for (const write of writes) {
    const seqs = write.adds.map((tag) => placeOf.get(tag)?.seq);
    const first = seqs.findIndex((seq) => seq !== undefined);
    if (first >= 0) {
      const base = (seqs[first] as number) - first;
      if (seqs.some((seq, i) => seq !== undefined && seq !== base + i)) {
        report(
          'batch',
          `${conversation}: ${write.op} stored at seqs ${JSON.stringify(seqs)}, not consecutive`,
        );
      }
    }
    // 410: the key's write was applied, and an edit has removed what it wrote since.
    if (write.exchanges.at(-1)?.status === 410 && !write.adds.some((tag) => editsTargeting.has(tag))) {
      report('gone', `${conversation}: ${write.op} was answered 410, but no edit targeted what it wrote`);
    }
    if (outcome.get(write) === 'rejected' && first >= 0) {
      const last = write.exchanges.at(-1);
      report(
        'rejected but stored',
        `${conversation}: ${write.op} was answered ${last?.status} but is stored`,
      );
    }
  }
  for (const ack of acknowledged) {
    const tags = ack.messages.map((message) => message.tag);
    if (JSON.stringify(tags) !== JSON.stringify(ack.write.adds)) {
      report(
        'answer',
        `${conversation}: ${ack.write.op} answered ${JSON.stringify(tags)} for ${JSON.stringify(ack.write.adds)}`,
      );
    }
    // A replay answers what its key's edit wrote, and `removed: []` (the contract): what it removed is gone.
    const removed = ack.removed.map((message) => message.tag);
    const expectedRemoved = ack.replayed ? [] : ack.write.expectedSuffix;
    if (ack.write.kind === 'edit' && JSON.stringify(removed) !== JSON.stringify(expectedRemoved)) {
      report(
        'answer',
        `${conversation}: ${ack.write.op}${ack.replayed ? ' (replayed)' : ''} removed ${JSON.stringify(removed)} for ${JSON.stringify(expectedRemoved)}`,
      );
    }
    const seqs = ack.messages.map((message) => message.seq);
    if (
      seqs.some((seq, i) => seq !== (seqs[0] as number) + i) ||
      (seqs.length > 0 && seqs.at(-1) !== ack.version)
    ) {
      report(
        'batch',
        `${conversation}: ${ack.write.op} answered seqs ${JSON.stringify(seqs)} at version ${ack.version}`,
      );
    }
  }

  // Versions of acknowledged writes never overlap: each is one step of the conversation.
  const steps = acknowledged
    .map((ack) => ({ ack, from: ack.version - Math.max(ack.messages.length, 1) }))
    .sort((a, b) => a.ack.version - b.ack.version);
  for (let i = 1; i < steps.length; i++) {
    const previous = steps[i - 1];
    const step = steps[i];
    if (previous && step && step.from < previous.ack.version) {
      report(
        'version',
        `${conversation}: ${step.ack.write.op} (versions ${step.from + 1}-${step.ack.version}) overlaps ${previous.ack.write.op} (up to ${previous.ack.version})`,
      );
    }
  }

  // Acknowledged writes are in every later read; what an acknowledged edit removed stays removed.
  const tagsIn = new Map(
    snapshots.map((snapshot) => [snapshot, new Set(snapshot.messages.map((m) => m.tag))]),
  );
  for (const ack of acknowledged) {
    for (const snapshot of snapshots) {
      if (snapshot.start <= ack.end) continue;
      if (snapshot.version < ack.version) {
        report(
          'stale read',
          `${conversation}: ${label(snapshot)} started after ${ack.write.op} was answered with version ${ack.version}`,
        );
      }
      const present = tagsIn.get(snapshot) as Set<string>;
      for (const message of ack.messages) {
        if (!present.has(message.tag) && !mayHaveBeenRemoved(message.tag, snapshot.end)) {
          report(
            'lost',
            `${conversation}: ${message.tag} (acknowledged, seq ${message.seq}) missing from ${label(snapshot)}`,
            message.tag,
          );
        }
      }
      for (const message of ack.removed) {
        if (present.has(message.tag)) {
          report(
            'resurrected',
            `${conversation}: ${message.tag}, removed by ${ack.write.op}, in ${label(snapshot)}`,
            message.tag,
          );
        }
      }
    }
  }

  // Reads: sorted and within their version; equal at one version; later ones keep every earlier message
  // unless an edit targeted it, and earlier ones hold every message a later one has at their versions.
  for (const snapshot of snapshots) {
    const seqs = snapshot.messages.map((message) => message.seq);
    if (
      seqs.some((seq, i) => i > 0 && seq <= (seqs[i - 1] as number)) ||
      (seqs.at(-1) ?? 0) > snapshot.version
    ) {
      report('order', `${conversation}: ${label(snapshot)} has seqs ${JSON.stringify(seqs)}`);
    }
  }
  const byVersion = [...snapshots].sort((a, b) => a.version - b.version || a.start - b.start);
  for (let i = 1; i < byVersion.length; i++) {
    const earlier = byVersion[i - 1] as Snapshot;
    const later = byVersion[i] as Snapshot;
    const earlierTags = tagsIn.get(earlier) as Set<string>;
    const laterTags = tagsIn.get(later) as Set<string>;
    for (const message of later.messages) {
      if (message.seq <= earlier.version && !earlierTags.has(message.tag)) {
        report(
          'read',
          `${conversation}: ${label(earlier)} lacks ${message.tag} (seq ${message.seq}) that ${label(later)} has`,
        );
      }
    }
    for (const message of earlier.messages) {
      if (laterTags.has(message.tag)) continue;
      if (earlier.version === later.version || !mayHaveBeenRemoved(message.tag, later.end)) {
        report(
          'read',
          `${conversation}: ${message.tag} in ${label(earlier)} is gone from ${label(later)} without an edit`,
        );
      }
    }
  }

  // Real-time order.
  const acknowledgedSorted = [...acknowledged].sort((a, b) => a.end - b.end);
  for (const first of acknowledgedSorted) {
    for (const second of acknowledged) {
      if (first.end < second.start && first.version >= second.version) {
        report(
          'real-time order',
          `${conversation}: ${first.write.op} was answered (version ${first.version}) before ${second.write.op} was sent, which got version ${second.version}`,
        );
      }
    }
  }
  for (const snapshot of snapshots) {
    for (const ack of acknowledged) {
      if (snapshot.end < ack.start && ack.version <= snapshot.version) {
        report(
          'real-time order',
          `${conversation}: ${label(snapshot)} ended before ${ack.write.op} was sent, which got version ${ack.version}`,
        );
      }
    }
    for (const other of snapshots) {
      if (snapshot.end < other.start && snapshot.version > other.version) {
        report('real-time order', `${conversation}: ${label(snapshot)} ended before ${label(other)} started`);
      }
    }
    for (const message of snapshot.messages) {
      const writer = writerOf.get(message.tag);
      const sent = writer?.exchanges[0]?.start;
      if (sent !== undefined && snapshot.end < sent) {
        report(
          'real-time order',
          `${conversation}: ${label(snapshot)} shows ${message.tag}, sent after it ended`,
        );
      }
    }
  }
}

/** Per client and conversation, the versions its answers showed never go backwards. */
function checkClients(history: History, report: (check: string, detail: string) => void): void {
  const last = new Map<string, { version: number; op: string }>();
  for (const record of history.records) {
    const exchange = record.type === 'read' ? record.exchange : record.exchanges.at(-1);
    if (exchange?.status === undefined || exchange.status >= 300) continue;
    const version = bodyOf(exchange)?.version;
    if (typeof version !== 'number') continue;
    const key = `${record.client}/${record.conversation}`;
    const previous = last.get(key);
    if (previous && version < previous.version) {
      report(
        'client versions',
        `client ${record.client} on ${record.conversation}: version ${version} (${record.op}) after ${previous.version} (${previous.op})`,
      );
    }
    last.set(key, { version, op: record.op });
  }
}
