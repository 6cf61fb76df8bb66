// report.js — 上报隐患: grid (the person's own by default), unit from the ledger, category as large
// buttons, severity, text, photos shrunk on the phone; then 上报 (send up) or 现场整改 (fixed on
// the spot, with an after-photo). When the node cannot be reached the report is kept on the phone
// as a draft (待提交, outbox.js) and goes by itself later, exactly once. A failed patrol item or a
// tip found true opens it prefilled (#/report?unit=&grid=&text=&at=, and tip= to verify the tip
// after). 位置: the phone's position or a point picked on the map (map.js).
import { call, errorText, ApiError } from './api.js';
import { t, label, CATEGORIES } from './i18n.js';
import { h, clear, message, fmtDateTime, toast } from './ui.js';
import { photoPicker } from './photos.js';
import * as outbox from './outbox.js';
import { locationField } from './map.js';

function contains(outer, inner) {
  if (outer === inner) return true;
  if (outer.indexOf('-') >= 0 || inner.indexOf(outer) !== 0) return false;
  if (outer.length === 12) return inner.charAt(12) === '-';
  return inner.length > outer.length;
}

// The grids and villages this person may report in: their roles' scopes, and the registered
// villages and grids inside them. The deepest role scope comes first (the default).
export function gridOptions(ctx) {
  const roleScopes = [];
  for (const r of ctx.me.roles || []) if (roleScopes.indexOf(r.scope) < 0) roleScopes.push(r.scope);
  roleScopes.sort((a, b) => b.length - a.length);
  const out = roleScopes.slice();
  for (const code of Object.keys(ctx.regions).sort())
    if (code.length >= 12 && out.indexOf(code) < 0 && roleScopes.some((s) => contains(s, code))) out.push(code);
  return out;
}

export async function render(view, params, ctx) {
  document.title = t('app.name') + ' · ' + t('report.title');
  const me = ctx.me;
  if (me.can && !me.can['hazard.report']) {
    view.appendChild(message(t('report.cannot'), 'error'));
    return;
  }
  const q = params.query;
  const f = { id: outbox.newId(), grid: '', unit: null, category: '', severity: 'general', fix: false };
  const grids = gridOptions(ctx);
  f.grid = grids.indexOf(q.grid) >= 0 ? q.grid : grids[0] || ctx.node.scope || '';

  // Grid.
  const gridSelect = h('select.input', { id: 'f-grid', 'data-field': 'grid', onchange: (e) => {
    f.grid = e.target.value;
  } }, grids.map((code) => h('option', { value: code, text: ctx.scopeName(code) + (ctx.scopeName(code) !== code ? ' · ' + code : '') })));
  gridSelect.value = f.grid;

  // Unit, searched in the ledger by name or address.
  const unitBox = h('div.unit-pick', { 'data-field': 'unit' });
  const unitFilter = h('input.input', { type: 'search', id: 'f-unit', placeholder: t('report.unit_filter'), autocomplete: 'off' });
  const unitResults = h('div.unit-results');
  const unitChosen = h('div.unit-chosen');
  const drawUnit = () => {
    clear(unitChosen);
    if (f.unit) {
      unitChosen.appendChild(h('span.pill', null, h('strong', { text: f.unit.name }), f.unit.address ? ' · ' + f.unit.address : ''));
      unitChosen.appendChild(h('button.btn.btn-quiet.btn-small', { type: 'button', text: t('report.unit_clear'), onclick: () => {
        f.unit = null;
        drawUnit();
      } }));
      unitFilter.hidden = true;
      unitResults.hidden = true;
    } else {
      unitFilter.hidden = false;
      unitResults.hidden = false;
      unitChosen.appendChild(h('span.muted', { text: t('report.unit_none') }));
    }
  };
  const drawResults = () => {
    clear(unitResults);
    const q = unitFilter.value.trim().toLowerCase();
    if (!q || !ctx.unitsCache) return;
    const found = ctx.unitsCache.filter((u) => u.status !== 'closed' && u.status !== 'moved_out' &&
      ((u.name || '').toLowerCase().indexOf(q) >= 0 || (u.address || '').toLowerCase().indexOf(q) >= 0));
    if (!found.length) unitResults.appendChild(message(t('report.unit_empty')));
    for (const u of found.slice(0, 8))
      unitResults.appendChild(h('button.choice.choice-row', { type: 'button', onclick: () => {
        f.unit = u;
        unitFilter.value = '';
        clear(unitResults);
        drawUnit();
      } }, h('span.choice-main', { text: u.name }), h('span.choice-note', { text: [u.address, ctx.scopeName(u.scope)].filter(Boolean).join(' · ') })));
  };
  unitFilter.addEventListener('input', drawResults);
  const prefill = () => {
    f.unit = (ctx.unitsCache || []).filter((u) => u.id === q.unit)[0] || f.unit;
    drawUnit();
  };
  unitBox.appendChild(unitChosen);
  unitBox.appendChild(unitFilter);
  unitBox.appendChild(unitResults);
  prefill();
  if (!ctx.unitsCache)
    call('GET', 'units').then((a) => {
      ctx.unitsCache = a.items || [];
      drawResults();
      prefill();
    }).catch(() => {});

  // Category: large buttons with icons.
  const cats = h('div.cats', { role: 'radiogroup', 'aria-labelledby': 'l-category', 'data-field': 'category' });
  const drawCats = () => {
    clear(cats);
    for (const c of CATEGORIES) {
      const on = f.category === c;
      cats.appendChild(h('button.cat', { type: 'button', role: 'radio', 'aria-checked': on ? 'true' : 'false', class: on ? 'on' : '',
        onclick: () => {
          f.category = c;
          drawCats();
        } }, h('img', { src: 'icons/' + c + '.svg', alt: '', width: 32, height: 32 }), h('span', { text: label('cat', c) })));
    }
  };
  drawCats();

  // Severity.
  const sev = h('div.choices.choices-2', { role: 'radiogroup', 'aria-labelledby': 'l-severity', 'data-field': 'severity' });
  const sevNote = h('p.note.hidden', { text: t('report.major_note') });
  const drawSev = () => {
    clear(sev);
    for (const s of ['general', 'major']) {
      const on = f.severity === s;
      sev.appendChild(h('button.choice', { type: 'button', role: 'radio', 'aria-checked': on ? 'true' : 'false', class: (on ? 'on ' : '') + 'sev-' + s,
        onclick: () => {
          f.severity = s;
          if (s === 'major') f.fix = false;
          drawSev();
          drawHow();
        } }, h('span.choice-main', { text: label('sev', s) })));
    }
    sevNote.className = f.severity === 'major' ? 'note' : 'note hidden';
  };

  const where = locationField(q.at);
  const text = h('textarea.input', { id: 'f-text', rows: 3, 'data-field': 'text', placeholder: t('report.text_ph'), maxlength: 4000, value: q.text });
  const photos = photoPicker(t('report.photos'));
  photos.el.setAttribute('data-field', 'photos');

  // What next: send up, or fixed on the spot.
  const how = h('div.choices.choices-2', { role: 'radiogroup', 'aria-labelledby': 'l-how' });
  const fixPhotos = photoPicker(t('report.fix_photos'));
  fixPhotos.el.setAttribute('data-field', 'fix_photos');
  const fixText = h('textarea.input', { id: 'f-fix-text', rows: 2, placeholder: t('report.fix_text_ph'), maxlength: 4000 });
  const fixBox = h('div.fixbox', null,
    h('p.label', { text: t('report.fix_photos') }), fixPhotos.el,
    h('label.label', { for: 'f-fix-text', text: t('report.fix_text') }), fixText);
  const submit = h('button.btn.btn-main', { type: 'submit' });
  const drawHow = () => {
    clear(how);
    for (const [mode, key, note] of [[false, 'report.how_send', 'report.how_send_note'], [true, 'report.how_fix', 'report.how_fix_note']]) {
      const on = f.fix === mode;
      how.appendChild(h('button.choice', { type: 'button', role: 'radio', 'aria-checked': on ? 'true' : 'false', class: on ? 'on' : '',
        disabled: mode && f.severity === 'major',
        onclick: () => {
          f.fix = mode;
          drawHow();
        } }, h('span.choice-main', { text: t(key) }), h('span.choice-note', { text: t(note) })));
    }
    fixBox.hidden = !f.fix;
    submit.textContent = t(f.fix ? 'report.submit_fix' : 'report.submit_send');
  };
  drawSev();
  drawHow();

  const error = h('div.form-error', { 'aria-live': 'assertive' });
  const field = (id, key, input, extra) => h('div.field', null,
    h(input.tagName === 'DIV' ? 'p.label' : 'label.label', { id: 'l-' + id, for: input.tagName === 'DIV' ? null : input.id, text: t(key) }), input, extra || null);

  const form = h('form.card.report', { novalidate: true }, h('h1', { text: t('report.title') }),
    field('grid', 'report.grid', gridSelect),
    field('unit', 'report.unit', unitBox),
    field('location', 'f.location', where.el),
    field('category', 'report.category', cats),
    field('severity', 'report.severity', sev, sevNote),
    field('text', 'report.text', text),
    field('photos', 'report.photos', photos.el),
    field('how', 'report.how', how),
    fixBox,
    error,
    h('div.actionbar', null, submit));

  const fail = (text, fieldName) => {
    clear(error).appendChild(message(text, 'error'));
    form.querySelectorAll('.bad').forEach((el) => el.classList.remove('bad'));
    const target = fieldName && form.querySelector('[data-field="' + fieldName + '"]');
    if (target) {
      target.classList.add('bad');
      target.scrollIntoView({ block: 'center' });
    } else error.scrollIntoView({ block: 'center' });
  };

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clear(error);
    form.querySelectorAll('.bad').forEach((el) => el.classList.remove('bad'));
    if (!f.grid) return fail(t('report.need_grid'), 'grid');
    if (!f.category) return fail(t('report.need_category'), 'category');
    if (!text.value.trim()) return fail(t('report.need_text'), 'text');
    if (f.fix && !fixPhotos.blobs().length) return fail(t('report.need_fix_photo'), 'fix_photos');
    const draft = {
      id: f.id,
      key: me.key,
      public_key: me.public_key,
      created_ms: Date.now(),
      fields: {
        grid: f.grid, category: f.category, severity: f.severity, text: text.value.trim(), unit: f.unit ? f.unit.id : null,
        fixed_on_site: f.fix, fix_text: f.fix ? fixText.value.trim() : '', location: where.value() || null,
      },
      photos: photos.blobs(),
      fix_photos: f.fix ? fixPhotos.blobs() : [],
    };
    submit.disabled = true;
    submit.textContent = t('report.busy');
    draft.background = true;  // a 401 comes back here: the report is kept before signing in again
    const result = await outbox.send(draft, (i, n) => {
      submit.textContent = t('report.busy_photo', { i: i, n: n });
    });
    submit.disabled = false;
    drawHow();
    if (result.ok) {
      const answer = result.answer;
      toast(answer.fix_error ? t('report.fix_failed', { why: answer.fix_error }) : t('report.done'), answer.fix_error ? 'error' : 'ok');
      ctx.go(q.tip ? '#/record/' + q.tip + '?hazard=' + answer.id : '#/hazard/' + answer.id);
      return;
    }
    const expired = result.error instanceof ApiError && result.error.status === 401;
    if (result.offline || expired) {
      // Kept on the phone with its capture time; submitted later under the same id.
      draft.captured_at = fmtDateTime(draft.created_ms);
      draft.unit_label = f.unit ? f.unit.name : '';
      try {
        await outbox.keep(draft);
      } catch (err) {
        return fail(t('report.save_failed'));
      }
      photos.clear();
      fixPhotos.clear();
      if (expired) {
        ctx.expired(result.error, '#/sync');
        return;
      }
      clear(view).appendChild(h('div.card.saved', { role: 'status' },
        h('h1', null, h('span.tag.tag-draft', { text: t('badge.draft') }), ' ', t('report.saved_title')),
        h('p', { text: t('report.saved_note') }),
        h('div.button-row', null,
          h('button.btn', { type: 'button', text: t('report.another'), onclick: () => ctx.rerender() }),
          h('a.btn.btn-quiet', { href: '#/sync', text: t('report.see_drafts') }))));
      window.scrollTo(0, 0);
      return;
    }
    if (result.error) return fail(errorText(result.error), result.error instanceof ApiError ? result.error.field : '');
  });

  view.appendChild(form);
}
