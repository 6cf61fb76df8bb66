// home.js — 首页: what waits for me (待我办理) with a count per kind, the overdue hazards (逾期) in
// red, the units due for patrol this week (本周应巡查, the overdue in red; asked only after the
// inbox is answered, so it never delays it), this phone's drafts, and the way to report a hazard.
import { call, errorText } from './api.js';
import { t } from './i18n.js';
import { h, clear, hazardRow, section, message, fmtDate, nowMs, showTime } from './ui.js';
import * as outbox from './outbox.js';

const PAGE = 50;
const ACTIONS = ['signoff', 'escalate', 'receive', 'assign', 'handled', 'verify'];

export async function render(view, params, ctx) {
  document.title = t('app.name') + ' · ' + t('home.title');
  const me = ctx.me;
  // Asked first: the node answers while this browser opens its own store of drafts.
  const asked = Promise.all([
    call('GET', 'inbox?page=0&page_size=' + PAGE).catch((e) => e),
    call('GET', 'hazards?overdue=1&page=0&page_size=' + PAGE).catch((e) => e),
  ]);
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
  const dueCard = me.can && me.can.inspect ? section(t('home.due'), message(t('app.loading'))) : null;
  if (dueCard) columns.appendChild(dueCard);
  if (me.can && me.can['hazard.report'])
    view.appendChild(h('div.actionbar', null, h('a.btn.btn-main', { href: '#/report', text: t('home.report') })));

  const [inbox, overdue] = await asked;
  // A person of one place sees that place's units; one of several, every unit this node holds.
  const scopes = [...new Set((me.roles || []).map((r) => r.scope))];
  if (dueCard)
    call('GET', 'patrols/due' + (scopes.length === 1 ? '?scope=' + encodeURIComponent(scopes[0]) : ''))
      .catch((e) => e).then((a) => fillDue(dueCard, a, ctx));
  fillInbox(inboxCard, inbox, ctx);
  fillOverdue(overdueCard, overdue, ctx);
}

// The node sends one page at a time, the overdue first and then the newest, with the count of each
// step: a head with a thousand hazards waiting gets fifty rows and the chips at once.
function fillInbox(card, first, ctx) {
  const body = h('div');
  card.replaceChild(body, card.lastChild);
  if (first instanceof Error) {
    body.appendChild(message(errorText(first), 'error'));
    return;
  }
  const counts = first.counts || {};
  let all = 0;
  for (const k of Object.keys(counts)) all += counts[k];
  if (all) card.querySelector('h2').appendChild(h('span.h-count.h-count-blue', { text: String(all) }));
  if (!all) {
    body.appendChild(message(t('home.inbox_none')));
    return;
  }
  let filter = '';
  let pages = first;  // what the list shows: {items, total} of the current filter
  let loading = false;
  const chips = h('div.chips');
  const list = h('div.rows');
  const failed = h('div');
  const fetchPage = (page) => call('GET', 'inbox?page=' + page + '&page_size=' + PAGE + (filter ? '&action=' + filter : ''));
  const draw = () => {
    clear(chips);
    for (const a of ACTIONS.concat(Object.keys(counts).filter((k) => ACTIONS.indexOf(k) < 0))) {
      if (!counts[a]) continue;
      chips.appendChild(h('button.chip', { type: 'button', 'aria-pressed': filter === a ? 'true' : 'false', class: filter === a ? 'on' : '',
        onclick: async () => {
          if (loading) return;
          loading = true;
          filter = filter === a ? '' : a;
          try {
            pages = await fetchPage(0);
            clear(failed);
          } catch (e) {
            clear(failed).appendChild(message(errorText(e), 'error'));
          }
          loading = false;
          draw();
        } }, t('wait.' + a), h('span.chip-n', { text: String(counts[a]) })));
    }
    clear(list);
    for (const it of pages.items) list.appendChild(hazardRow(it, ctx, h('span.tag.tag-wait', { text: t('wait.' + it.action) })));
    if (pages.total > pages.items.length)
      list.appendChild(h('button.btn.btn-quiet.more', { type: 'button', text: t('home.more', { n: pages.total - pages.items.length }),
        onclick: async () => {
          if (loading) return;
          loading = true;
          try {
            const next = await fetchPage(Math.floor(pages.items.length / PAGE));
            // A hazard that moved between two pages (a step taken meanwhile) is shown once.
            const shown = new Set(pages.items.map((it) => it.id));
            pages = { items: pages.items.concat(next.items.filter((it) => !shown.has(it.id))), total: next.total };
            clear(failed);
          } catch (e) {
            clear(failed).appendChild(message(errorText(e), 'error'));
          }
          loading = false;
          draw();
        } }));
  };
  draw();
  body.appendChild(chips);
  body.appendChild(list);
  body.appendChild(failed);
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

// Units whose patrol falls due within seven days, the overdue first; a tap opens the patrol form.
function fillDue(card, answer, ctx) {
  const body = h('div');
  card.replaceChild(body, card.lastChild);
  if (answer instanceof Error) return body.appendChild(message(errorText(answer), 'error'));
  const week = fmtDate(nowMs() + 7 * 86400000);
  const items = (answer.items || []).filter((d) => d.due <= week);
  const late = items.filter((d) => d.overdue).length;
  if (late) card.querySelector('h2').appendChild(h('span.h-count', { text: String(late) }));
  if (!items.length) return body.appendChild(message(t('home.due_none')));
  body.appendChild(h('div.rows', null, items.map((d) => h('a.row', { href: '#/patrol/' + d.unit, class: d.overdue ? 'row-overdue' : '' },
    h('div.row-top', null, d.overdue ? h('span.badge.st-overdue', { text: t('badge.overdue') }) : null, h('strong.unit-name', { text: d.name }),
      d.key_supervision ? h('span.tag.tag-major', { text: t('units.key') }) : null),
    h('div.row-meta', null, h('span', { class: d.overdue ? 'warn' : '', text: t('due.date', { d: d.due }) }),
      h('span', { text: d.last ? t('due.last', { d: showTime(d.last).slice(0, 10) }) : t('due.never') }), h('span', { text: ctx.scopeName(d.scope) }))))));
}
