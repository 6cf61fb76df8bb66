// signin.js — 登录: pick your name from the keys held on this node, enter your passphrase. The
// node unlocks the key for this session only (POST /api/v1/session).
import { call, errorText, ApiError, setCsrf } from './api.js';
import { t } from './i18n.js';
import { h, message } from './ui.js';
import * as outbox from './outbox.js';

const LAST_KEY = 'anwang.lastKey';

export async function render(view, params, ctx) {
  document.title = t('app.name') + ' · ' + t('signin.title');
  const node = ctx.node;
  const keys = (node && node.keys) || [];
  let chosen = '';
  const last = localStorage.getItem(LAST_KEY);
  const signable = keys.filter((k) => k.protected);
  if (signable.some((k) => k.name === last)) chosen = last;
  else if (signable.length === 1) chosen = signable[0].name;

  const error = h('div.form-error', { 'aria-live': 'assertive' });
  const pass = h('input.input', { type: 'password', id: 'passphrase', name: 'passphrase', autocomplete: 'current-password', required: true });
  const names = h('div.choices.choices-names', { role: 'radiogroup', 'aria-labelledby': 'pick-label' });
  const drawNames = () => {
    while (names.firstChild) names.removeChild(names.firstChild);
    for (const k of keys) {
      const on = k.name === chosen;
      names.appendChild(h('button.choice', {
        type: 'button', role: 'radio', 'aria-checked': on ? 'true' : 'false', class: on ? 'on' : '', disabled: !k.protected,
        onclick: () => {
          chosen = k.name;
          drawNames();
          pass.focus();
        } },
      h('span.choice-main', { text: k.name }),
      k.protected ? null : h('span.choice-note', { text: t('signin.not_protected') })));
    }
  };
  drawNames();
  const button = h('button.btn.btn-main', { type: 'submit', text: t('signin.submit') });
  const form = h('form.card.signin', { novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    error.textContent = '';
    if (!chosen) {
      error.appendChild(message(t('signin.need_name'), 'error'));
      return;
    }
    if (!pass.value) {
      error.appendChild(message(t('signin.need_pass'), 'error'));
      pass.focus();
      return;
    }
    button.disabled = true;
    button.textContent = t('signin.busy');
    // Whoever was signed in before is not, from here: nothing (the outbox) may send with their
    // token while the new session is being made.
    ctx.me = null;
    setCsrf('');
    try {
      const me = await call('POST', 'session', { key: chosen, passphrase: pass.value });
      pass.value = '';
      localStorage.setItem(LAST_KEY, chosen);
      await ctx.signedIn(me);
      const back = ctx.returnTo && ctx.returnTo.indexOf('#/signin') !== 0 ? ctx.returnTo : '#/';
      ctx.returnTo = '';
      ctx.go(back);
    } catch (err) {
      error.appendChild(message(errorText(err), 'error'));
      if (err instanceof ApiError && err.code === 'wrong_passphrase') {
        pass.select();
        pass.focus();
      }
    } finally {
      button.disabled = false;
      button.textContent = t('signin.submit');
    }
  } },
  h('h1', { text: t('signin.title') }),
  h('p.node-line', null, h('span.muted', { text: t('signin.node') }),
    h('strong', { text: (node.scope_name || '') }), node.scope ? ' · ' + node.scope : ''),
  keys.length ? [h('p.label', { id: 'pick-label', text: t('signin.pick') }), names] : message(t('signin.no_keys'), 'error'),
  h('label.label', { for: 'passphrase', text: t('signin.passphrase') }),
  pass,
  error,
  h('div.actionbar', null, button));
  view.appendChild(form);
  const drafts = await outbox.list();
  if (drafts.length) form.insertBefore(message(t('signin.drafts', { n: drafts.length }), 'warn'), form.children[2]);
  if (chosen) setTimeout(() => pass.focus(), 0);
}
