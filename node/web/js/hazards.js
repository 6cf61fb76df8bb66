// hazards.js — 隐患列表: the hazards this node holds, newest first, 50 a page, filtered by state
// and overdue; this phone's drafts (待提交) on top of the first page.
import { call, errorText } from './api.js';
import { t, label, STATES } from './i18n.js';
import { h, clear, hazardRow, message, draftBadge } from './ui.js';
import * as outbox from './outbox.js';

const PAGE = 50;

function hashFor(q) {
  const parts = [];
  if (q.state) parts.push('state=' + encodeURIComponent(q.state));
  if (q.overdue) parts.push('overdue=1');
  if (q.page) parts.push('page=' + q.page);
  return '#/hazards' + (parts.length ? '?' + parts.join('&') : '');
}

export function draftRow(d, ctx) {
  return h('a.row.row-draft', { href: '#/sync' },
    h('div.row-top', null, draftBadge(), h('span.row-cat', { text: label('cat', d.fields.category) })),
    h('div.row-text', { text: d.fields.text }),
    h('div.row-meta', null, h('span', { text: ctx.scopeName(d.fields.grid) }), h('span', { text: t('drafts.captured', { t: d.captured_at || '' }) }),
      d.last_error ? h('span.warn', { text: t('drafts.error', { why: d.last_error }) }) : null));
}

export async function render(view, params, ctx) {
  document.title = t('app.name') + ' · ' + t('list.title');
  const q = { state: params.query.state || '', overdue: params.query.overdue === '1', page: Math.max(0, parseInt(params.query.page, 10) || 0) };
  const stateSelect = h('select.input', { id: 'f-state', onchange: (e) => ctx.go(hashFor({ state: e.target.value, overdue: q.overdue, page: 0 })) },
    h('option', { value: '', text: t('list.all') }), STATES.map((s) => h('option', { value: s, text: label('state', s) })));
  stateSelect.value = q.state;
  const overdue = h('button.chip.chip-overdue', { type: 'button', 'aria-pressed': q.overdue ? 'true' : 'false', class: q.overdue ? 'on' : '',
    text: t('list.overdue'), onclick: () => ctx.go(hashFor({ state: q.state, overdue: !q.overdue, page: 0 })) });
  const body = h('div', null, message(t('app.loading')));
  view.appendChild(h('section.card', null,
    h('h1', { text: t('list.title') }),
    h('div.filters', null, h('label.visually-hidden', { for: 'f-state', text: t('list.state') }), stateSelect, overdue),
    body));

  let drafts = [];
  if (!q.state && !q.overdue && q.page === 0) drafts = (await outbox.list()).filter((d) => d.key === ctx.me.key);
  let answer;
  try {
    answer = await call('GET', 'hazards?page=' + q.page + '&page_size=' + PAGE + (q.state ? '&state=' + encodeURIComponent(q.state) : '') + (q.overdue ? '&overdue=1' : ''));
  } catch (e) {
    clear(body).appendChild(message(errorText(e), 'error'));
    if (drafts.length) body.appendChild(h('div.rows', null, drafts.map((d) => draftRow(d, ctx))));
    return;
  }
  clear(body);
  const pages = Math.max(1, Math.ceil(answer.total / PAGE));
  body.appendChild(h('p.muted', { text: t('list.total', { n: answer.total }) }));
  const rows = h('div.rows', null, drafts.map((d) => draftRow(d, ctx)), (answer.items || []).map((hz) => hazardRow(hz, ctx)));
  body.appendChild(rows);
  if (!answer.items.length && !drafts.length) body.appendChild(message(t('list.none')));
  if (pages > 1)
    body.appendChild(h('nav.pager', null,
      h('a.btn.btn-quiet', { href: hashFor({ state: q.state, overdue: q.overdue, page: q.page - 1 }), class: q.page > 0 ? '' : 'disabled', 'aria-disabled': q.page > 0 ? null : 'true', text: '‹ ' + t('list.prev') }),
      h('span', { text: t('list.page', { p: q.page + 1, n: pages }) }),
      h('a.btn.btn-quiet', { href: hashFor({ state: q.state, overdue: q.overdue, page: q.page + 1 }), class: q.page + 1 < pages ? '' : 'disabled', 'aria-disabled': q.page + 1 < pages ? null : 'true', text: t('list.next') + ' ›' })));
}
