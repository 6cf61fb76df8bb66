// ui.js — small helpers every screen uses: h() builds elements (text is always set as text, never
// parsed as HTML), dates and countdowns in the forms UI.md asks for, the state and sync badges,
// one hazard as a row in a list, a detail page's facts, back link and steps, and a toast.
import { t, label, lang } from './i18n.js';

export function h(tag, attrs, ...children) {
  const parts = tag.split('.');
  const el = document.createElement(parts[0] || 'div');
  if (parts.length > 1) el.className = parts.slice(1).join(' ');
  if (attrs !== null && attrs !== undefined && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);  // h('p', child, …): no attributes
    attrs = null;
  }
  if (attrs) {
    for (const name of Object.keys(attrs)) {
      const value = attrs[name];
      if (value === undefined || value === null || value === false) continue;
      if (name.slice(0, 2) === 'on' && typeof value === 'function') el.addEventListener(name.slice(2), value);
      else if (name === 'class') el.className = (el.className ? el.className + ' ' : '') + value;
      else if (name === 'text') el.textContent = value;
      else if (name === 'value') el.value = value;
      else if (value === true) el.setAttribute(name, '');
      else el.setAttribute(name, String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

const pad = (n) => (n < 10 ? '0' : '') + n;

export function fmtDate(ms) {
  const d = new Date(ms);
  return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate());
}

export function fmtDateTime(ms) {
  const d = new Date(ms);
  return fmtDate(ms) + ' ' + pad(d.getHours()) + ':' + pad(d.getMinutes());
}

// The node gives times as ISO ("2026-11-22T17:54:59.274Z") or "2026-11-22 17:54:59" (UTC).
export function parseTime(text) {
  if (!text) return NaN;
  if (typeof text === 'number') return text;
  let s = String(text);
  if (/^\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)?$/.test(s)) s = s.replace(' ', 'T') + 'Z';
  return Date.parse(s);
}

export function showTime(text) {
  const ms = parseTime(text);
  return isNaN(ms) ? String(text || '') : fmtDateTime(ms);
}

// The node's clock, as far as the browser knows it (GET sync's now_ms): a phone whose clock is
// wrong still counts deadlines from the node's time.
let clockOffsetMs = 0;
export function setNodeNow(nodeMs) {
  if (typeof nodeMs === 'number' && nodeMs > 0) clockOffsetMs = nodeMs - Date.now();
}
export function nowMs() {
  return Date.now() + clockOffsetMs;
}

export function ago(ms) {
  const minutes = Math.floor((nowMs() - ms) / 60000);
  if (minutes < 1) return t('ago.now');
  if (minutes < 60) return t('ago.min', { n: minutes });
  if (minutes < 48 * 60) return t('ago.hour', { n: Math.floor(minutes / 60) });
  return t('ago.day', { n: Math.floor(minutes / 1440) });
}

const DAY = 86400000;
// "剩 3 天" / "今天到期" / "逾期 2 天", and whether it is overdue.
export function countdown(hazard) {
  if (!hazard.deadline_ms || hazard.state === 'archived') return null;
  const left = hazard.deadline_ms - nowMs();
  const overdue = hasFlag(hazard, 'overdue') || left < 0;
  if (overdue) return { text: t('hz.overdue_by', { n: Math.max(1, Math.floor(-left / DAY)) }), overdue: true };
  // A notice of 15 days reads "剩 15 天" when it is issued, and "今天到期" on its last day.
  const days = Math.ceil(left / DAY);
  return { text: days <= 1 && left < DAY / 2 ? t('hz.today') : t('hz.left', { n: days }), overdue: false };
}

export function hasFlag(hazard, flag) {
  return Array.isArray(hazard.flags) && hazard.flags.indexOf(flag) >= 0;
}

export function stateBadge(state) {
  return h('span.badge.st-' + state, { text: label('state', state) });
}

export function syncBadge(synced) {
  return synced ? h('span.tag.tag-synced', { text: t('badge.synced') }) : h('span.tag.tag-pending', { text: t('badge.pending') });
}

export function draftBadge() {
  return h('span.tag.tag-draft', { text: t('badge.draft') });
}

export function shortKey(hex) {
  return hex ? String(hex).slice(0, 8) : '';
}

export function bytes(n) {
  if (!n) return '0 B';
  if (n < 1024) return n + ' B';
  if (n < 1024 * 1024) return (n / 1024).toFixed(n < 10240 ? 1 : 0) + ' KB';
  return (n / 1048576).toFixed(1) + ' MB';
}

// One hazard as a row of a list: a link to its page.
export function hazardRow(hz, ctx, extra) {
  const cd = countdown(hz);
  const badges = [stateBadge(hz.state)];
  if (cd && cd.overdue) badges.push(h('span.badge.st-overdue', { text: t('badge.overdue') }));
  if (hz.severity === 'major') badges.push(h('span.tag.tag-major', { text: t('badge.major') }));
  if (extra) badges.push(extra);
  return h('a.row', { href: '#/hazard/' + hz.id, class: 'row-st-' + hz.state + (cd && cd.overdue ? ' row-overdue' : '') },
    h('div.row-top', null, badges, h('span.row-cat', { text: label('cat', hz.category) })),
    h('div.row-text', { text: hz.description || '—' }),
    h('div.row-meta', null,
      h('span', { text: ctx.scopeName(hz.scope) }),
      h('span', { text: showTime(hz.reported_at) }),
      hz.reporter_name ? h('span', { text: hz.reporter_name }) : null,
      cd ? h('span', { class: cd.overdue ? 'warn' : '', text: cd.text }) : null,
      syncBadge(hz.synced)));
}

export function section(title, ...children) {
  return h('section.card', null, title ? h('h2', { text: title }) : null, children);
}

// One fact of a detail page (dt: the message `name`), or nothing without a value.
export function fact(name, value, cls) {
  if (value === null || value === undefined || value === '') return null;
  return h('div.fact', { class: cls || '' }, h('dt', { text: t(name) }), h('dd', null, value));
}

export function backLink(href) {
  return h('a.back', { href: href, text: '‹ ' + t('hz.back'), onclick: (e) => {
    if (history.length > 1) {
      e.preventDefault();
      history.back();
    }
  } });
}

// A detail page's steps [{text, href | run(event) | form(close)}]: in a card on a PC; on a phone
// in a bar at the bottom (the first as the main button, more than two behind 更多), the card
// showing only a form. Appends `detail` (.detail, the card to its first column) and the bar.
export function stepsArea(view, detail, steps, none) {
  const panel = h('div.action-panel');
  const bar = h('div.actionbar.action-buttons');
  const card = section(t('hz.actions'), steps.length || !none ? null : message(none), panel);
  const pc = window.matchMedia('(min-width: 900px)').matches;
  const folded = !pc && steps.length > 2;
  const close = () => {
    clear(panel);
    bar.hidden = false;
    card.hidden = !pc;
  };
  const open = (form) => {
    clear(panel).appendChild(form(close));
    bar.hidden = true;
    card.hidden = false;
    panel.scrollIntoView({ block: 'start' });
  };
  steps.forEach((s, i) => bar.appendChild(h(s.href ? 'a.btn' : 'button.btn', { href: s.href, type: s.href ? null : 'button',
    class: (i ? 'btn-second' : 'btn-main') + (folded && i ? ' hidden' : ''), text: s.text, onclick: s.form ? () => open(s.form) : s.run })));
  if (folded)
    bar.appendChild(h('button.btn.btn-quiet', { type: 'button', 'aria-expanded': 'false', text: t('hz.more', { n: steps.length - 1 }),
      onclick: (e) => {
        for (const b of bar.querySelectorAll('.btn-second')) b.classList.remove('hidden');
        e.currentTarget.remove();
      } }));
  detail.firstChild.appendChild(card);
  view.appendChild(detail);
  if (steps.length && pc) card.appendChild(bar);
  else if (steps.length) {
    view.appendChild(bar);
    card.hidden = true;
  } else card.hidden = !none;
  return open;
}

export function message(text, kind) {
  return h('p.msg' + (kind ? '.msg-' + kind : ''), { role: kind === 'error' ? 'alert' : null, text: text });
}

let toastTimer = 0;
export function toast(text, kind) {
  let el = document.getElementById('toast');
  if (!el) {
    el = h('div', { id: 'toast' });
    el.setAttribute('role', 'status');
    document.body.appendChild(el);
  }
  el.textContent = text;
  el.className = 'toast show' + (kind ? ' toast-' + kind : '');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    el.className = 'toast';
  }, 4000);
}

export function isEnglish() {
  return lang() === 'en';
}
