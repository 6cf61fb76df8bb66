// records.js — the records that are not hazards (API.md: records), one module as the kinds differ
// only in fields: the 更多 menu; lists of patrols, tips, incidents, notices; a record's page (a
// ledger unit's too): fields, photos, signed history, the steps the node allows (`actions`,
// `acknowledge_for`: 签收); forms for a tip, an incident, a notice and a patrol with its
// checklist, each sent once under an Idempotency-Key; 人员.
import { call, errorText, ApiError } from './api.js';
import { t, label, zh } from './i18n.js';
import { h, clear, message, section, syncBadge, showTime, shortKey, toast, fact, backLink, stepsArea, fmtDateTime } from './ui.js';
import { photoPicker, thumbnails } from './photos.js';
import * as outbox from './outbox.js';
import { gridOptions } from './report.js';
import { locationField } from './map.js';

const CAN = { tip: 'tip.enter', incident: 'incident.report', notice: 'notice.send', training: 'training.record', meeting: 'meeting.record', notebook: 'notebook.write' };
// Kinds entered at an office's own scope (a village, a township) rather than at a grid.
const AT_OFFICE = { notice: 1, training: 1, meeting: 1 };
// The field a new record cannot go without.
const NEED = { notice: 'title', training: 'topic', meeting: 'minutes', person: 'name' };
// The fields shown as facts; name, title or text is the heading.
const FACTS = {
  unit: ['address', 'industry', 'scale', 'licence', 'contacts', 'departments', 'three_small'],
  tip: ['source', 'outcome', 'reason'],
  incident: ['status', 'deaths', 'injuries'],
  person: ['office', 'phone', 'grid'],
  training: ['date', 'hours', 'attendees'],
  meeting: ['date', 'attendees'],
  notebook: ['date'],
};
const INC = ['rescuing', 'controlled', 'closed'];

const val = (r, name) => (r.fields && r.fields[name] ? (r.fields[name].hidden ? t('p.hidden') : r.fields[name].value) : '');
const enc = encodeURIComponent;
const places = (r) => val(r, 'recipients').split(',').filter(Boolean);

// The ledger's units, asked once per sign-in (a patrol names its unit by id).
async function units(ctx) {
  if (!ctx.unitsCache) ctx.unitsCache = (await call('GET', 'units').catch(() => ({}))).items || null;
  return ctx.unitsCache || [];
}
// Who is who (GET people), asked once per page that needs names; attendees are profile ids or names.
async function folk(ctx, fresh) {
  if (!ctx.folk || fresh) ctx.folk = await call('GET', 'people').catch(() => ({ items: [], profiles: [] }));
  return ctx.folk;
}
const who = (id, ctx) => ((ctx.folk && ctx.folk.profiles) || []).filter((p) => p.id === id).map((p) => p.name)[0] || (id.length === 64 ? shortKey(id) : id);
const unitName = (id, ctx) => ((ctx.unitsCache || []).filter((u) => u.id === id)[0] || { name: shortKey(id) }).name;

// A patrol's checklist: lines ITEM:pass|fail|na[:note].
function checks(r) {
  return val(r, 'items').split('\n').filter(Boolean).map((line) => {
    const a = line.split(':');
    return { item: a[0], result: a[1], note: a.slice(2).join(':') };
  });
}

// A field's value in words, '' to leave it out.
function shown(kind, name, v, ctx) {
  if (!v) return '';
  if (name === 'key_supervision' || name === 'three_small') return v === 'true' ? t('rec.yes') : '';
  if (name === 'status') return label(kind === 'unit' ? 'status' : 'inc', v);
  if (name === 'outcome' || name === 'by') return label(name, v);
  if (name === 'recipient' || name === 'grid') return ctx.scopeName(v);
  if (name === 'recipients') return v.split(',').map((c) => ctx.scopeName(c)).join('、');
  if (name === 'attendees') return v.split(',').map((a) => who(a, ctx)).join('、');
  if (name === 'hours') return t('tr.hours', { n: v });
  return v;
}

// The state's badge: [text, the hazard state whose colour it takes].
function state(r) {
  const k = r.kind;
  if (k === 'tip') {
    const o = val(r, 'outcome');
    return [label('outcome', o), o === 'dismissed' ? 'archived' : o ? 'handled' : 'reported'];
  }
  if (k === 'incident') {
    const s = val(r, 'status');
    return [s ? label('inc', s) : label('ra', 'report'), s === 'closed' ? 'archived' : s === 'rescuing' || !s ? 'rejected' : 'handled'];
  }
  if (k === 'notice') {
    const n = places(r).length;
    const signed = places(r).filter((p) => (r.acknowledged || []).indexOf(p) >= 0).length;
    return [t('n.count', { k: signed, n: n }), signed >= n ? 'archived' : 'handled'];
  }
  if (k === 'person') return [r.profile && r.profile.holder ? t('p.bound') : t('p.unbound'), r.profile && r.profile.holder ? 'archived' : 'handled'];
  if (val(r, 'date')) return [val(r, 'date'), 'archived'];
  if (k === 'inspection') {
    const fails = checks(r).filter((c) => c.result === 'fail').length;
    return [fails ? t('ck.fails', { n: fails }) : t('ck.all_pass'), fails ? 'rejected' : 'archived'];
  }
  return [label('status', r.status), r.status === 'active' ? 'archived' : 'rejected'];
}

function title(r, ctx) {
  const k = r.kind;
  return (k === 'inspection' ? t('pt.title', { name: unitName(r.refs[0], ctx) })
    : val(r, k === 'unit' || k === 'person' ? 'name' : k === 'notice' ? 'title' : k === 'training' ? 'topic' : k === 'meeting' ? (val(r, 'topic') ? 'topic' : 'minutes') : 'text')) || '—';
}

function recordRow(r, ctx) {
  const st = state(r);
  return h('a.row', { href: '#/record/' + r.id, class: 'row-st-' + st[1] },
    h('div.row-top', null, h('span.badge.st-' + st[1], { text: st[0] }),
      r.kind === 'incident' ? h('span.row-cat', { text: t('inc.toll', { d: val(r, 'deaths') || 0, i: val(r, 'injuries') || 0 }) }) : null),
    h('div.row-text', { text: title(r, ctx) }),
    h('div.row-meta', null, h('span', { text: ctx.scopeName(r.scope) }), h('span', { text: showTime(r.created) }),
      h('span', { text: r.creator_name || shortKey(r.creator) }), syncBadge(r.synced)));
}

async function upload(picker) {
  const out = [];
  for (const blob of picker.blobs()) {
    const a = await call('POST', 'blobs', blob);
    out.push({ hash: a.hash, media_type: a.media_type });
  }
  return out;
}

// [label, input], the input marked with its field for the node's answers.
function field(name, key, input) {
  input.id = 'i-' + name;
  input.setAttribute('data-field', name);
  return [h('label.label', { for: input.id, text: t(key) }), input];
}

// A page's form, or a step's given `close`. `send` throws [sentence, field] on wrong input.
function form(head, parts, submit, send, close) {
  const error = h('div.form-error', { 'aria-live': 'assertive' });
  const ok = h('button.btn.btn-main', { type: 'submit', text: submit });
  const el = h(close ? 'form.action-form' : 'form.card.report', { novalidate: true }, h(close ? 'h3' : 'h1', { text: head }), parts, error,
    h(close ? 'div.button-row' : 'div.actionbar', null, ok, close ? h('button.btn.btn-quiet', { type: 'button', text: t('form.cancel'), onclick: close }) : null));
  el.addEventListener('submit', async (e) => {
    e.preventDefault();
    clear(error);
    el.querySelectorAll('.bad').forEach((x) => x.classList.remove('bad'));
    ok.disabled = true;
    try {
      await send();
    } catch (err) {
      const [text, name] = err instanceof Error ? [errorText(err), err.field] : err;
      clear(error).appendChild(message(text, 'error'));
      const bad = name && el.querySelector('[data-field="' + name + '"]');
      if (bad) bad.classList.add('bad');
      (bad || error).scrollIntoView({ block: 'center' });
    }
    ok.disabled = false;
  });
  return el;
}

// #/tips, #/incidents, #/notices, #/inspections: newest first, 50 at a time.
export async function list(view, params, ctx) {
  const kind = params.match[1];
  document.title = t('app.name') + ' · ' + t('k.' + kind);
  const body = h('div', null, message(t('app.loading')));
  const can = CAN[kind] && ctx.me.can && ctx.me.can[CAN[kind]];
  view.appendChild(h('section.card', null, h('h1', { text: t('k.' + kind) }), body,
    can ? h('div.actionbar', null, h('a.btn.btn-main', { href: '#/new/' + kind, text: t('new.' + kind) })) : null));
  if (kind === 'inspection') await units(ctx);
  let items = [];
  const load = async (page) => {
    const a = await call('GET', 'records?kind=' + kind + '&page=' + page + '&page_size=50');
    const seen = new Set(items.map((r) => r.id));
    items = items.concat(a.items.filter((r) => !seen.has(r.id)));
    clear(body).appendChild(h('p.muted', { text: t('list.total', { n: a.total }) }));
    if (!items.length) body.appendChild(message(t('rec.none')));
    body.appendChild(h('div.rows', null, items.map((r) => recordRow(r, ctx))));
    if (a.total > items.length)
      body.appendChild(h('button.btn.btn-quiet.more', { type: 'button', text: t('home.more', { n: a.total - items.length }),
        onclick: () => load(page + 1).catch((e) => toast(errorText(e), 'error')) }));
  };
  await load(0).catch((e) => clear(body).appendChild(message(errorText(e), 'error')));
}

// Inputs for fields [name, 'area' | 'num' | 'line' | a <select>], each labelled; and their values.
function inputs(spec) {
  const els = {};
  const parts = spec.map(([n, kind, key]) => field(n, key || 'f.' + n, (els[n] = kind instanceof Node ? kind : kind === 'area'
    ? h('textarea.input', { rows: 3, maxlength: 4000 }) : h('input.input', { type: kind === 'num' ? 'number' : kind || 'text', min: 0, maxlength: 200, step: 'any' }))));
  if (els.date) els.date.value = fmtDateTime(Date.now()).slice(0, 10);
  return [parts, () => {
    const f = {};
    for (const n in els) if (els[n].value.trim()) f[n] = els[n].value.trim();
    return f;
  }];
}
const NEW = { tip: [['text', 'area'], ['source']], incident: [['text', 'area'], ['deaths', 'num'], ['injuries', 'num']], notice: [['title'], ['text', 'area']],
  person: [['name', '', 'p.name'], ['phone', 'tel'], ['office']], training: [['date', 'date'], ['topic'], ['hours', 'num'], ['text', 'area']],
  meeting: [['date', 'date'], ['topic'], ['minutes', 'area']], notebook: [['date', 'date'], ['text', 'area']] };

// #/new/tip, #/new/incident, #/new/notice; a notice goes to places under its office, tapped on.
export function create(view, params, ctx) {
  const kind = params.match[1];
  document.title = t('app.name') + ' · ' + t('new.' + kind);
  const key = outbox.newId();
  const notice = kind === 'notice';
  const need = NEED[kind] || 'text';
  const scope = h('select.input', null, (AT_OFFICE[kind] ? [...new Set(ctx.me.roles.map((r) => r.scope))] : gridOptions(ctx))
    .map((c) => h('option', { value: c, text: ctx.scopeName(c) })));
  const [parts, values] = inputs(NEW[kind]);
  const gathering = kind === 'training' || kind === 'meeting';
  const others = h('input.input', { type: 'text', maxlength: 500, placeholder: t('tr.others_hint') });
  const bind = kind === 'person' ? h('select.input', null, h('option', { value: '', text: t('p.no_key') })) : null;
  const photos = photoPicker(t('form.photos'));
  const to = new Set();
  const box = h('div.choices.choices-2', { 'data-field': 'recipients' });
  const drawTo = () => {
    if (gathering) return drawFolk();
    const codes = Object.keys(ctx.regions).filter((c) => c !== scope.value && !c.indexOf(scope.value) && c.indexOf('-') < 0).sort();
    clear(box);
    if (!codes.length) box.appendChild(message(t('n.no_places')));
    for (const c of codes)
      box.appendChild(h('button.choice', { type: 'button', 'aria-pressed': String(to.has(c)), class: to.has(c) ? 'on' : '',
        onclick: () => {
          if (!to.delete(c)) to.add(c);
          drawTo();
        } }, h('span.choice-main', { text: ctx.scopeName(c) }), h('span.choice-note', { text: c })));
  };
  // Attendees: the profiles on the line of the place, tapped on; anyone else by name.
  const drawFolk = () => {
    const s = scope.value;
    const on = (p) => !p.shadowed && (!p.scope.indexOf(s) || !s.indexOf(p.scope));
    clear(box);
    for (const p of ((ctx.folk && ctx.folk.profiles) || []).filter(on))
      box.appendChild(h('button.choice', { type: 'button', 'aria-pressed': String(to.has(p.id)), class: to.has(p.id) ? 'on' : '',
        onclick: () => {
          if (!to.delete(p.id)) to.add(p.id);
          drawFolk();
        } }, h('span.choice-main', { text: p.name }), h('span.choice-note', { text: p.office || ctx.scopeName(p.scope) })));
    if (!box.firstChild) box.appendChild(message(t('tr.no_people')));
  };
  scope.addEventListener('change', () => {
    to.clear();
    drawTo();
  });
  drawTo();
  if (gathering || bind) folk(ctx, true).then((a) => {
    drawTo();
    // Keys that hold an office here and have no profile yet: the person this profile is for.
    if (bind) for (const p of a.items.filter((x) => !x.person)) bind.appendChild(h('option', { value: p.key, text: shortKey(p.key) + ' · ' + label('role', p.role) + ' · ' + ctx.scopeName(p.scope) }));
  });
  view.appendChild(form(t('new.' + kind), [field('scope', notice ? 'rec.sender' : 'rec.scope_new', scope), parts,
    notice || gathering ? [h('p.label', { text: t('f.' + (notice ? 'recipients' : 'attendees')) }), box] : null,
    gathering ? field('others', 'tr.others', others) : null, bind ? field('holder', 'f.holder', bind) : null,
    kind === 'person' || kind === 'notebook' ? null : [h('p.label', { text: t('form.photos') }), photos.el]], t('rec.submit'), async () => {
    const f = values();
    if (!f[need]) throw [t('rec.need', { what: t('f.' + need) }), need];
    if (notice && !to.size) throw [t('n.need_to'), 'recipients'];
    if (notice) f.recipients = [...to].join(',');
    if (gathering) f.attendees = [...to].concat(others.value.split(/[,，、\s]+/).filter(Boolean)).join(',');
    if (gathering && !f.attendees) throw [t('rec.need', { what: t('f.attendees') }), 'recipients'];
    if (bind && bind.value) f.holder = bind.value;
    const a = await call('POST', 'records', { kind: kind, scope: scope.value, fields: f, photos: await upload(photos) }, { headers: { 'Idempotency-Key': key } });
    toast(t('rec.done'), 'ok');
    ctx.go('#/record/' + a.id);
  }));
}

// #/record/ID: any record; a unit's page is the ledger's detail, with its patrols.
export async function show(view, params, ctx) {
  view.appendChild(message(t('app.loading')));
  let r;
  try {
    r = await call('GET', 'records/' + params.match[1]);
    if (r.kind === 'inspection') await units(ctx);
    if (r.kind === 'training' || r.kind === 'meeting') await folk(ctx);
  } catch (e) {
    clear(view).appendChild(message(e instanceof ApiError && e.code === 'not_found' ? t('rec.not_found') : errorText(e), 'error'));
    return;
  }
  clear(view);
  ctx.tab(r.kind === 'unit' || r.kind === 'inspection' ? 'units' : 'more');
  document.title = t('app.name') + ' · ' + title(r, ctx);
  draw(view, r, params.query, ctx);
}

function draw(view, r, query, ctx) {
  const k = r.kind;
  const st = state(r);
  const me = ctx.me;
  const link = (href, text) => h('a', { href: href, text: text });
  const main = h('div.detail-main', null, h('section.card.summary', null,
    backLink(k === 'unit' ? '#/units' : k === 'person' ? '#/people' : '#/' + k + 's'),
    h('div.badges', null, h('span.badge.st-' + st[1], { text: st[0] }),
      val(r, 'key_supervision') === 'true' ? h('span.tag.tag-major', { text: t('units.key') }) : null, syncBadge(r.synced)),
    h('h1.hz-text', { text: title(r, ctx) }),
    (k === 'notice' || k === 'inspection') && val(r, 'text') ? h('p.tl-note', { text: val(r, 'text') }) : null,
    h('dl.facts', null,
      (FACTS[k] || []).map((n) => fact('f.' + n, shown(k, n, val(r, n), ctx))),
      val(r, 'location') ? fact('f.location', link('#/map?at=' + val(r, 'location'), t('map.see'))) : null,
      k === 'inspection' ? fact('hz.unit', link('#/record/' + r.refs[0], unitName(r.refs[0], ctx))) : null,
      (k === 'inspection' || k === 'tip' ? r.refs.slice(k === 'tip' ? 0 : 1) : []).map((id) => fact('f.hazard', link('#/hazard/' + id, t('rec.open_hazard')))),
      k === 'unit' ? fact('unit.confirmed', [['unit', r.confirmed_by_unit], ['grid_leader', r.confirmed_by_grid_leader]].map(([by, yes]) =>
        h('span.tag', { class: yes ? 'tag-ok' : 'tag-major', text: (yes ? '✓ ' : '✗ ') + label('by', by) }))) : null,
      k === 'person' && r.profile ? fact('p.roles', r.profile.roles.map((x) => label('role', x.split('@')[0]) + ' · ' + ctx.scopeName(x.split('@')[1])).join('；') || t('p.no_role')) : null,
      k === 'person' && r.profile ? fact('f.holder', r.profile.keys.map(shortKey).join('、') || t('p.no_key')) : null,
      fact(k === 'notice' ? 'rec.sender' : 'hz.scope', ctx.scopeName(r.scope)),
      fact('rec.creator', r.creator_name || shortKey(r.creator)),
      fact('rec.created', showTime(r.created)))));

  if (k === 'inspection')
    main.appendChild(section(t('f.items'), h('ul.plain.checks', null, checks(r).map((c) => h('li', null,
      h('span.badge', { class: 'ck-' + c.result, text: label('ck', c.result) }), ' ', h('strong', { text: c.item }),
      c.note ? h('span.muted', { text: ' ' + c.note }) : null,
      c.result === 'fail' && me.can && me.can['hazard.report']
        ? h('a.btn.btn-small.btn-quiet', { href: '#/report?unit=' + r.refs[0] + '&grid=' + enc(r.scope) + '&text=' + enc(c.item + (c.note ? '：' + c.note : '')), text: t('home.report') })
        : null)))));

  // A notice: which places signed for it (签收), by whom and when, and which not yet.
  if (k === 'notice') {
    const by = {};
    for (const s of r.history || []) if (s.action === 'acknowledge' && s.effective && s.fields) by[s.fields.recipient] = s;
    const all = [...new Set(places(r).concat(r.acknowledged || []))];
    main.appendChild(section(t('f.recipients'), h('div.rows', null, all.map((p) => {
      const s = by[p];
      const yes = (r.acknowledged || []).indexOf(p) >= 0;
      return h('div.row.place', { class: yes ? 'row-st-archived' : 'row-st-handled' },
        h('div.row-top', null, h('strong', { text: ctx.scopeName(p) }),
          h('span.tag', { class: yes ? 'tag-ok' : 'tag-wait', text: (yes ? '✓ ' : '') + (yes ? label('state', 'received') : t('n.unsigned')) })),
        s ? h('div.row-meta', null, h('span', { text: s.author_name || shortKey(s.author) }), h('span', { text: showTime(s.time) })) : null);
    }))));
  }

  if (r.photos && r.photos.length) main.appendChild(section(t('hz.photos'), thumbnails(r.photos, title(r, ctx))));

  // A unit's patrols, newest first.
  const side = h('div.detail-side');
  if (k === 'unit') {
    const patrols = section(t('k.inspection'), message(t('app.loading')));
    side.appendChild(patrols);
    call('GET', 'records?kind=inspection&page_size=500&scope=' + enc(r.scope)).then((a) => {
      const mine = a.items.filter((x) => x.refs[0] === r.id);
      patrols.replaceChild(mine.length ? h('div.rows', null, mine.map((x) => recordRow(x, ctx))) : message(t('rec.none')), patrols.lastChild);
    }, (e) => patrols.replaceChild(message(errorText(e), 'error'), patrols.lastChild));
  }

  side.appendChild(section(t('hz.history'), h('ol.timeline', null, (r.history || []).map((s, i) => h('li', { class: s.effective ? 'ok' : 'void' },
    h('div.tl-head', null, h('strong.tl-what', { text: s.action === 'confirm' && s.fields ? label('by', s.fields.by) : s.action === 'record' && k !== 'inspection' ? t('k.' + k) : label('ra', k === 'person' && s.action === 'add' ? 'enter' : s.action) }),
      h('span.tag', { class: s.effective ? 'tag-ok' : 'tag-void', text: t(s.effective ? 'hz.effective' : 'hz.void') })),
    h('div.tl-meta', null, h('span.tl-who', { text: s.author_name || shortKey(s.author) }),
      s.office ? h('span.tl-office', { text: label('role', s.office.role) + ' · ' + ctx.scopeName(s.office.scope) }) : null,
      h('span.tl-when', { text: showTime(s.time) })),
    Object.keys(s.fields || {}).filter((n) => n !== 'by' && n !== 'items' && n !== 'holder' && (i || s.fields[n] !== val(r, n))).map((n) => h('p.tl-decided', { text: label('f', n) + '：' + (shown(k, n, s.fields[n], ctx) || s.fields[n]) })),
    !s.effective && s.reason ? h('p.tl-reason', { text: t('hz.void_reason', { why: s.reason }) }) : null)))));

  // The steps: a page to open, a form to fill, or one tap (签收, a confirmation).
  const may = (a) => (r.actions || []).indexOf(a) >= 0;
  const post = (action, body) => call('POST', 'records/' + r.id + '/' + action, body).then(() => {
    toast(t('rec.done'), 'ok');
    ctx.rerender();
  });
  const now = (text, action, fields) => ({ text: text, run: (e) => {
    const b = e.currentTarget;
    b.disabled = true;
    post(action, { fields: fields }).catch((err) => {
      toast(errorText(err), 'error');
      b.disabled = false;
    });
  } });
  const steps = [];
  if (k === 'unit' && r.status === 'active') {
    if (me.can && me.can.inspect) steps.push({ text: label('ra', 'record'), href: '#/patrol/' + r.id });
    if (may('edit') && !r.confirmed_by_unit) steps.push(now(label('by', 'unit'), 'confirm', { by: 'unit' }));
    if (may('confirm') && !r.confirmed_by_grid_leader) steps.push(now(label('by', 'grid_leader'), 'confirm', { by: 'grid_leader' }));
    if (may('edit')) steps.push({ text: t('unit.locate'), form: (c) => {
      const w = locationField(val(r, 'location'));
      return form(t('unit.locate'), [h('p.label', { text: t('f.location') }), w.el], t('form.ok'), () => {
        if (!w.value()) throw [t('loc.none'), 'location'];
        return post('edit', { fields: { location: w.value() } });
      }, c);
    } });
    if (may('close')) steps.push({ text: label('ra', 'close'), form: (c) => closeForm(post, c) });
  }
  const verify = (c) => verifyForm(r, post, c, query.hazard);
  if (may('verify')) steps.push({ text: label('ra', 'verify'), form: verify });
  if (may('update')) steps.push({ text: label('ra', 'update'), form: (c) => updateForm(r, post, c) });
  if (k === 'person' && (may('edit') || may('edit_self'))) steps.push({ text: label('ra', 'edit'), form: (c) => personForm(r, may('edit'), post, c) });
  for (const p of r.acknowledge_for || []) steps.push(now(t('n.sign', { place: ctx.scopeName(p) }), 'acknowledge', { recipient: p }));
  const open = stepsArea(view, h('div.detail', null, main, side), steps, '');
  // Back from reporting the hazard a tip became: its verification, with that hazard chosen.
  if (query.hazard && may('verify')) open(verify);
}

function choices(options, value, onpick) {
  const box = h('div.choices.choices-2', { role: 'radiogroup' });
  const draw = () => {
    clear(box);
    for (const [v, text] of options)
      box.appendChild(h('button.choice', { type: 'button', role: 'radio', 'aria-checked': String(v === value), class: v === value ? 'on' : '',
        onclick: () => {
          value = v;
          onpick(v);
          draw();
        } }, h('span.choice-main', { text: text })));
  };
  draw();
  return box;
}

function closeForm(post, close) {
  const [parts, values] = inputs([['status', h('select.input', null, ['moved_out', 'closed'].map((s) => h('option', { value: s, text: label('status', s) })))]]);
  return form(label('ra', 'close'), parts, t('form.confirm', { act: label('ra', 'close') }), () => post('close', { fields: values() }), close);
}

// 核查: not true (a reason), or true and reported as a hazard (which one; or report it first).
function verifyForm(r, post, close, hazard) {
  let outcome = hazard ? 'hazard' : 'dismissed';
  const reason = h('textarea.input', { rows: 2, maxlength: 4000 });
  const pick = h('select.input');
  const why = h('div', null, field('reason', 'f.reason', reason));
  const which = h('div', null, field('hazard', 'tip.pick', pick),
    h('a.btn.btn-quiet.more', { href: '#/report?tip=' + r.id + '&grid=' + enc(r.scope) + '&text=' + enc(val(r, 'text')), text: t('tip.report_first') }));
  const drawn = () => {
    why.hidden = outcome !== 'dismissed';
    which.hidden = outcome !== 'hazard';
  };
  drawn();
  call('GET', 'hazards?page_size=50&scope=' + enc(r.scope)).then((a) => {
    for (const hz of a.items) pick.appendChild(h('option', { value: hz.id, text: hz.description + ' · ' + showTime(hz.reported_at).slice(0, 10) }));
    if (hazard) pick.value = hazard;
  }, () => {});
  return form(label('ra', 'verify'), [choices([['dismissed', t('tip.dismiss')], ['hazard', t('tip.hazard')]], outcome, (v) => {
    outcome = v;
    drawn();
  }), why, which], t('form.confirm', { act: label('ra', 'verify') }), () => {
    if (outcome === 'dismissed') {
      if (!reason.value.trim()) throw [t('rec.need', { what: t('f.reason') }), 'reason'];
      return post('verify', { fields: { outcome: outcome, reason: reason.value.trim() } });
    }
    if (!pick.value) throw [t('tip.no_hazards'), 'hazard'];
    return post('verify', { fields: { outcome: outcome }, hazard: pick.value });
  }, close);
}

// A profile's change: an office changes any field; the person their own name and phone.
function personForm(r, office, post, close) {
  const [parts, values] = inputs([['name', '', 'p.name'], ['phone', 'tel']].concat(office ? [['office']] : []));
  parts.forEach(([, input]) => (input.value = val(r, input.getAttribute('data-field'))));
  return form(label('ra', 'edit'), parts, t('form.confirm', { act: label('ra', 'edit') }), () => {
    const f = values();
    for (const n in f) if (f[n] === val(r, n)) delete f[n];
    if (!Object.keys(f).length) throw [t('inc.update_none'), 'name'];
    return post('edit', { fields: f });
  }, close);
}

// 续报: the status, what happened since, the casualties now; only what is filled in.
function updateForm(r, post, close) {
  const [parts, values] = inputs([['status', h('select.input', null, ['', ...INC].map((s) => h('option', { value: s, text: s ? label('inc', s) : t('inc.keep') })))],
    ['text', 'area'], ['deaths', 'num'], ['injuries', 'num']]);
  return form(label('ra', 'update'), parts, t('form.confirm', { act: label('ra', 'update') }), () => {
    const f = values();
    if (!Object.keys(f).length) throw [t('inc.update_none'), 'text'];
    return post('update', { fields: f });
  }, close);
}

export function menu(view) {
  document.title = t('app.name') + ' · ' + t('nav.more');
  view.appendChild(h('section.card', null, h('h1', { text: t('nav.more') }), h('div.rows', null,
    ['inspection', 'tip', 'incident', 'notice', 'training', 'meeting', 'notebook', 'people', 'map'].map((k) => h('a.row.menu', { href: '#/' + k + (k === 'people' || k === 'map' ? '' : 's') },
      h('strong.unit-name', { text: t('k.' + k) }))))));
}

// #/patrol/UNIT: each checklist item (seed 001: 巡查清单) 合格, 不合格 or 不适用, with a note.
const ITEMS = ['ck.1', 'ck.2', 'ck.3', 'ck.4', 'ck.5'];
export async function patrol(view, params, ctx) {
  const id = params.match[1];
  const u = (await units(ctx)).filter((x) => x.id === id)[0];
  if (!u) return view.appendChild(message(t('rec.not_found'), 'error'));
  document.title = t('app.name') + ' · ' + t('pt.title', { name: u.name });
  const key = outbox.newId();
  const results = {};
  const notes = {};
  const list = ITEMS.map((k) => {
    const row = h('div.choices.choices-3', { role: 'radiogroup', 'aria-label': t(k) });
    const note = notes[k] = h('input.input.hidden', { type: 'text', maxlength: 500, placeholder: t('ck.note'), 'aria-label': t('ck.note') });
    const draw = () => {
      clear(row);
      for (const res of ['pass', 'fail', 'na'])
        row.appendChild(h('button.choice.ck-' + res, { type: 'button', role: 'radio', 'aria-checked': String(results[k] === res), class: results[k] === res ? 'on' : '',
          onclick: () => {
            results[k] = res;
            note.classList.remove('hidden');
            draw();
          } }, h('span.choice-main', { text: t('ck.' + res) })));
    };
    draw();
    return h('fieldset.check', { 'data-field': k }, h('legend', { text: t(k) }), row, note);
  });
  const text = h('textarea.input', { rows: 3, maxlength: 4000 });
  const photos = photoPicker(t('form.photos'));
  view.appendChild(form(t('pt.title', { name: u.name }), [
    h('p.muted', { text: [u.address, ctx.scopeName(u.scope)].filter(Boolean).join(' · ') }),
    list, field('text', 'pt.text', text), h('p.label', { text: t('form.photos') }), photos.el], t('pt.submit'), async () => {
    const missing = ITEMS.filter((k) => !results[k]);
    if (missing.length) throw [t('ck.need'), missing[0]];
    // In Chinese whatever the page's language: the township reads it too.
    const items = ITEMS.map((k) => zh(k) + ':' + results[k] + (notes[k].value.trim() ? ':' + notes[k].value.trim() : ''));
    // Sent as a draft of the outbox: out of Wi-Fi range in the field it is kept (待提交) and sent
    // once when the node is back, as a hazard report is.
    const draft = { id: key, key: ctx.me.key, public_key: ctx.me.public_key, created_ms: Date.now(), record: true,
      label: u.name, scope: u.scope, fields: { kind: 'inspection', unit: id, fields: { items: items, text: text.value.trim() } },
      photos: photos.blobs(), fix_photos: [] };
    const r = await outbox.send(draft);
    if (r.ok) {
      toast(t('rec.done'), 'ok');
      return ctx.go('#/record/' + r.answer.id);
    }
    if (!r.offline && !(r.error instanceof ApiError && r.error.status === 401)) throw r.error;
    draft.captured_at = fmtDateTime(draft.created_ms);
    await outbox.keep(draft);
    toast(t('report.saved_title'), 'ok');
    ctx.go('#/sync');
  }));
}

// #/people: who is who on this node's line (GET people): each person's profile — name, office,
// phone where this person may see it — by place, and the offices held by keys with no profile yet.
export async function people(view, params, ctx) {
  document.title = t('app.name') + ' · ' + t('k.people');
  const body = h('div', null, message(t('app.loading')));
  view.appendChild(h('section.card', null, h('h1', { text: t('k.people') }), body));
  let a;
  try {
    a = ctx.folk = await call('GET', 'people?scope=' + enc(ctx.node.scope || ''));
  } catch (e) {
    return clear(body).appendChild(message(errorText(e), 'error'));
  }
  const rows = [];
  for (const p of a.profiles.filter((x) => !x.shadowed))
    rows.push([p.scope, h('a.row.unit', { href: '#/record/' + p.id }, h('div.row-top', null, h('strong.unit-name', { text: p.name }),
      p.office ? h('span.tag', { text: p.office }) : null, p.holder ? null : h('span.tag.tag-wait', { text: t('p.unbound') })),
    h('div.row-meta', null, p.roles.map((x) => h('span', { text: label('role', x.split('@')[0]) })),
      p.phone ? h('span.phone', { text: p.phone }) : p.phone_hidden ? h('span.muted', { text: t('f.phone') + ' ' + t('p.hidden') }) : null))]);
  for (const p of a.items.filter((x) => !x.person))
    rows.push([p.scope, h('div.row.unit', null, h('div.row-top', null, h('strong.unit-name', { text: p.name || shortKey(p.key) }),
      h('span.tag', { text: label('role', p.role) }), p.root ? h('span.tag.tag-flag', { text: t('role.root') }) : null),
    h('div.row-meta', null, h('span.muted', { text: t('p.no_profile') }), p.categories.length ? h('span', { text: p.categories.map((c) => label('cat', c)).join('、') }) : null))]);
  const list = clear(body).appendChild(h('div.rows'));
  let at = null;
  for (const [scope, row] of rows.sort((x, y) => x[0].localeCompare(y[0]))) {
    if (scope !== at) list.appendChild(h('h3.group', { text: ctx.scopeName(scope) }));
    at = scope;
    list.appendChild(row);
  }
  if (a.may_edit) body.appendChild(h('div.actionbar', null, h('a.btn.btn-main', { href: '#/new/person', text: t('new.person') })));
}
