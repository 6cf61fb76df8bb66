// units.js — 台账: the business units of the ledger, by grid, with their key-supervision flag,
// status and open hazards, found by name or address; each opens its page (records.js: fields,
// confirmations, history, patrols, 巡查). Units are added with `anwang unit`.
import { call, errorText } from './api.js';
import { t, label } from './i18n.js';
import { h, clear, message } from './ui.js';

const PAGE = 50;

export async function render(view, params, ctx) {
  document.title = t('app.name') + ' · ' + t('nav.units');
  const filter = h('input.input', { type: 'search', id: 'u-filter', placeholder: t('units.filter'), autocomplete: 'off' });
  const body = h('div', null, message(t('app.loading')));
  view.appendChild(h('section.card', null, h('h1', { text: t('units.title') }),
    h('label.visually-hidden', { for: 'u-filter', text: t('units.filter') }), filter, body));
  let items;
  const open = {};  // unit id → hazards not archived
  try {
    const [units, hazards] = await Promise.all([call('GET', 'units'), call('GET', 'hazards?page_size=500').catch(() => ({ items: [] }))]);
    items = units.items || [];
    ctx.unitsCache = items;
    for (const hz of hazards.items || []) if (hz.unit && hz.state !== 'archived') open[hz.unit] = (open[hz.unit] || 0) + 1;
  } catch (e) {
    clear(body).appendChild(message(errorText(e), 'error'));
    return;
  }
  let shown = PAGE;
  const draw = () => {
    clear(body);
    if (!items.length) {
      body.appendChild(message(t('units.none')));
      return;
    }
    const q = filter.value.trim().toLowerCase();
    const found = items.filter((u) => !q || (u.name || '').toLowerCase().indexOf(q) >= 0 || (u.address || '').toLowerCase().indexOf(q) >= 0);
    found.sort((a, b) => (a.scope < b.scope ? -1 : a.scope > b.scope ? 1 : (a.name || '').localeCompare(b.name || '', 'zh-CN')));
    body.appendChild(h('p.muted', { text: t('units.count', { n: found.length }) }));
    if (!found.length) body.appendChild(message(t('units.no_match')));
    let scope = null;
    const list = h('div.rows');
    for (const u of found.slice(0, shown)) {
      if (u.scope !== scope) {
        scope = u.scope;
        list.appendChild(h('h3.group', { text: ctx.scopeName(scope) }));
      }
      const status = u.status === 'moved_out' || u.status === 'closed' ? label('status', u.status) : '';
      list.appendChild(h('a.row.unit' + (status ? '.unit-gone' : ''), { href: '#/record/' + u.id },
        h('div.row-top', null, h('strong.unit-name', { text: u.name || '—' }),
          u.key_supervision ? h('span.tag.tag-major', { text: t('units.key') }) : null,
          status ? h('span.tag', { text: status }) : null,
          open[u.id] ? h('span.tag.tag-open', { text: t('units.open', { n: open[u.id] }) }) : null),
        u.address ? h('div.row-meta', null, h('span', { text: t('units.address') + u.address })) : null,
        u.industry ? h('div.row-meta', null, h('span', { text: t('units.industry') + u.industry })) : null));
    }
    body.appendChild(list);
    if (found.length > shown)
      body.appendChild(h('button.btn.btn-quiet.more', { type: 'button', text: t('home.more', { n: found.length - shown }), onclick: () => {
        shown += PAGE;
        draw();
      } }));
  };
  filter.addEventListener('input', () => {
    shown = PAGE;
    draw();
  });
  draw();
}
