import { type Credentials, InspectorApi } from './api.js';
import { ConversationList } from './conversation-list.js';
import { ConversationView } from './conversation-view.js';
import { h } from './element.js';

/*
 * The memory inspector: a page that reads what an agent remembers through the public API only. The server that
 * serves it says how callers authenticate (`<meta name="agent-memory-auth">`): the local server by X-Tenant-Id,
 * a JWT deployment by bearer token. The address holds what is open (`?tenant=…&conversation=…`), so a reload, the
 * back button and a shared link show the same thing; a token is never put in it.
 */

type AuthMode = Credentials['kind'];
const tokenKey = 'agent-memory-inspector:token';
const tenantKey = 'agent-memory-inspector:tenant';

const authMode: AuthMode =
  document.querySelector<HTMLMetaElement>('meta[name="agent-memory-auth"]')?.content === 'bearer'
    ? 'bearer'
    : 'tenant-header';
/** The API is served where the page is: `/inspector` sits at the root of the API's base URL. */
const baseUrl = new URL(location.pathname.replace(/inspector\/?$/, ''), location.origin);

function params(): URLSearchParams {
  return new URLSearchParams(location.search);
}

function credentials(): Credentials {
  if (authMode === 'bearer') return { kind: 'bearer', token: sessionStorage.getItem(tokenKey) ?? '' };
  return {
    kind: 'tenant-header',
    tenant: params().get('tenant') || localStorage.getItem(tenantKey) || 'local',
  };
}

let current = credentials();
let api = new InspectorApi(baseUrl, current);
const recentKey = () =>
  `agent-memory-inspector:recent:${current.kind === 'tenant-header' ? current.tenant : 'bearer'}`;

const list = new ConversationList(
  () => api,
  recentKey,
  (id) => navigate(id),
);
const view = new ConversationView(() => api, {
  onOpened: (id) => list.remember(id),
  onDeleted: (id) => {
    list.forget(id);
    void list.load();
  },
});

function navigate(id: string | undefined): void {
  const next = params();
  if (current.kind === 'tenant-header') next.set('tenant', current.tenant);
  if (id === undefined) next.delete('conversation');
  else next.set('conversation', id);
  history.pushState(null, '', `?${next}`);
  show();
}

function show(): void {
  const id = params().get('conversation') ?? undefined;
  list.showOpen(id);
  void view.open(id);
}

function connectionForm(): HTMLElement {
  const status = h('span', { class: 'muted', role: 'status' });
  if (authMode === 'tenant-header') {
    const input = h('input', {
      id: 'tenant',
      value: current.kind === 'tenant-header' ? current.tenant : 'local',
      required: true,
      pattern: '[A-Za-z0-9._:@\\-]{1,256}',
      autocomplete: 'off',
      spellcheck: 'false',
    });
    return h(
      'form',
      {
        class: 'connection',
        'aria-label': 'Connection',
        onsubmit: (event) => {
          event.preventDefault();
          if (!input.checkValidity()) return input.reportValidity();
          localStorage.setItem(tenantKey, input.value);
          current = { kind: 'tenant-header', tenant: input.value };
          api = new InspectorApi(baseUrl, current);
          status.textContent = `Tenant ${input.value}.`;
          void list.load();
          navigate(undefined);
        },
      },
      h('label', { for: 'tenant' }, 'Tenant (X-Tenant-Id)'),
      input,
      h('button', { type: 'submit' }, 'Use tenant'),
      status,
    );
  }
  const input = h('input', { id: 'token', type: 'password', autocomplete: 'off', spellcheck: 'false' });
  const apply = (token: string) => {
    if (token) sessionStorage.setItem(tokenKey, token);
    else sessionStorage.removeItem(tokenKey);
    current = { kind: 'bearer', token };
    api = new InspectorApi(baseUrl, current);
    input.value = '';
    status.textContent = token ? 'Token set for this tab.' : 'No token: paste one to read.';
    void list.load();
    show();
  };
  status.textContent =
    current.kind === 'bearer' && current.token ? 'Token set for this tab.' : 'No token: paste one to read.';
  return h(
    'form',
    {
      class: 'connection',
      'aria-label': 'Connection',
      onsubmit: (event) => {
        event.preventDefault();
        apply(input.value.trim());
      },
    },
    h('label', { for: 'token' }, 'Bearer token (JWT)'),
    input,
    h('button', { type: 'submit' }, 'Use token'),
    h('button', { type: 'button', onclick: () => apply('') }, 'Forget token'),
    status,
  );
}

const main = h('main', { id: 'main', tabindex: '-1' }, view.element);
document.body.append(
  h('a', { class: 'skip', href: '#main' }, 'Skip to the conversation'),
  h('header', { class: 'top' }, h('h1', {}, 'agent-memory inspector'), connectionForm()),
  h('div', { class: 'layout' }, list.element, main),
);
window.addEventListener('popstate', show);
void list.load();
show();
