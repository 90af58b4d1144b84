import type { ChatModel, TokenUsage } from '../agent/chat-model.js';
import { argumentsText, contentText } from '../agent/message-content.js';
import { ModelError } from '../agent/model-errors.js';
import { OfflineModel } from '../agent/offline-model.js';
import type { StoredMessage } from '../memory/message.js';
import { OfflineSummarizer } from './offline-summarizer.js';

/** What a summary is made of: the summary so far (if any) and the messages it newly covers. */
export interface SummaryRequest {
  /** The previous summary's text; undefined for the first summary of a conversation. */
  readonly previous?: string;
  /** The messages after the previous summary, oldest first. */
  readonly messages: readonly StoredMessage[];
  /** The new summary's size, in estimated tokens (~4 characters each). */
  readonly maxTokens: number;
  readonly signal: AbortSignal;
}

/** Folds messages into a running summary. */
export interface Summarizer {
  /** Stored with each summary. */
  readonly modelId: string;
  summarize(request: SummaryRequest): Promise<{ readonly text: string; readonly usage?: TokenUsage }>;
}

/** The configured model as a summarizer; the offline model gets the deterministic one. */
export function summarizerFor(model: ChatModel): Summarizer {
  return model instanceof OfflineModel ? new OfflineSummarizer(model.modelId) : new ModelSummarizer(model);
}

const CHARS_PER_TOKEN = 4;

/**
 * The instructions of a summary. It replaces the conversation's older messages in every later turn's context, so
 * it must keep what a later turn may need (the user's own statements above all) and say nothing it was not told.
 */
export function summaryInstructions(maxTokens: number): string {
  const words = Math.max(50, Math.floor((maxTokens * 3) / 4));
  return [
    'You maintain the running summary of a conversation between a user and an AI assistant. The summary stands in',
    "for the older messages in the assistant's later turns, which will not see them again.",
    'Rewrite the previous summary (if any) together with the new messages into one new summary. Keep every fact the',
    'user stated about themselves, their names, preferences, constraints, decisions, commitments and open requests;',
    'what the assistant promised or concluded; tool results that still matter. Keep names, numbers, dates and',
    'identifiers exactly. Prefer the newest information when it contradicts older information, and say so. Drop',
    'greetings and chit-chat. Write plain prose or short bullet points in the third person ("The user ..."), with',
    `no preamble, at most ${words} words.`,
  ].join(' ');
}

/** A message as one transcript line: `[seq] role: text`, tool calls and results spelled out. */
export function transcriptLine(message: StoredMessage): string {
  const text = contentText(message.content).replace(/\s+/g, ' ').trim();
  const calls = (message.toolCalls ?? []).map((call) => `${call.name}(${argumentsText(call.arguments)})`);
  const role =
    message.role === 'tool' ? `tool result${message.name ? ` of ${message.name}` : ''}` : message.role;
  const said = [text, ...(calls.length > 0 ? [`[calls ${calls.join(', ')}]`] : [])].filter(Boolean).join(' ');
  return `[${message.seq}] ${role}: ${said}`;
}

/** A chat model asked, with summaryInstructions, to fold the new messages into the previous summary. */
export class ModelSummarizer implements Summarizer {
  readonly modelId: string;

  constructor(private readonly model: ChatModel) {
    this.modelId = model.modelId;
  }

  async summarize(request: SummaryRequest) {
    const input = [
      request.previous === undefined
        ? 'There is no previous summary.'
        : `Previous summary:\n${request.previous}`,
      `New messages:\n${request.messages.map(transcriptLine).join('\n')}`,
      'Write the new summary.',
    ].join('\n\n');
    const reply = await this.model.reply({
      system: summaryInstructions(request.maxTokens),
      history: [],
      messages: [{ role: 'user', content: input }],
      signal: request.signal,
    });
    const text = contentText(reply.content).trim();
    if (text.length === 0) {
      throw new ModelError('The model returned an empty summary.', { cause: new Error('empty summary') });
    }
    const usage = (reply.metadata as { usage?: TokenUsage } | undefined)?.usage;
    return { text: clip(text, request.maxTokens), ...(usage === undefined ? {} : { usage }) };
  }
}

/** A text within `maxTokens` estimated tokens: a model that writes more is cut at a word, with an ellipsis. */
export function clip(text: string, maxTokens: number): string {
  const maxChars = maxTokens * CHARS_PER_TOKEN;
  if (text.length <= maxChars) return text;
  const cut = text.slice(0, maxChars - 1);
  const space = cut.lastIndexOf(' ');
  return `${space > maxChars / 2 ? cut.slice(0, space) : cut}…`;
}
