// sync.js — 同步: each neighbour's last contact, last sync and what moved each way; what waits on
// this node to go out, by kind ("3 条隐患 · 5 张照片 待同步"); and this phone's drafts (待提交)
// with a "submit now" button.
import { call, errorText } from './api.js';
import { t, label } from './i18n.js';
import { h, message, section, fmtDateTime, ago, bytes, shortKey, setNodeNow, toast, draftBadge } from './ui.js';
import * as outbox from './outbox.js';

function when(ms) {
  return ms ? t('syncp.when', { t: fmtDateTime(ms), ago: ago(ms) }) : t('syncp.never');
}

function waitingLine(w) {
  const parts = [];
  if (w.hazards) parts.push(t('syncp.w_hazards', { n: w.hazards }));
  for (const kind of Object.keys(w.records || {}))
    if (w.records[kind]) parts.push(t(['unit', 'inspection', 'tip', 'incident', 'notice'].indexOf(kind) >= 0 ? 'rec.' + kind : 'rec.other', { n: w.records[kind], kind: t('k.' + kind) }));
  if (w.photos) parts.push(t('syncp.w_photos', { n: w.photos }));
  if (w.other_ops) parts.push(t('syncp.w_other', { n: w.other_ops }));
  return parts.length ? parts.join(' · ') + ' ' + t('syncp.w_suffix') : '';
}

export async function render(view, params, ctx) {
  document.title = t('app.name') + ' · ' + t('syncp.title');
  const nodeCard = section(t('syncp.title'), message(t('app.loading')));
  const draftCard = section(t('drafts.title'));
  draftCard.classList.add('card-drafts');
  view.appendChild(h('div.columns', null, draftCard, nodeCard));
  drawDrafts(draftCard, ctx);
  const onChange = () => {
    if (draftCard.isConnected) drawDrafts(draftCard, ctx);
    else window.removeEventListener('outbox-change', onChange);
  };
  window.addEventListener('outbox-change', onChange);

  let info;
  try {
    info = await call('GET', 'sync');
  } catch (e) {
    nodeCard.replaceChild(message(errorText(e), 'error'), nodeCard.lastChild);
    return;
  }
  setNodeNow(info.now_ms);
  const body = h('div');
  nodeCard.replaceChild(body, nodeCard.lastChild);
  const w = info.waiting || {};
  const line = waitingLine(w);
  body.appendChild(h('div.waiting' + (line ? '.waiting-some' : ''), null,
    h('h3', { text: t('syncp.waiting') }),
    !w.ever_synced ? message(t('syncp.never_synced'), 'warn') : null,
    h('p.big', { text: line || t('syncp.waiting_none') })));

  body.appendChild(h('h3', { text: t('syncp.peers') }));
  const peers = info.peers || [];
  if (!peers.length) body.appendChild(message(t('syncp.no_peers')));
  for (const p of peers)
    body.appendChild(h('div.peer', null,
      h('div.peer-name', null, p.scope ? h('strong', { text: (p.scope_name || ctx.scopeName(p.scope)) + ' ' }) : null, h('code', { text: shortKey(p.node) })),
      h('dl.facts', null,
        h('div.fact', null, h('dt', { text: t('syncp.last_contact') }), h('dd', { text: when(p.last_contact_ms) })),
        h('div.fact', null, h('dt', { text: t('syncp.last_sync') }), h('dd', { text: when(p.last_sync_ms) })),
        h('div.fact', null, h('dt', { text: t('syncp.sent') }), h('dd', { text: t('syncp.ops_bytes', { ops: p.ops_sent || 0, bytes: bytes(p.bytes_sent) }) })),
        h('div.fact', null, h('dt', { text: t('syncp.received') }), h('dd', { text: t('syncp.ops_bytes', { ops: p.ops_received || 0, bytes: bytes(p.bytes_received) }) })))));
  if ((info.neighbours || []).length)
    body.appendChild(h('div', null, h('h3', { text: t('syncp.neighbours') }),
      h('ul.plain', null, info.neighbours.map((n) => h('li', null, h('code', { text: n.address }))))));
  body.appendChild(h('p.muted', { text: t('syncp.ops_total', { n: info.ops || 0 }) }));
}

const urls = [];

async function drawDrafts(card, ctx) {
  const drafts = await outbox.list();
  const usable = await outbox.available();
  while (urls.length) URL.revokeObjectURL(urls.pop());
  while (card.childNodes.length > 1) card.removeChild(card.lastChild);
  if (!usable) {
    card.appendChild(message(t('drafts.unavailable'), 'warn'));
    return;
  }
  if (!drafts.length) {
    card.appendChild(message(t('drafts.none')));
    return;
  }
  card.appendChild(h('p.note', { text: t('drafts.note') }));
  const mine = drafts.filter((d) => d.key === ctx.me.key);
  const list = h('div.rows');
  for (const d of drafts) {
    const thumbs = (d.photos || []).concat(d.fix_photos || []).slice(0, 4).map((blob) => {
      const url = URL.createObjectURL(blob);
      urls.push(url);
      return h('span.thumb.thumb-small', null, h('img', { src: url, alt: '' }));
    });
    const busy = outbox.isBusy(d.id);
    list.appendChild(h('div.row.row-draft', null,
      h('div.row-top', null, draftBadge(), h('span.row-cat', { text: d.record ? t('k.inspection') : label('cat', d.fields.category) }),
        d.fields.fixed_on_site ? h('span.tag', { text: t('report.how_fix') }) : null,
        d.fields.severity === 'major' ? h('span.tag.tag-major', { text: t('badge.major') }) : null),
      h('div.row-text', { text: d.record ? d.label : d.fields.text }),
      h('div.row-meta', null,
        h('span', { text: ctx.scopeName(d.record ? d.scope : d.fields.grid) }),
        h('span', { text: t('drafts.captured', { t: d.captured_at || '' }) }),
        h('span', { text: t('drafts.n_photos', { n: (d.photos || []).length + (d.fix_photos || []).length }) })),
      thumbs.length ? h('div.thumbs', null, thumbs) : null,
      d.key !== ctx.me.key ? message(t('drafts.other_person', { name: d.key }), 'warn') : null,
      d.last_error ? message(t('drafts.error', { why: d.last_error }), d.failed ? 'error' : 'warn') : null,
      h('div.button-row', null,
        busy ? h('span.muted', { text: t('drafts.busy') }) : null,
        h('button.btn.btn-quiet.btn-small', { type: 'button', text: t('drafts.delete'), disabled: busy, onclick: async () => {
          if (!window.confirm(t('drafts.delete_confirm'))) return;
          await outbox.remove(d.id);
        } }))));
  }
  card.appendChild(list);
  if (mine.length) {
    const button = h('button.btn.btn-main', { type: 'button', text: t('drafts.submit') });
    button.addEventListener('click', async () => {
      button.disabled = true;
      button.textContent = t('drafts.busy');
      const r = await ctx.flushOutbox(true);
      if (r && r.offline) toast(t('drafts.still_offline'), 'error');
      else if (r && r.failed && !r.sent) toast(t('drafts.refused'), 'error');
      button.disabled = false;
      button.textContent = t('drafts.submit');
    });
    card.appendChild(h('div.actionbar', null, button));
  }
}
