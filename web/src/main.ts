// The dashboard's entry module: login (POST /api/v1/session → the HttpOnly cookie; the page keeps
// only the CSRF token), the views by location hash (#/hosts, #/host/NAME, #/discover, #/graph), and
// one EventSource on /api/v1/events/stream feeding the visible view (the browser sends the cookie;
// the stream is an open read like every GET without secrets, so it needs no header).
import { api, ApiError, setCsrf, whenUnauthorized, type NetrootEvent } from './api.js';
import { byId, setText } from './dom.js';
import { HostTable } from './hosts.js';
import { HostPage } from './host.js';
import { DiscoverView } from './discover.js';

const VIEWS = ['login', 'hosts', 'host', 'discover', 'graph'] as const;
type View = (typeof VIEWS)[number];

let hosts: HostTable;
let hostPage: HostPage;
let discover: DiscoverView;
let stream: EventSource | null = null;
let current: View = 'login';
let loggedIn = false;

function showView(v: View): void {
  current = v;
  for (const x of VIEWS) byId(`${x}-view`).hidden = x !== v;
  byId('nav').hidden = !loggedIn;
  byId('logout').hidden = !loggedIn;
  for (const a of byId('nav').querySelectorAll('a')) {
    if (a.getAttribute('href') === `#/${v === 'host' ? 'hosts' : v}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

function connect(): void {
  if (stream) return;
  // ?named=0: frames without `event:`, so every kind (the ones later issues add too) reaches onmessage.
  stream = new EventSource('/api/v1/events/stream?named=0');
  const live = byId('live-state');
  stream.onopen = () => setText(live, 'live');
  stream.onerror = () => setText(live, 'reconnecting…');
  stream.onmessage = (m: MessageEvent<string>) => {
    let e: NetrootEvent;
    try {
      e = JSON.parse(m.data) as NetrootEvent;
    } catch {
      return;
    }
    if (current === 'hosts') hosts.onEvent(e);
    else if (current === 'host') hostPage.onEvent(e);
    discover.onEvent(e);
  };
}

function disconnect(): void {
  stream?.close();
  stream = null;
  setText(byId('live-state'), '');
}

async function route(): Promise<void> {
  if (!loggedIn) {
    showView('login');
    byId<HTMLInputElement>('login-token').focus();
    return;
  }
  const h = location.hash;
  const m = /^#\/host\/(.+)$/.exec(h);
  try {
    if (m) {
      showView('host');
      await hostPage.show(decodeURIComponent(m[1]!));
    } else if (h === '#/discover') {
      showView('discover');
      await discover.show();
    } else if (h === '#/graph') {
      showView('graph');
      const img = byId<HTMLImageElement>('graph-img');
      img.onerror = () => setText(byId('graph-error'), 'The graph could not be drawn (is graphviz installed on the frontend?)');
      img.src = `/api/v1/graph?t=${Date.now()}`;
    } else {
      showView('hosts');
      await hosts.load();
    }
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) console.error(e);
  }
  byId('main').focus({ preventScroll: true });
}

function loggedOut(): void {
  loggedIn = false;
  setCsrf(null);
  disconnect();
  void route();
}

async function init(): Promise<void> {
  hosts = new HostTable();
  hostPage = new HostPage();
  discover = new DiscoverView();
  whenUnauthorized(loggedOut);
  byId('login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const input = byId<HTMLInputElement>('login-token');
    const err = byId('login-error');
    setText(err, '');
    try {
      const s = await api<{ csrf: string }>('POST', '/api/v1/session', { token: input.value });
      input.value = '';
      setCsrf(s.csrf);
      loggedIn = true;
      connect();
      if (location.hash === '' || location.hash === '#/login') location.hash = '#/hosts';
      else await route();
    } catch (e) {
      setText(err, e instanceof ApiError ? (e.status === 401 ? 'Wrong token.' : e.message) : String(e));
      input.select();
    }
  });
  byId('logout').addEventListener('click', async () => {
    try {
      await api('DELETE', '/api/v1/session');
    } finally {
      loggedOut();
    }
  });
  window.addEventListener('hashchange', () => void route());
  // A reload keeps the HttpOnly cookie: ask the server for the session's CSRF token.
  try {
    const s = await api<{ csrf: string }>('GET', '/api/v1/session');
    setCsrf(s.csrf);
    loggedIn = true;
    connect();
  } catch {
    loggedIn = false;
  }
  await route();
  document.body.dataset['ready'] = '1';
}

void init();
