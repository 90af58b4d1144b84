import { contentText } from '../agent/message-content.js';
import type { StoredMessage } from '../memory/message.js';
import type { Summarizer, SummaryRequest } from './summarizer.js';

/*
 * The offline model's summary, for `npm start` and tests: deterministic, no network. It keeps what the user stated,
 * oldest first, one line each:
 *
 *   The user said:
 *   - [3] My name is Ada and I live in Lisbon.
 *   - [7] I prefer trains to planes.
 *   (41 later statements not kept: the summary is full.)
 *
 * A statement is a user message's text that is not a question (does not end with "?"), whitespace collapsed, at most
 * 200 characters; one already kept is not repeated; once the next one does not fit in `maxTokens` (~4 characters a
 * token) it is only counted. Folding reads that state back from the previous summary, so summarizing in any number
 * of steps gives the same text as summarizing once.
 */

const HEADER = 'The user said:';
const STATEMENT_CHARS = 200;
const TRAILER = /^\((\d+) later statements? not kept: the summary is full\.\)$/;

export class OfflineSummarizer implements Summarizer {
  constructor(readonly modelId = 'offline') {}

  async summarize(request: SummaryRequest) {
    const text = offlineSummary(request.previous, request.messages, request.maxTokens);
    const inputTokens = Math.ceil(
      ((request.previous?.length ?? 0) +
        request.messages.reduce((sum, m) => sum + contentText(m.content).length, 0)) /
        4,
    );
    const outputTokens = Math.ceil(text.length / 4);
    return { text, usage: { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens } };
  }
}

/** The offline summary of `messages` folded into `previous` (an offline summary, or undefined). */
export function offlineSummary(
  previous: string | undefined,
  messages: readonly StoredMessage[],
  maxTokens: number,
): string {
  const maxChars = maxTokens * 4;
  const kept: string[] = [];
  let dropped = 0;
  for (const line of (previous ?? '').split('\n')) {
    if (line.startsWith('- ')) kept.push(line);
    const trailer = TRAILER.exec(line);
    if (trailer) dropped = Number(trailer[1]);
  }
  const said = new Set(kept.map((line) => line.replace(/^- \[\d+\] /, '')));
  let length = HEADER.length + kept.reduce((sum, line) => sum + line.length + 1, 0);
  for (const message of messages) {
    if (message.role !== 'user') continue;
    let statement = contentText(message.content).replace(/\s+/g, ' ').trim();
    if (statement.length === 0 || statement.endsWith('?')) continue;
    if (statement.length > STATEMENT_CHARS) statement = `${statement.slice(0, STATEMENT_CHARS - 1)}…`;
    if (said.has(statement)) continue;
    const line = `- [${message.seq}] ${statement}`;
    // The trailer needs room too, whenever something is dropped.
    if (dropped === 0 && length + line.length + 1 + trailerOf(1).length + 1 <= maxChars) {
      kept.push(line);
      said.add(statement);
      length += line.length + 1;
    } else {
      dropped++;
    }
  }
  if (kept.length === 0 && dropped === 0) return 'The user has stated nothing yet.';
  return [HEADER, ...kept, ...(dropped > 0 ? [trailerOf(dropped)] : [])].join('\n');
}

function trailerOf(count: number): string {
  return `(${count} later statement${count === 1 ? '' : 's'} not kept: the summary is full.)`;
}
