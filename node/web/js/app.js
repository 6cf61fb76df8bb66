// app.js — the page's frame: who this node is, the signed-in person, the header (node · scope,
// the sync hint, language, sign-out), the tabs, and hash routing to one module per screen
// (#/, #/report, #/hazards, #/hazard/ID, #/units, #/record/ID, #/patrol/UNIT, #/sync, #/map, #/more
// and the lists behind it, #/signin). Every screen module is
// imported here at load, so a phone that walks out of Wi-Fi range can still open the report form
// and keep a draft.
import { call, setCsrf, setUnauthorizedHandler, setReachHandler, errorText, NetworkError } from './api.js';
import { t, label, lang, setLang } from './i18n.js';
import { h, clear, ago, setNodeNow, toast, message } from './ui.js';
import * as outbox from './outbox.js';
import * as signin from './signin.js';
import * as home from './home.js';
import * as report from './report.js';
import * as hazard from './hazard.js';
import * as hazards from './hazards.js';
import * as units from './units.js';
import * as sync from './sync.js';
import * as records from './records.js';
import * as mapScreen from './map.js';

const routes = [
  { re: /^\/$/, screen: home, tab: 'home' },
  { re: /^\/signin$/, screen: signin, open: true },
  { re: /^\/report$/, screen: report, tab: 'report' },
  { re: /^\/hazards$/, screen: hazards, tab: 'hazards' },
  { re: /^\/hazard\/([0-9a-f]{64})$/, screen: hazard, tab: 'hazards' },
  { re: /^\/units$/, screen: units, tab: 'units' },
  { re: /^\/sync$/, screen: sync, tab: 'sync' },
  { re: /^\/record\/([0-9a-f]{64})$/, screen: { render: records.show }, tab: 'more' },
  { re: /^\/patrol\/([0-9a-f]{64})$/, screen: { render: records.patrol }, tab: 'units' },
  { re: /^\/(inspection|tip|incident|notice|training|meeting|notebook)s$/, screen: { render: records.list }, tab: 'more' },
  { re: /^\/new\/(tip|incident|notice|person|training|meeting|notebook)$/, screen: { render: records.create }, tab: 'more' },
  { re: /^\/more$/, screen: { render: records.menu }, tab: 'more' },
  { re: /^\/people$/, screen: { render: records.people }, tab: 'more' },
  // The map has a tab on a PC; on a phone it is under 更多.
  { re: /^\/map$/, screen: mapScreen, get tab() { return innerWidth < 900 ? 'more' : 'map'; } },
];

const ctx = {
  node: null,
  me: null,
  regions: {},
  syncInfo: null,
  unitsCache: null,
  returnTo: '',
  scopeName(code) {
    if (!code) return '';
    if (this.regions[code]) return this.regions[code];
    const dash = code.indexOf('-');
    if (dash > 0 && this.regions[code.slice(0, dash)]) return this.regions[code.slice(0, dash)] + ' ' + code.slice(dash + 1);
    return code;
  },
  keyName(hex) {
    const keys = (this.node && this.node.keys) || [];
    for (const k of keys) if (k.public_key === hex) return k.name;
    return '';
  },
  go(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  },
  rerender() {
    route();
  },
  tab(id) {
    shell.active = id;
    updateHeader(id);
  },
  signedIn(me) {
    return afterSignIn(me);
  },
  flushOutbox(all) {
    return flushOutbox(all);
  },
  expired(err, back) {
    expired(err, back);
  },
};

let shell = null;
const SIGNED_IN = 'anwang.signedIn';

function renderShell() {
  const body = document.body;
  clear(body);
  shell = {
    nodeName: h('span.node-name'),
    who: h('span.who'),
    hint: h('span.sync-hint'),
    tabs: h('nav.tabs', { 'aria-label': t('app.name') }),
    main: h('main', { id: 'main', tabindex: '-1' }),
    signout: h('button.btn-link.signout', { type: 'button', text: t('nav.signout'), onclick: signOut }),
  };
  const langButton = h('button.btn-link', { type: 'button', lang: lang() === 'zh' ? 'en' : 'zh-CN', text: t('lang.switch'),
    onclick: () => {
      setLang(lang() === 'zh' ? 'en' : 'zh');
      renderShell();
      route();
    } });
  body.appendChild(h('a.skip', { href: '#main', text: t('nav.skip'), onclick: (e) => {
    e.preventDefault();
    shell.main.focus();
  } }));
  body.appendChild(h('header.top', null,
    h('div.top-row', null, h('a.brand', { href: '#/', text: t('app.name') }), shell.nodeName, h('span.spacer'), langButton, shell.signout),
    h('div.top-row.top-sub', null, shell.who, shell.hint),
    shell.tabs));
  body.appendChild(shell.main);
  updateHeader();
}

function updateHeader(activeTab) {
  if (!shell) return;
  const node = ctx.node;
  clear(shell.nodeName);
  if (node) shell.nodeName.appendChild(h('span', null, node.scope_name || node.scope, node.scope_name ? h('span.node-code', { text: ' · ' + node.scope }) : null));
  const me = ctx.me;
  shell.signout.hidden = !me;
  if (me) {
    const role = (me.roles || [])[0];
    shell.who.textContent = (me.name || me.key) + (role ? ' · ' + label('role', role.role) + ' · ' + ctx.scopeName(role.scope) : '');
  } else shell.who.textContent = '';
  updateSyncHint();
  clear(shell.tabs);
  if (!me) return;
  const tabs = [['home', '#/', 'nav.home'], ['hazards', '#/hazards', 'nav.hazards'], ['report', '#/report', 'nav.report'],
    ['units', '#/units', 'nav.units'], ['map', '#/map', 'k.map'], ['sync', '#/sync', 'nav.sync'], ['more', '#/more', 'nav.more']];
  for (const [id, href, key] of tabs) {
    if (id === 'report' && me.can && !me.can['hazard.report']) continue;
    const active = id === (activeTab || shell.active);
    shell.tabs.appendChild(h('a.tab', { href: href, 'aria-current': active ? 'page' : null, class: (active ? 'active' : '') + (id === 'map' ? ' tab-pc' : '') },
      t(key), id === 'sync' ? h('span.count.hidden', { id: 'draft-count' }) : null));
  }
  updateDraftCount();
}

function updateSyncHint() {
  if (!shell) return;
  const info = ctx.syncInfo;
  shell.hint.className = 'sync-hint';
  if (!ctx.me) {
    shell.hint.textContent = '';
    return;
  }
  if (info === 'offline') {
    shell.hint.textContent = t('sync.offline');
    shell.hint.className = 'sync-hint warn';
    return;
  }
  if (!info) {
    shell.hint.textContent = '';
    return;
  }
  // The neighbour synced last, above this node (its township, its county) or below (a village).
  let latest = null;
  for (const p of info.peers || []) if (p.last_sync_ms && (!latest || p.last_sync_ms > latest.last_sync_ms)) latest = p;
  const mine = (ctx.node && ctx.node.scope) || '';
  const below = latest && latest.scope && mine && latest.scope !== mine && latest.scope.indexOf(mine) === 0;
  shell.hint.textContent = latest ? t(below ? 'sync.hint_down' : 'sync.hint_up', { ago: ago(latest.last_sync_ms) }) : t('sync.hint_never');
}

async function updateDraftCount() {
  const el = document.getElementById('draft-count');
  if (!el) return;
  const drafts = await outbox.list();
  el.textContent = drafts.length ? String(drafts.length) : '';
  el.className = drafts.length ? 'count' : 'count hidden';
  el.title = drafts.length ? t('badge.draft') : '';
}

async function refreshSync() {
  if (!ctx.me) return;
  try {
    const info = await call('GET', 'sync', null, { quiet401: true });
    setNodeNow(info.now_ms);
    ctx.syncInfo = info;
  } catch (e) {
    if (e instanceof NetworkError) ctx.syncInfo = 'offline';
  }
  updateSyncHint();
}

let flushing = false;
async function flushOutbox(all) {
  if (!ctx.me || flushing) return null;
  flushing = true;
  try {
    const r = await outbox.submitAll(ctx.me.key, all);
    if (r.sent) {
      toast(t('drafts.sent', { n: r.sent }), 'ok');
      const path = currentPath();
      if (path === '/' || path === '/hazards' || path === '/sync') route();
      refreshSync();
    }
    return r;
  } finally {
    flushing = false;
  }
}

// The region names by code, or null when they cannot be had (codes stand in for names).
async function fetchRegions() {
  try {
    const answer = await call('GET', 'regions', null, { quiet401: true });
    const map = {};
    for (const r of answer.items || []) map[r.code] = r.name;
    return map;
  } catch (e) {
    return null;
  }
}

async function afterSignIn(me, regions) {
  ctx.me = me;
  localStorage.setItem(SIGNED_IN, '1');
  setCsrf(me.csrf);
  ctx.regions = regions || (await fetchRegions()) || ctx.regions;
  updateHeader();
  refreshSync();
  flushOutbox(false);
}

async function signOut() {
  try {
    await call('DELETE', 'session', null, { quiet401: true });
  } catch (e) {
    if (e instanceof NetworkError) {
      toast(errorText(e), 'error');
      return;
    }
  }
  ctx.me = null;
  ctx.syncInfo = null;
  ctx.unitsCache = null;
  setCsrf('');
  localStorage.removeItem(SIGNED_IN);
  updateHeader();
  ctx.go('#/signin');
}

// The session ended (idle, restart): sign in again, then come back to `back` or where one was.
function expired(err, back) {
  const wasSignedIn = !!ctx.me;
  ctx.me = null;
  setCsrf('');
  localStorage.removeItem(SIGNED_IN);
  if (currentPath() !== '/signin') {
    ctx.returnTo = back || location.hash;
    if (wasSignedIn) toast(errorText(err), 'error');
    location.hash = '#/signin';
  }
}

function currentPath() {
  const hash = location.hash.replace(/^#/, '') || '/';
  const q = hash.indexOf('?');
  return q >= 0 ? hash.slice(0, q) : hash;
}

function route() {
  const hash = location.hash.replace(/^#/, '') || '/';
  const q = hash.indexOf('?');
  const path = q >= 0 ? hash.slice(0, q) : hash;
  const query = {};
  if (q >= 0)
    for (const pair of hash.slice(q + 1).split('&')) {
      if (!pair) continue;
      const eq = pair.indexOf('=');
      query[decodeURIComponent(eq >= 0 ? pair.slice(0, eq) : pair)] = eq >= 0 ? decodeURIComponent(pair.slice(eq + 1)) : '';
    }
  let match = null;
  let found = null;
  for (const r of routes) {
    match = r.re.exec(path);
    if (match) {
      found = r;
      break;
    }
  }
  if (!ctx.me && !(found && found.open)) {
    ctx.returnTo = found ? '#' + hash : '';
    location.replace('#/signin');
    if (path === '/signin') route();
    return;
  }
  shell.active = found ? found.tab : '';
  updateHeader(shell.active);
  const main = clear(shell.main);
  const view = h('div.screen');
  main.appendChild(view);
  window.scrollTo(0, 0);
  if (!found) {
    view.appendChild(message(t('err.not_found'), 'error'));
    return;
  }
  document.title = t('app.name');
  Promise.resolve(found.screen.render(view, { match: match, query: query }, ctx)).catch((e) => {
    console.error(e);  // a screen's bug: the tests read the console
    view.appendChild(message(errorText(e), 'error'));
  });
}

async function start() {
  renderShell();
  shell.main.appendChild(h('p.msg', { text: t('app.loading') }));
  setUnauthorizedHandler((err) => expired(err));
  setReachHandler((reached) => {
    if (!reached && ctx.syncInfo !== 'offline') {
      ctx.syncInfo = 'offline';
      updateSyncHint();
    } else if (reached && ctx.syncInfo === 'offline') {
      ctx.syncInfo = null;
      setTimeout(() => {
        refreshSync();
        flushOutbox(false);
      }, 0);
    }
  });
  // Who this node is, and (when this browser signed in before) who is signed in and the region
  // names, asked at once: on a slow phone each round trip waits for the last one's script.
  const signedInBefore = !!localStorage.getItem(SIGNED_IN);
  const [node, me, regions] = await Promise.all([
    call('GET', 'node').catch((e) => e),
    signedInBefore ? call('GET', 'me', null, { quiet401: true }).catch((e) => e) : null,
    signedInBefore ? fetchRegions() : null,
  ]);
  if (node instanceof Error) {
    clear(shell.main).appendChild(h('div.screen', null, message(node instanceof NetworkError ? t('app.offline_start') : errorText(node), 'error'),
      h('button.btn', { type: 'button', text: t('app.retry'), onclick: () => location.reload() })));
    return;
  }
  ctx.node = node;
  // Asked only when this browser signed in before: a page opened signed out goes straight to
  // sign-in, without a 401 in the console.
  if (me && !(me instanceof Error)) await afterSignIn(me, regions);
  else if (me instanceof Error) {
    ctx.me = null;
    if (!(me instanceof NetworkError)) localStorage.removeItem(SIGNED_IN);
  }
  updateHeader();
  window.addEventListener('hashchange', route);
  window.addEventListener('online', () => flushOutbox(false));
  window.addEventListener('outbox-change', updateDraftCount);
  setInterval(async () => {
    if (!ctx.me) return;
    refreshSync();
    if ((await outbox.list()).some((d) => d.key === ctx.me.key && !d.failed)) flushOutbox(false);
  }, 60000);
  route();
}

start();
