import type { ConversationListPage, InspectorApi, ListedConversation } from './api.js';
import { h, replaceChildren, time } from './element.js';
import { renderError } from './error-view.js';

/** Ids the reader opened, per tenant, newest first. */
const recentLimit = 10;

/**
 * The side panel: open a conversation by id, the tenant's conversations newest first with a prefix search (one
 * user's, `user-42:`), a page at a time, and the ids opened recently in this browser.
 */
export class ConversationList {
  readonly element: HTMLElement;
  private readonly listing: HTMLElement;
  private readonly recent: HTMLElement;
  private readonly idInput: HTMLInputElement;
  private readonly prefixInput: HTMLInputElement;
  private controller = new AbortController();

  constructor(
    private readonly api: () => InspectorApi,
    private readonly recentKey: () => string,
    private readonly open: (id: string) => void,
  ) {
    this.idInput = h('input', {
      id: 'open-id',
      name: 'conversationId',
      required: true,
      maxlength: 256,
      pattern: '[A-Za-z0-9._:@\\-]{1,256}',
      autocomplete: 'off',
      spellcheck: 'false',
      placeholder: 'user-42:ticket-7',
    });
    this.prefixInput = h('input', {
      id: 'prefix',
      type: 'search',
      name: 'prefix',
      autocomplete: 'off',
      spellcheck: 'false',
      placeholder: 'user-42:',
      pattern: '[A-Za-z0-9._@\\-]{1,255}:?',
      title: "The part of the ids before their first ':' (user-42 finds user-42:ticket-7)",
    });
    this.listing = h('div', { class: 'listing' });
    this.recent = h('div', { class: 'recent' });
    const openForm = h(
      'form',
      {
        class: 'open-form',
        role: 'search',
        'aria-label': 'Open a conversation by id',
        onsubmit: (event) => {
          event.preventDefault();
          const id = this.idInput.value.trim();
          if (id.length > 0 && this.idInput.checkValidity()) this.open(id);
          else this.idInput.reportValidity();
        },
      },
      h('label', { for: 'open-id' }, 'Conversation id'),
      h('div', { class: 'input-row' }, this.idInput, h('button', { type: 'submit' }, 'Open')),
    );
    this.element = h(
      'nav',
      { class: 'side', 'aria-label': 'Conversations' },
      openForm,
      h('h2', { id: 'listing-title' }, 'Conversations'),
      this.listing,
      h('h2', { id: 'recent-title' }, 'Opened recently'),
      this.recent,
    );
    this.prefixForm = h(
      'form',
      {
        class: 'prefix-form',
        role: 'search',
        'aria-label': 'Find conversations by id prefix',
        onsubmit: (event) => {
          event.preventDefault();
          void this.load();
        },
      },
      h('label', { for: 'prefix' }, 'Id starts with'),
      h('div', { class: 'input-row' }, this.prefixInput, h('button', { type: 'submit' }, 'Find')),
    );
    this.prefixInput.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && this.prefixInput.value !== '') {
        this.prefixInput.value = '';
        void this.load();
      }
    });
  }

  private readonly prefixForm: HTMLFormElement;

  /** Shows `id` in the id field (the conversation on screen). */
  showOpen(id: string | undefined): void {
    this.idInput.value = id ?? '';
  }

  /** Reads the listing again (first page, current prefix) and the recent ids. */
  async load(): Promise<void> {
    this.controller.abort();
    this.controller = new AbortController();
    const { signal } = this.controller;
    this.renderRecent();
    replaceChildren(this.listing, h('p', { class: 'loading', role: 'status' }, 'Loading conversations…'));
    try {
      const page = await this.api().listConversations({ prefix: this.scope() }, signal);
      if (signal.aborted) return;
      const list = h('ul', { class: 'conversation-list', 'aria-labelledby': 'listing-title' });
      replaceChildren(this.listing, this.prefixForm, list);
      this.appendPage(list, page);
    } catch (error) {
      if (!signal.aborted)
        replaceChildren(
          this.listing,
          renderError('Listing conversations', error, () => void this.load()),
        );
    }
  }

  /** The prefix as the listing takes it: a scope, with its ':' (`user-42` searches `user-42:`). */
  private scope(): string | undefined {
    const prefix = this.prefixInput.value.trim();
    if (prefix === '') return undefined;
    return prefix.endsWith(':') ? prefix : `${prefix}:`;
  }

  private appendPage(list: HTMLElement, page: ConversationListPage): void {
    if (page.conversations.length === 0 && list.childElementCount === 0) {
      list.append(
        h(
          'li',
          { class: 'muted' },
          this.prefixInput.value ? 'No conversation has this prefix.' : 'No conversations yet.',
        ),
      );
    }
    for (const conversation of page.conversations) list.append(h('li', {}, this.link(conversation)));
    this.listing.querySelector('.more')?.remove();
    if (page.nextCursor !== null) {
      const cursor = page.nextCursor;
      const more: HTMLButtonElement = h(
        'button',
        {
          type: 'button',
          class: 'more',
          onclick: async () => {
            more.disabled = true;
            try {
              this.appendPage(list, await this.api().listConversations({ prefix: this.scope(), cursor }));
            } catch (error) {
              more.replaceWith(renderError('Listing more conversations', error));
            }
          },
        },
        'More conversations',
      );
      this.listing.append(more);
    }
  }

  private link(conversation: ListedConversation): HTMLElement {
    return h(
      'a',
      {
        href: `?${new URLSearchParams({ ...currentParams(), conversation: conversation.id })}`,
        'data-conversation-id': conversation.id,
        onclick: (event) => {
          event.preventDefault();
          this.open(conversation.id);
        },
      },
      h('span', { class: 'title' }, conversation.title ?? conversation.id),
      conversation.title ? h('code', { class: 'id' }, conversation.id) : null,
      h(
        'span',
        { class: 'muted' },
        conversation.messageCount === undefined ? '' : `${conversation.messageCount} messages`,
        conversation.updatedAt ? [' · ', time(conversation.updatedAt)] : null,
      ),
    );
  }

  /** Remembers an opened id (most recent first). */
  remember(id: string): void {
    const ids = [id, ...this.recentIds().filter((other) => other !== id)].slice(0, recentLimit);
    localStorage.setItem(this.recentKey(), JSON.stringify(ids));
    this.renderRecent();
  }

  forget(id: string): void {
    localStorage.setItem(this.recentKey(), JSON.stringify(this.recentIds().filter((other) => other !== id)));
    this.renderRecent();
  }

  private recentIds(): string[] {
    try {
      const ids: unknown = JSON.parse(localStorage.getItem(this.recentKey()) ?? '[]');
      return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === 'string') : [];
    } catch {
      return [];
    }
  }

  private renderRecent(): void {
    const ids = this.recentIds();
    replaceChildren(
      this.recent,
      ids.length === 0
        ? h('p', { class: 'muted' }, 'None yet.')
        : h(
            'ul',
            { class: 'conversation-list', 'aria-labelledby': 'recent-title' },
            ...ids.map((id) => h('li', {}, this.link({ id }))),
          ),
    );
  }
}

function currentParams(): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(location.search));
}
