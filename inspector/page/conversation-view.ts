import type { ConversationInfo, ConversationSummary } from '../../client/conversation-memory.js';
import type { InspectorApi } from './api.js';
import { type Child, h, prettyJson, replaceChildren, time } from './element.js';
import { renderError } from './error-view.js';
import { afterForwardRead, compareHead, type ShownState } from './live-view.js';
import { MessageFeed } from './message-feed.js';

/** How often the live view reads the head (only while the page is visible). */
export const livePollMs = 2000;
/** The live view fetches at most this many pages of new messages; beyond, it reloads the newest page. */
const maxLivePages = 20;

const knownInfoFields = new Set([
  'conversationId',
  'version',
  'messageCount',
  'createdAt',
  'updatedAt',
  'expiresAt',
]);

export interface ConversationViewEvents {
  /** The conversation was deleted through this page. */
  readonly onDeleted: (id: string) => void;
  /** A conversation was opened and exists. */
  readonly onOpened: (id: string) => void;
}

/**
 * One conversation: its head (version, counts, dates, retention), its summaries, and its messages newest page first,
 * with older pages on request, new messages as they are written, and delete behind a confirmation.
 */
export class ConversationView {
  readonly element: HTMLElement;
  private readonly feed: MessageFeed;
  private readonly olderButton: HTMLButtonElement;
  private readonly rangeText: HTMLElement;
  private readonly liveButton: HTMLButtonElement;
  private readonly liveStatus: HTMLElement;
  private readonly notice: HTMLElement;
  private readonly facts: HTMLElement;
  private readonly summaries: HTMLElement;
  private readonly dialog: HTMLDialogElement;
  private readonly dialogText: HTMLElement;
  private readonly dialogError: HTMLElement;

  private id: string | undefined;
  private info: ConversationInfo | undefined;
  private shown: ShownState = { version: 0, messageCount: undefined };
  private nextBefore: number | null = null;
  private live = true;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private controller = new AbortController();
  /** Bumped by every open: answers for an earlier one are dropped. */
  private generation = 0;
  private loadingOlder = false;

  constructor(
    private readonly api: () => InspectorApi,
    private readonly events: ConversationViewEvents,
  ) {
    this.element = h('section', { class: 'conversation', 'aria-labelledby': 'conversation-title' });
    this.feed = new MessageFeed(() => void this.loadOlder());
    this.olderButton = h(
      'button',
      { type: 'button', class: 'older', onclick: () => void this.loadOlder() },
      'Load older messages',
    );
    this.rangeText = h('p', { class: 'range', 'aria-live': 'polite' });
    this.liveButton = h(
      'button',
      { type: 'button', 'aria-pressed': 'true', onclick: () => this.setLive(!this.live) },
      'Live',
    );
    this.liveStatus = h('p', { class: 'live-status', role: 'status' });
    this.notice = h('div', { class: 'notice', role: 'status' });
    this.facts = h('dl', { class: 'facts' });
    this.summaries = h('section', { class: 'summaries', 'aria-labelledby': 'summaries-title' });
    this.dialogText = h('p', { id: 'delete-description' });
    this.dialogError = h('div', {});
    this.dialog = this.deleteDialog();
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden && this.live && this.id !== undefined) this.schedulePoll(0);
    });
    this.showEmpty();
  }

  get conversationId(): string | undefined {
    return this.id;
  }

  /** Shows `id` (or the empty state): the head and the newest page, then live updates. */
  async open(id: string | undefined, notice?: string): Promise<void> {
    this.stop();
    const generation = ++this.generation;
    this.controller = new AbortController();
    const { signal } = this.controller;
    this.id = id;
    if (id === undefined) {
      this.showEmpty();
      return;
    }
    replaceChildren(
      this.element,
      this.titleRow(id),
      h('p', { class: 'loading', role: 'status' }, `Loading conversation ${id}…`),
    );
    try {
      const api = this.api();
      // The head and the newest page, read at once; taken as one state only when they agree on the version.
      let [info, page] = await Promise.all([api.getConversation(id, signal), api.loadPage(id, {}, signal)]);
      for (let attempt = 1; attempt < 3 && info !== undefined && info.version !== page.version; attempt++) {
        [info, page] = await Promise.all([api.getConversation(id, signal), api.loadPage(id, {}, signal)]);
      }
      if (generation !== this.generation) return;
      if (info === undefined) {
        this.showMissing(id);
        return;
      }
      this.info = info;
      this.shown = {
        version: page.version,
        messageCount: info.version === page.version ? info.messageCount : undefined,
      };
      this.nextBefore = page.nextBefore ?? null;
      this.feed.reset(page.messages, info.messageCount);
      this.showConversation(id);
      this.setNotice(notice);
      performance.mark('inspector:first-page', {
        detail: { conversationId: id, messages: page.messages.length },
      });
      this.events.onOpened(id);
      if (this.live) this.schedulePoll(livePollMs);
      void this.loadSummaries(id, generation, signal);
    } catch (error) {
      if (generation !== this.generation || signal.aborted) return;
      replaceChildren(
        this.element,
        this.titleRow(id),
        renderError('Loading the conversation', error, () => void this.open(id)),
      );
    }
  }

  /** Stops the live view and drops answers still on their way. */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.controller.abort();
  }

  private showEmpty(): void {
    replaceChildren(
      this.element,
      h('h2', { id: 'conversation-title' }, 'No conversation open'),
      h(
        'p',
        { class: 'empty-state' },
        'Open a conversation by its id (or pick one from the list) to see what is stored under it: every message with its seq, id, role and time, content parts, tool calls next to their results, and metadata.',
      ),
    );
  }

  private showMissing(id: string): void {
    replaceChildren(
      this.element,
      this.titleRow(id),
      h(
        'div',
        { class: 'empty-state', role: 'status' },
        h(
          'p',
          {},
          'Nothing is stored under this id for this tenant: it was never written, or it was deleted or expired.',
        ),
        h('p', {}, 'Ids are case-sensitive, and each tenant has its own conversations.'),
        h('button', { type: 'button', onclick: () => void this.open(id) }, 'Check again'),
      ),
    );
  }

  private titleRow(id: string): HTMLElement {
    return h('h2', { id: 'conversation-title' }, 'Conversation ', h('code', {}, id));
  }

  private showConversation(id: string): void {
    this.renderFacts();
    this.updateRange();
    this.liveStatus.textContent = this.live
      ? 'Live: new messages appear as they are written.'
      : 'Live view off.';
    replaceChildren(
      this.element,
      h(
        'header',
        { class: 'conversation-header' },
        this.titleRow(id),
        this.facts,
        h(
          'div',
          { class: 'toolbar', role: 'toolbar', 'aria-label': 'Conversation actions' },
          this.liveButton,
          h('button', { type: 'button', onclick: () => void this.open(id) }, 'Reload'),
          h('button', { type: 'button', class: 'danger', onclick: () => this.confirmDelete() }, 'Delete…'),
        ),
        this.liveStatus,
      ),
      this.notice,
      this.summaries,
      h('div', { class: 'older-row' }, this.olderButton, this.rangeText),
      this.feed.loaded.length === 0
        ? h('p', { class: 'empty-state' }, 'This conversation has no messages (an edit removed them all).')
        : null,
      this.feed.element,
    );
  }

  private renderFacts(): void {
    const info = this.info;
    if (!info) return;
    const rows: [string, Child][] = [
      ['Version', String(info.version)],
      ['Messages', info.messageCount.toLocaleString()],
      ['Created', time(info.createdAt)],
      ['Updated', time(info.updatedAt)],
      [
        'Retention',
        info.expiresAt
          ? h('span', {}, 'Expires ', time(info.expiresAt), ' unless written again')
          : 'Kept until deleted (no retention)',
      ],
    ];
    // Fields the head gains later (issue 16's title and metadata) are shown as they come.
    for (const [name, value] of Object.entries(info)) {
      if (knownInfoFields.has(name)) continue;
      rows.push([name, typeof value === 'string' ? value : h('pre', { class: 'json' }, prettyJson(value))]);
    }
    replaceChildren(
      this.facts,
      ...rows.map(([name, value]) => h('div', {}, h('dt', {}, name), h('dd', {}, value))),
    );
  }

  private updateRange(): void {
    const loaded = this.feed.loaded;
    const total = this.info?.messageCount ?? loaded.length;
    const first = loaded[0]?.seq;
    const last = loaded.at(-1)?.seq;
    this.rangeText.textContent =
      first === undefined
        ? ''
        : `Showing ${loaded.length.toLocaleString()} of ${total.toLocaleString()} messages (#${first}–#${last}).`;
    this.olderButton.hidden = this.nextBefore === null;
  }

  private async loadOlder(): Promise<void> {
    const id = this.id;
    if (id === undefined || this.nextBefore === null || this.loadingOlder) return;
    const generation = this.generation;
    this.loadingOlder = true;
    this.olderButton.disabled = true;
    this.olderButton.textContent = 'Loading older messages…';
    this.feed.setBusy(true);
    try {
      const page = await this.api().loadPage(id, { before: this.nextBefore }, this.controller.signal);
      if (generation !== this.generation) return;
      this.nextBefore = page.nextBefore ?? null;
      this.feed.merge(page.messages, this.info?.messageCount ?? 0);
      this.setNotice(undefined);
    } catch (error) {
      if (generation === this.generation) {
        this.setNotice(renderError('Loading older messages', error, () => void this.loadOlder()));
      }
    } finally {
      this.loadingOlder = false;
      this.feed.setBusy(false);
      this.olderButton.disabled = false;
      this.olderButton.textContent = 'Load older messages';
      this.updateRange();
      // The button leaves with the last page: focus goes to the oldest message rather than to nowhere.
      if (this.olderButton.hidden && document.activeElement === document.body) {
        (this.feed.element.firstElementChild as HTMLElement | null)?.focus();
      }
    }
  }

  private setLive(live: boolean): void {
    this.live = live;
    this.liveButton.setAttribute('aria-pressed', String(live));
    this.liveStatus.textContent = live ? 'Live: new messages appear as they are written.' : 'Live view off.';
    clearTimeout(this.timer);
    if (live) this.schedulePoll(0);
  }

  private schedulePoll(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.poll(), delayMs);
  }

  private async poll(): Promise<void> {
    const id = this.id;
    if (id === undefined || !this.live) return;
    if (document.hidden) return; // visibilitychange polls again
    const generation = this.generation;
    const { signal } = this.controller;
    const api = this.api();
    try {
      const head = await api.getConversation(id, signal);
      if (generation !== this.generation) return;
      const change = compareHead(this.shown, head);
      if (change.kind === 'gone') {
        this.setLive(false);
        this.setNotice(
          'This conversation no longer exists: it was deleted or expired. What is shown was read before.',
        );
        return;
      }
      if (change.kind === 'rewritten') {
        await this.open(id, `${change.reason} The newest page was read again.`);
        return;
      }
      this.info = head;
      if (change.kind === 'unchanged') {
        this.shown = change.shown;
      } else if (head !== undefined) {
        const fresh = [];
        let after = this.shown.version;
        let readVersion = this.shown.version;
        for (let pages = 0; ; pages++) {
          if (pages >= maxLivePages) {
            await this.open(id, 'Many messages arrived at once; the newest page was read again.');
            return;
          }
          const page = await api.loadPage(id, { after }, signal);
          if (generation !== this.generation) return;
          fresh.push(...page.messages);
          readVersion = page.version;
          if (page.nextAfter === null || page.nextAfter === undefined) break;
          after = page.nextAfter;
        }
        const next = afterForwardRead(this.shown, head, fresh, readVersion);
        if ('kind' in next) {
          await this.open(id, `${next.reason} The newest page was read again.`);
          return;
        }
        this.shown = next;
        this.feed.merge(fresh, Math.max(head.messageCount, next.messageCount ?? 0));
        this.updateRange();
        if (fresh.length > 0) {
          void this.loadSummaries(id, generation, signal, { quiet: true });
          this.liveStatus.textContent = `Live: ${fresh.length} new message${fresh.length === 1 ? '' : 's'} at ${new Date().toLocaleTimeString()}.`;
        }
      }
      this.renderFacts();
    } catch (error) {
      if (generation !== this.generation || signal.aborted) return;
      this.liveStatus.textContent = `Live: the last check failed (${error instanceof Error ? error.message : String(error)}); trying again.`;
    }
    if (generation === this.generation && this.live) this.schedulePoll(livePollMs);
  }

  private setNotice(content: string | HTMLElement | undefined): void {
    replaceChildren(this.notice, content ?? null);
  }

  /** `quiet`: a live refresh, which keeps what is shown until the answer comes. */
  private async loadSummaries(
    id: string,
    generation: number,
    signal: AbortSignal,
    options: { readonly quiet?: boolean } = {},
  ): Promise<void> {
    const heading = h('h3', { id: 'summaries-title' }, 'Summary');
    if (!options.quiet) {
      replaceChildren(this.summaries, heading, h('p', { class: 'loading' }, 'Loading the summary…'));
    }
    try {
      const summaries = await this.api().loadSummaries(id, signal);
      if (generation !== this.generation) return;
      if (summaries === 'unsupported') {
        replaceChildren(
          this.summaries,
          heading,
          h('p', { class: 'muted' }, 'This server keeps no summaries (it has no summaries route).'),
        );
      } else if (summaries.length === 0) {
        replaceChildren(
          this.summaries,
          heading,
          h(
            'p',
            { class: 'muted' },
            'No summary yet: one is made once the conversation outgrows what a turn is given.',
          ),
        );
      } else {
        replaceChildren(this.summaries, heading, h('ol', {}, ...summaries.map(renderSummary)));
      }
    } catch (error) {
      if (generation === this.generation && !signal.aborted && !options.quiet) {
        replaceChildren(this.summaries, heading, renderError('Loading the summary', error));
      }
    }
  }

  private confirmDelete(): void {
    const id = this.id;
    if (id === undefined) return;
    const count = this.info?.messageCount ?? 0;
    this.dialogText.textContent = `Delete conversation “${id}” (${count.toLocaleString()} message${count === 1 ? '' : 's'}, version ${this.info?.version ?? 0})? Every message and idempotency record is removed. This cannot be undone.`;
    this.dialogError.replaceChildren();
    this.dialog.showModal();
    (this.dialog.querySelector('button[value="cancel"]') as HTMLButtonElement | null)?.focus();
  }

  /** A modal dialog: Escape or Cancel closes it, focus starts on Cancel and returns to Delete… afterwards. */
  private deleteDialog(): HTMLDialogElement {
    const confirm = h('button', { type: 'button', class: 'danger', value: 'delete' }, 'Delete conversation');
    const cancel = h('button', { type: 'button', value: 'cancel', onclick: () => dialog.close() }, 'Cancel');
    const dialog = h(
      'dialog',
      { 'aria-labelledby': 'delete-title', 'aria-describedby': 'delete-description' },
      h('h2', { id: 'delete-title' }, 'Delete this conversation?'),
      this.dialogText,
      this.dialogError,
      h('div', { class: 'dialog-buttons' }, cancel, confirm),
    );
    confirm.addEventListener('click', async () => {
      const id = this.id;
      if (id === undefined) return;
      confirm.disabled = true;
      cancel.disabled = true;
      try {
        await this.api().deleteConversation(id);
        dialog.close();
        this.stop();
        this.generation++;
        const done = h(
          'p',
          { class: 'empty-state', role: 'status', tabindex: '-1' },
          'Deleted. Nothing is stored under this id anymore.',
        );
        replaceChildren(this.element, this.titleRow(id), done);
        done.focus();
        this.events.onDeleted(id);
      } catch (error) {
        this.dialogError.replaceChildren(renderError('Deleting', error));
      } finally {
        confirm.disabled = false;
        cancel.disabled = false;
      }
    });
    document.body.append(dialog);
    return dialog;
  }
}

/**
 * A summary: what it covers (seqs, message count), its text, and who wrote it when; turns are given it in place of
 * those messages, and the messages after `throughSeq` as they are.
 */
function renderSummary(summary: ConversationSummary): HTMLElement {
  const { fromSeq, throughSeq, messageCount, model, createdAt, basedOn, usage } = summary;
  const tokens =
    usage?.inputTokens === undefined && usage?.outputTokens === undefined
      ? ''
      : `, ${usage?.inputTokens ?? '?'} tokens in, ${usage?.outputTokens ?? '?'} out`;
  return h(
    'li',
    { class: 'summary', 'data-through-seq': String(throughSeq) },
    h(
      'p',
      { class: 'covers' },
      `Covers messages #${fromSeq}–#${throughSeq} (${messageCount.toLocaleString()} message${messageCount === 1 ? '' : 's'}); turns are given it in their place, and the messages after #${throughSeq} as they are.`,
    ),
    h('p', { class: 'text' }, summary.text),
    h(
      'p',
      { class: 'muted' },
      `Written by ${model} `,
      time(createdAt),
      basedOn > 0 ? `, folding the summary through #${basedOn} into the messages after it` : '',
      tokens,
      '.',
    ),
  );
}
