import type { StoredMessage } from '../../client/conversation-memory.js';
import { renderContent } from './content-parts.js';
import { type Child, h, prettyJson, time } from './element.js';
import { pairToolCalls, type ToolPairing } from './tool-pairing.js';

/**
 * The loaded messages of one conversation, oldest at the top, as an ARIA feed of articles. Rendering is keyed by
 * seq: an article is built once and kept while its tool pairing is unchanged, so loading an older page or a live
 * message leaves the other articles, the reader's focus and scroll position alone. Keys: Page Up / Page Down move
 * between articles (the feed pattern), Home / End to the first and last loaded one.
 */
export class MessageFeed {
  readonly element: HTMLElement;
  private messages: StoredMessage[] = [];
  private readonly rendered = new Map<number, { element: HTMLElement; signature: string }>();
  private totalCount = 0;

  constructor(private readonly onReachTop: () => void) {
    this.element = h('div', { class: 'feed', role: 'feed', 'aria-label': 'Messages, oldest first' });
    this.element.addEventListener('keydown', (event) => this.onKeyDown(event));
    // Links between a call and its result move focus to the other article (and keep the address as it is).
    this.element.addEventListener('click', (event) => {
      const link = (event.target as HTMLElement).closest('[data-scroll-to]');
      const target = link && this.rendered.get(Number(link.getAttribute('data-scroll-to')))?.element;
      if (!target) return;
      event.preventDefault();
      this.focusArticle(target);
    });
  }

  get loaded(): readonly StoredMessage[] {
    return this.messages;
  }

  /** Replaces every message (a new conversation, or a reload after an edit). */
  reset(messages: readonly StoredMessage[], totalCount: number): void {
    this.messages = [];
    this.rendered.clear();
    this.element.replaceChildren();
    this.merge(messages, totalCount);
  }

  /** Adds messages (older or newer), by seq: a seq already shown is replaced. */
  merge(messages: readonly StoredMessage[], totalCount: number): void {
    const bySeq = new Map(this.messages.map((message) => [message.seq, message]));
    for (const message of messages) bySeq.set(message.seq, message);
    this.messages = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
    this.totalCount = Math.max(totalCount, this.messages.length);
    this.render();
  }

  setBusy(busy: boolean): void {
    this.element.setAttribute('aria-busy', String(busy));
  }

  private render(): void {
    const pairing = pairToolCalls(this.messages);
    const offset = this.totalCount - this.messages.length;
    const keep = new Set<number>();
    let previous: HTMLElement | undefined;
    for (const [index, message] of this.messages.entries()) {
      keep.add(message.seq);
      const signature = pairing.signature(message);
      let entry = this.rendered.get(message.seq);
      if (entry === undefined || entry.signature !== signature) {
        const element = renderMessage(message, pairing);
        if (entry) entry.element.replaceWith(element);
        entry = { element, signature };
        this.rendered.set(message.seq, entry);
      }
      entry.element.setAttribute('aria-posinset', String(offset + index + 1));
      entry.element.setAttribute('aria-setsize', String(this.totalCount));
      const expectedAt = previous ? previous.nextElementSibling : this.element.firstElementChild;
      if (expectedAt !== entry.element) {
        this.element.insertBefore(entry.element, previous ? previous.nextSibling : this.element.firstChild);
      }
      previous = entry.element;
    }
    for (const [seq, entry] of this.rendered) {
      if (keep.has(seq)) continue;
      entry.element.remove();
      this.rendered.delete(seq);
    }
    // One article is in the tab order (roving tabindex): the one focused last, else the newest.
    const articles = this.articles();
    if (!articles.some((article) => article.tabIndex === 0)) articles.at(-1)?.setAttribute('tabindex', '0');
  }

  private articles(): HTMLElement[] {
    return [...this.element.children] as HTMLElement[];
  }

  private onKeyDown(event: KeyboardEvent): void {
    const articles = this.articles();
    const current = (event.target as HTMLElement).closest('article');
    const index = current ? articles.indexOf(current as HTMLElement) : -1;
    let next: number | undefined;
    if (event.key === 'PageDown') next = index + 1;
    else if (event.key === 'PageUp') {
      if (index === 0) this.onReachTop();
      next = index - 1;
    } else if (event.key === 'Home' && event.target === current) next = 0;
    else if (event.key === 'End' && event.target === current) next = articles.length - 1;
    if (next === undefined) return;
    event.preventDefault();
    const target = articles[Math.max(0, Math.min(articles.length - 1, next))];
    if (target) this.focusArticle(target);
  }

  private focusArticle(target: HTMLElement): void {
    for (const article of this.articles()) article.setAttribute('tabindex', article === target ? '0' : '-1');
    target.focus();
  }
}

function renderMessage(message: StoredMessage, pairing: ToolPairing): HTMLElement {
  const headingId = `message-${message.seq}-heading`;
  return h(
    'article',
    {
      id: `message-${message.seq}`,
      class: `message role-${message.role}`,
      tabindex: '-1',
      'aria-labelledby': headingId,
      'data-seq': message.seq,
    },
    h(
      'header',
      { class: 'message-header' },
      h(
        'h3',
        { id: headingId },
        h('span', { class: 'seq' }, `#${message.seq}`),
        ' ',
        h('span', { class: 'role' }, message.role),
        message.name ? h('span', { class: 'name' }, ` ${message.name}`) : null,
      ),
      time(message.createdAt),
      h('code', { class: 'message-id', title: 'Message id' }, message.id),
    ),
    // A reply that only calls tools has empty text: its calls say it all.
    message.content === '' && (message.toolCalls?.length ?? 0) > 0 ? null : renderContent(message.content),
    renderToolCalls(message, pairing),
    renderToolResultOf(message, pairing),
    message.metadata === undefined
      ? null
      : h(
          'details',
          { class: 'metadata', open: true },
          h('summary', {}, 'Metadata'),
          h('pre', { class: 'json' }, prettyJson(message.metadata)),
        ),
    h(
      'details',
      { class: 'stored' },
      h('summary', {}, 'Stored JSON'),
      h('pre', { class: 'json' }, prettyJson(message)),
    ),
  );
}

function renderToolCalls(message: StoredMessage, pairing: ToolPairing): Child {
  const calls = message.toolCalls ?? [];
  if (calls.length === 0) return null;
  const pairs = pairing.callsOf(message);
  return h(
    'ol',
    { class: 'tool-calls', 'aria-label': 'Tool calls' },
    ...calls.map((call, index) => {
      const results = pairs[index]?.results ?? [];
      return h(
        'li',
        { class: 'tool-call', 'data-tool-call-id': call.id },
        h(
          'p',
          { class: 'tool-call-title' },
          'Calls ',
          h('strong', {}, call.name),
          ' ',
          h('code', {}, call.id),
        ),
        h('pre', { class: 'json arguments' }, argumentsText(call.arguments)),
        results.length === 0
          ? h('p', { class: 'tool-result missing' }, 'No result stored for this call.')
          : results.map((result, resultIndex) =>
              h(
                'div',
                { class: 'tool-result', 'data-result-seq': result.seq },
                h(
                  'p',
                  { class: 'tool-result-title' },
                  resultIndex === 0 ? 'Result ' : 'Another result ',
                  h('a', { href: `#message-${result.seq}`, 'data-scroll-to': result.seq }, `#${result.seq}`),
                  result.metadata?.isError === true
                    ? h('strong', { class: 'is-error' }, ' (tool error)')
                    : null,
                ),
                renderContent(result.content),
              ),
            ),
      );
    }),
  );
}

function renderToolResultOf(message: StoredMessage, pairing: ToolPairing): Child {
  const result = pairing.resultOf(message);
  if (result === undefined) return null;
  if (result.callMessage === undefined) {
    return h(
      'p',
      { class: 'answers missing' },
      'Answers call ',
      h('code', {}, message.toolCallId ?? ''),
      ', which is not among the loaded messages (older, or never stored).',
    );
  }
  return h(
    'p',
    { class: 'answers' },
    'Answers ',
    h('strong', {}, result.call?.name ?? 'a call'),
    ' ',
    h('code', {}, message.toolCallId ?? ''),
    ' of ',
    h(
      'a',
      { href: `#message-${result.callMessage.seq}`, 'data-scroll-to': result.callMessage.seq },
      `#${result.callMessage.seq}`,
    ),
  );
}

function argumentsText(args: unknown): string {
  if (typeof args !== 'string') return prettyJson(args);
  try {
    return prettyJson(JSON.parse(args));
  } catch {
    return args;
  }
}
