// hazard.js — 隐患详情: the state with its colour and label, level, category, severity, the deadline
// countdown, assignees and returns; the photos before and after; the signed history as a timeline
// (who, what, when, note, photos, 已生效 or 无效 with the reason); and only the steps the node says
// this person may take now (`actions`), each with the inputs it needs.
import { call, errorText, ApiError } from './api.js';
import { t, label, lang, CATEGORIES } from './i18n.js';
import { h, clear, message, section, stateBadge, syncBadge, countdown, hasFlag, showTime, shortKey, toast, fact, backLink, stepsArea } from './ui.js';
import { photoPicker, thumbnails } from './photos.js';

const ORDER = ['verify', 'handled', 'assign', 'receive', 'signoff', 'escalate', 'notice', 'fix'];
const rank = (a) => (ORDER.indexOf(a) >= 0 ? ORDER.indexOf(a) : ORDER.length);
const BEFORE = ['report'];
const AFTER = ['fix', 'handled', 'verify'];

export async function render(view, params, ctx) {
  document.title = t('app.name') + ' · ' + t('hz.title');
  const id = params.match[1];
  view.appendChild(message(t('app.loading')));
  let hz;
  try {
    hz = await call('GET', 'hazards/' + id);
  } catch (e) {
    clear(view).appendChild(message(e instanceof ApiError && e.code === 'not_found' ? t('hz.not_found') : errorText(e), 'error'));
    return;
  }
  clear(view);
  draw(view, hz, ctx);
}

function personName(hex, ctx, named) {
  return named || ctx.keyName(hex) || shortKey(hex);
}

// What a step decided, in words: 复查通过 or 驳回, to whom it was assigned, the notice's deadline.
function decided(step) {
  const out = [];
  if (step.action === 'verify' && 'pass' in step) out.push(t(step.pass ? 'tl.pass' : 'tl.fail'));
  if (step.department) out.push(t('tl.assign', { dept: t('hz.assignee_dept', { cat: label('cat', step.department) }) }));
  if (step.action === 'escalate' && step.to_level) out.push(t('tl.escalate', { level: label('level', step.to_level) }));
  if (step.deadline) out.push(t('tl.notice', { date: step.deadline, who: step.responsible || '—' }));
  if (step.measures) out.push(t('tl.measures', { what: step.measures }));
  if (step.location) out.push(t('f.location') + '：' + step.location.replace(',', ', '));
  if (step.action === 'reclassify' && (step.category || step.severity))
    out.push(t('tl.reclassify', { what: [step.category ? label('cat', step.category) : '', step.severity ? label('sev', step.severity) : ''].filter(Boolean).join(' · ') }));
  return out;
}

function draw(view, hz, ctx) {
  const cd = countdown(hz);
  const badges = h('div.badges', null,
    stateBadge(hz.state),
    cd && cd.overdue ? h('span.badge.st-overdue', { text: t('badge.overdue') }) : null,
    hz.severity === 'major' ? h('span.tag.tag-major', { text: t('badge.major') }) : null,
    hasFlag(hz, 'listed') ? h('span.tag.tag-flag', { text: t('badge.listed') }) : null,
    hasFlag(hz, 'stop_work') ? h('span.tag.tag-flag', { text: t('badge.stop_work') }) : null,
    hasFlag(hz, 'conflict') ? h('span.tag.tag-flag', { text: t('badge.conflict') }) : null,
    syncBadge(hz.synced));

  const names = {};
  for (const step of hz.history || []) if (step.author_name) names[step.author] = step.author_name;

  const assignees = (hz.assignees || []).map((a) => h('div', null,
    a.department ? t('hz.assignee_dept', { cat: label('cat', a.department) }) : personName(a.key, ctx, names[a.key]),
    a.superseded ? t('hz.superseded') : hz.assignees.length > 1 && a.primary ? t('hz.primary') : ''));

  const unitValue = hz.unit ? h('span', { text: '…' }) : null;
  if (hz.unit) {
    const fill = () => {
      const u = (ctx.unitsCache || []).filter((x) => x.id === hz.unit)[0];
      unitValue.textContent = u ? u.name : shortKey(hz.unit);
    };
    if (ctx.unitsCache) fill();
    else call('GET', 'units').then((a) => {
      ctx.unitsCache = a.items || [];
      fill();
    }).catch(fill);
  }

  const deadline = hz.deadline_ms ? h('span', null, hz.deadline || '', cd ? [' ', h('strong.nowrap', { class: cd.overdue ? 'warn' : 'soon', text: cd.text })] : null) : null;

  const summary = h('section.card.summary', null,
    backLink('#/hazards'),
    badges,
    h('h1.hz-text', { text: hz.description || '—' }),
    h('dl.facts', null,
      fact('hz.category', label('cat', hz.category)),
      fact('hz.severity', label('sev', hz.severity), hz.severity === 'major' ? 'major' : ''),
      fact('hz.level', label('level', hz.level)),
      fact('hz.scope', ctx.scopeName(hz.scope)),
      fact('hz.unit', unitValue),
      hz.location ? fact('f.location', h('a', { href: '#/map?at=' + hz.location, text: t('map.see') })) : null,
      fact('hz.deadline', deadline, cd && cd.overdue ? 'overdue' : ''),
      fact('hz.responsible', hz.responsible),
      fact('hz.measures', hz.measures),
      fact('hz.assignees', assignees.length ? assignees : null),
      fact('hz.returns', t('hz.returns_n', { n: hz.returns || 0 }), hz.returns ? 'overdue' : ''),
      hz.severity === 'major' ? fact('hz.signoffs', t('hz.signoffs_n', { n: hz.signoffs || 0 })) : null,
      fact('hz.reporter', personName(hz.reporter, ctx, hz.reporter_name)),
      fact('hz.reported_at', showTime(hz.reported_at)),
      lang() === 'en' ? fact('hz.awaiting', hz.awaiting) : null));

  // Photos, before and after.
  const before = [];
  const after = [];
  for (const step of hz.history || []) {
    if (!step.effective || !step.photos || !step.photos.length) continue;
    if (BEFORE.indexOf(step.action) >= 0) before.push.apply(before, step.photos);
    else if (AFTER.indexOf(step.action) >= 0 || step.action === 'comment') after.push.apply(after, step.photos);
  }
  const photoCard = section(t('hz.photos'),
    before.length ? [h('h3', { text: t('hz.photos_before') }), thumbnails(before, t('hz.photos_before'))] : null,
    after.length ? [h('h3', { text: t('hz.photos_after') }), thumbnails(after, t('hz.photos_after'))] : null,
    !before.length && !after.length ? message(t('hz.no_photos')) : null);

  const timeline = h('ol.timeline');
  for (const step of hz.history || []) {
    const ok = step.effective;
    const flags = (step.flags || []).map((f) => h('span.tag.tag-flag', { text: f === 'after_revocation' ? t('hz.flag_after_revocation') : f }));
    timeline.appendChild(h('li', { class: ok ? 'ok' : 'void' },
      h('div.tl-head', null,
        h('strong.tl-what', { text: label('act', step.action) }),
        ok ? h('span.tag.tag-ok', { text: t('hz.effective') }) : h('span.tag.tag-void', { text: t('hz.void') }), flags),
      h('div.tl-meta', null,
        h('span.tl-who', { text: personName(step.author, ctx, step.author_name) }),
        step.office ? h('span.tl-office', { text: label('role', step.office.role) + ' · ' + ctx.scopeName(step.office.scope) }) : null,
        h('span.tl-when', { text: showTime(step.time) })),
      decided(step).map((line) => h('p.tl-decided', { text: line })),
      step.text ? h('p.tl-note', { text: step.text }) : null,
      !ok && step.reason ? h('p.tl-reason', { text: t('hz.void_reason', { why: (lang() === 'zh' && step.reason_zh) || step.reason }) }) : null,
      step.overridden_by ? h('p.tl-reason', { text: t('hz.overridden') }) : null,
      step.photos && step.photos.length ? thumbnails(step.photos, label('act', step.action)) : null));
  }
  const historyCard = section(t('hz.history'), timeline);

  // The step this hazard waits for comes first, as the main button.
  const actions = (hz.actions || []).slice().sort((a, b) => rank(a) - rank(b));
  stepsArea(view, h('div.detail', null, h('div.detail-main', null, summary, photoCard), h('div.detail-side', null, historyCard)),
    actions.map((a) => ({ text: label('act', a), form: (close) => actionForm(a, hz, ctx, close) })), t('hz.no_actions'));
}

// The inputs one step needs, and its submission.
function actionForm(action, hz, ctx, close) {
  const error = h('div.form-error', { 'aria-live': 'assertive' });
  const parts = [];
  let text = null;
  let photos = null;
  let department = null;
  let days = null;
  let date = null;
  let responsible = null;
  let measures = null;
  let category = null;
  let severity = null;
  const id = (name) => 'a-' + action + '-' + name;

  if (action === 'assign') {
    department = h('select.input', { id: id('department'), 'data-field': 'department' },
      CATEGORIES.map((c) => h('option', { value: c, text: label('cat', c) })));
    department.value = CATEGORIES.indexOf(hz.category) >= 0 ? hz.category : 'other';
    parts.push(h('label.label', { for: department.id, text: t('form.department') }), department);
  }
  if (action === 'reclassify') {
    category = h('select.input', { id: id('category'), 'data-field': 'category' }, CATEGORIES.map((c) => h('option', { value: c, text: label('cat', c) })));
    category.value = hz.category;
    severity = h('select.input', { id: id('severity'), 'data-field': 'severity' }, ['general', 'major'].map((s) => h('option', { value: s, text: label('sev', s) })));
    severity.value = hz.severity;
    parts.push(h('label.label', { for: category.id, text: t('form.new_category') }), category,
      h('label.label', { for: severity.id, text: t('form.new_severity') }), severity);
  }
  if (action === 'notice') {
    days = h('input.input.input-short', { type: 'number', id: id('days'), min: 1, max: 3650, inputmode: 'numeric', value: '15', 'data-field': 'days' });
    date = h('input.input.input-short', { type: 'date', id: id('date'), 'data-field': 'deadline' });
    responsible = h('input.input', { type: 'text', id: id('responsible'), maxlength: 200, 'data-field': 'responsible' });
    measures = h('textarea.input', { id: id('measures'), rows: 3, 'data-field': 'measures' });
    date.addEventListener('input', () => {
      if (date.value) days.value = '';
    });
    parts.push(h('div.inline-fields', null,
      h('div', null, h('label.label', { for: days.id, text: t('form.days') }), days),
      h('div', null, h('label.label', { for: date.id, text: t('form.or_date') }), date)),
    h('label.label', { for: responsible.id, text: t('form.responsible') }), responsible,
    h('label.label', { for: measures.id, text: t('form.measures') }), measures);
  }
  if (action !== 'notice') {
    text = h('textarea.input', { id: id('text'), rows: 2, 'data-field': 'text', maxlength: 4000 });
    parts.push(h('label.label', { for: text.id, text: t(action === 'close' ? 'form.reason' : 'form.text_opt') }), text);
  }
  if (action === 'handled' || action === 'verify' || action === 'fix') {
    photos = photoPicker(t(action === 'handled' ? 'form.photos' : 'form.after_photos'));
    photos.el.setAttribute('data-field', 'photos');
    parts.push(h('p.label', { text: t(action === 'handled' ? 'form.photos' : 'form.after_photos') }), photos.el);
  }

  const form = h('form.action-form', { novalidate: true });
  const fail = (msg, field) => {
    clear(error).appendChild(message(msg, 'error'));
    form.querySelectorAll('.bad').forEach((el) => el.classList.remove('bad'));
    const target = field && form.querySelector('[data-field="' + field + '"]');
    if (target) target.classList.add('bad');
  };
  const submitButtons = [];
  const submit = async (extra, button) => {
    clear(error);
    const body = Object.assign({}, extra);
    if (text && text.value.trim()) body.text = text.value.trim();
    if (action === 'close' && !body.text) return fail(t('form.need_reason'), 'text');
    if (department) body.department = department.value;
    if (category) {
      if (category.value !== hz.category) body.category = category.value;
      if (severity.value !== hz.severity) body.severity = severity.value;
    }
    if (action === 'notice') {
      if (date.value) body.deadline = date.value;
      else if (parseInt(days.value, 10) > 0) body.days = parseInt(days.value, 10);
      else return fail(t('form.need_deadline'), 'days');
      if (!responsible.value.trim()) return fail(t('form.need_responsible'), 'responsible');
      body.responsible = responsible.value.trim();
      if (measures.value.trim()) body.measures = measures.value.trim();
    }
    if (action === 'fix' && !photos.blobs().length) return fail(t('form.need_photo'), 'photos');
    const label0 = button.textContent;
    submitButtons.forEach((b) => {
      b.disabled = true;
    });
    button.textContent = t('form.busy');
    try {
      if (photos && photos.blobs().length) {
        body.photos = [];
        for (const blob of photos.blobs()) {
          const a = await call('POST', 'blobs', blob);
          body.photos.push({ hash: a.hash, media_type: a.media_type });
        }
      }
      await call('POST', 'hazards/' + hz.id + '/' + action, body);
      toast(t('done.' + action), 'ok');
      ctx.rerender();
    } catch (e) {
      fail(errorText(e), e instanceof ApiError ? e.field : '');
      submitButtons.forEach((b) => {
        b.disabled = false;
      });
      button.textContent = label0;
    }
  };
  const row = h('div.button-row');
  if (action === 'verify') {
    const pass = h('button.btn.btn-main', { type: 'button', text: t('act.verify_pass') });
    const failButton = h('button.btn.btn-danger', { type: 'button', text: t('act.verify_fail') });
    pass.addEventListener('click', () => submit({ pass: true }, pass));
    failButton.addEventListener('click', () => submit({ pass: false }, failButton));
    submitButtons.push(pass, failButton);
    row.appendChild(pass);
    row.appendChild(failButton);
  } else {
    const ok = h('button.btn.btn-main', { type: 'submit', text: t('form.confirm', { act: label('act', action) }) });
    submitButtons.push(ok);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      submit({}, ok);
    });
    row.appendChild(ok);
  }
  row.appendChild(h('button.btn.btn-quiet', { type: 'button', text: t('form.cancel'), onclick: close }));
  form.appendChild(h('h3', { text: label('act', action) }));
  parts.forEach((p) => form.appendChild(p));
  form.appendChild(error);
  form.appendChild(row);
  if (action === 'verify') form.addEventListener('submit', (e) => e.preventDefault());
  return form;
}
