// home.js — 首页: what waits for me (待我办理) with a count per kind, the overdue hazards (逾期) in
// red, this phone's drafts, and the way to report a hazard.
import { call, errorText } from './api.js';
import { t } from './i18n.js';
import { h, clear, hazardRow, section, message, hasFlag } from './ui.js';
import * as outbox from './outbox.js';

const PAGE = 50;
const ACTIONS = ['signoff', 'escalate', 'receive', 'assign', 'handled', 'verify'];

export async function render(view, params, ctx) {
  document.title = t('app.name') + ' · ' + t('home.title');
  const me = ctx.me;
  const drafts = (await outbox.list()).filter((d) => d.key === me.key);
  const columns = h('div.columns');
  if (drafts.length)
    view.appendChild(h('a.banner.banner-draft', { href: '#/sync' }, t('home.drafts', { n: drafts.length }), h('span.banner-go', { text: '›' })));
  view.appendChild(columns);
  const inboxCard = section(t('home.inbox'), message(t('app.loading')));
  const overdueCard = section(t('home.overdue'), message(t('app.loading')));
  overdueCard.classList.add('card-overdue');
  columns.appendChild(inboxCard);
  columns.appendChild(overdueCard);
  if (me.can && me.can['hazard.report'])
    view.appendChild(h('div.actionbar', null, h('a.btn.btn-main', { href: '#/report', text: t('home.report') })));

  const [inbox, overdue] = await Promise.all([
    call('GET', 'inbox').catch((e) => e),
    call('GET', 'hazards?overdue=1&page=0&page_size=' + PAGE).catch((e) => e),
  ]);
  fillInbox(inboxCard, inbox, ctx);
  fillOverdue(overdueCard, overdue, ctx);
}

function fillInbox(card, inbox, ctx) {
  const body = h('div');
  card.replaceChild(body, card.lastChild);
  if (inbox instanceof Error) {
    body.appendChild(message(errorText(inbox), 'error'));
    return;
  }
  const items = (inbox.items || []).slice().sort((a, b) => {
    const late = (hz) => (hasFlag(hz, 'overdue') ? 1 : 0);
    return late(b) - late(a) || (a.reported_at < b.reported_at ? 1 : a.reported_at > b.reported_at ? -1 : 0);
  });
  if (items.length) card.querySelector('h2').appendChild(h('span.h-count.h-count-blue', { text: String(items.length) }));
  if (!items.length) {
    body.appendChild(message(t('home.inbox_none')));
    return;
  }
  const counts = {};
  for (const it of items) counts[it.action] = (counts[it.action] || 0) + 1;
  let filter = '';
  let shown = PAGE;
  const chips = h('div.chips');
  const list = h('div.rows');
  const draw = () => {
    clear(chips);
    for (const a of ACTIONS.concat(Object.keys(counts).filter((k) => ACTIONS.indexOf(k) < 0))) {
      if (!counts[a]) continue;
      chips.appendChild(h('button.chip', { type: 'button', 'aria-pressed': filter === a ? 'true' : 'false', class: filter === a ? 'on' : '',
        onclick: () => {
          filter = filter === a ? '' : a;
          shown = PAGE;
          draw();
        } }, t('wait.' + a), h('span.chip-n', { text: String(counts[a]) })));
    }
    clear(list);
    const matching = items.filter((it) => !filter || it.action === filter);
    for (const it of matching.slice(0, shown)) list.appendChild(hazardRow(it, ctx, h('span.tag.tag-wait', { text: t('wait.' + it.action) })));
    if (matching.length > shown)
      list.appendChild(h('button.btn.btn-quiet.more', { type: 'button', text: t('home.more', { n: matching.length - shown }),
        onclick: () => {
          shown += PAGE;
          draw();
        } }));
  };
  draw();
  body.appendChild(chips);
  body.appendChild(list);
}

function fillOverdue(card, answer, ctx) {
  const body = h('div');
  card.replaceChild(body, card.lastChild);
  if (answer instanceof Error) {
    body.appendChild(message(errorText(answer), 'error'));
    return;
  }
  const items = answer.items || [];
  if (!items.length) {
    body.appendChild(message(t('home.overdue_none')));
    return;
  }
  const list = h('div.rows');
  for (const it of items) list.appendChild(hazardRow(it, ctx));
  body.appendChild(list);
  if (answer.total > items.length)
    body.appendChild(h('a.btn.btn-quiet.more', { href: '#/hazards?overdue=1', text: t('home.more', { n: answer.total - items.length }) }));
  card.querySelector('h2').appendChild(h('span.h-count', { text: String(answer.total) }));
}
