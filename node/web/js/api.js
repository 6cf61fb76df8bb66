// api.js — every call to the node's JSON API (node/web/API.md) goes through call(). It sends the
// session's CSRF token on anything but GET, turns an error answer into an ApiError carrying the
// node's one sentence, and a fetch that never reached the node into a NetworkError: the outbox
// keeps a draft only on the second kind. A 401 sends the person to sign-in (unless the caller
// handles it, as the outbox does in the background).
import { t, lang } from './i18n.js';

const CSRF_KEY = 'anwang.csrf';
let csrf = sessionStorage.getItem(CSRF_KEY) || '';
let onUnauthorized = null;
let onReach = null;

export class ApiError extends Error {
  constructor(status, error, answer) {
    super(error.message || error.code || 'error');
    this.status = status;
    this.code = error.code || '';
    this.field = error.field || '';
    this.message_en = error.message || '';
    this.message_zh = error.message_zh || '';
    // A photo piece sent from the wrong place: where the node's bytes end (409).
    this.offset = answer && typeof answer.offset === 'number' ? answer.offset : null;
  }
}

export class NetworkError extends Error {}

export function setCsrf(token) {
  csrf = token || '';
  if (csrf) sessionStorage.setItem(CSRF_KEY, csrf);
  else sessionStorage.removeItem(CSRF_KEY);
}

export function setUnauthorizedHandler(handler) {
  onUnauthorized = handler;
}

// Told whether each call reached the node: the header says so at once, and a node found again
// sends the drafts that wait.
export function setReachHandler(handler) {
  onReach = handler;
}

// call('GET', 'hazards?page=0') → the answer's JSON. body: an object (sent as JSON) or a Blob
// (sent as it is, with its own type). options: {headers, quiet401, timeoutMs}.
export async function call(method, path, body, options) {
  const opts = options || {};
  const headers = Object.assign({}, opts.headers || {});
  let payload;
  if (body instanceof Blob) {
    payload = body;
    headers['Content-Type'] = body.type || 'image/jpeg';
  } else if (body !== undefined && body !== null) {
    payload = JSON.stringify(body);
    headers['Content-Type'] = 'application/json';
  }
  if (method !== 'GET' && csrf) headers['X-CSRF-Token'] = csrf;
  const controller = typeof AbortController === 'function' ? new AbortController() : null;
  const timeoutMs = opts.timeoutMs || (body instanceof Blob ? 120000 : 30000);
  const timer = controller ? setTimeout(() => controller.abort(), timeoutMs) : 0;
  let response;
  try {
    response = await fetch('/api/v1/' + path, {
      method: method,
      headers: headers,
      body: payload,
      credentials: 'same-origin',
      cache: 'no-store',
      signal: controller ? controller.signal : undefined,
    });
  } catch (e) {
    if (onReach) onReach(false);
    throw new NetworkError(String(e && e.message));
  } finally {
    if (timer) clearTimeout(timer);
  }
  if (onReach) onReach(true);
  let data = null;
  const text = await response.text().catch(() => {
    throw new NetworkError('body cut');
  });
  try {
    data = text ? JSON.parse(text) : {};
  } catch (e) {
    data = null;
  }
  if (response.ok && data) return data;
  const error = data && data.error ? data.error : { code: 'http_' + response.status, message: 'HTTP ' + response.status };
  const err = new ApiError(response.status, error, data);
  if (response.status === 401 && err.code !== 'wrong_passphrase' && !opts.quiet401 && onUnauthorized) onUnauthorized(err);
  throw err;
}

// One sentence for a person, never a stack.
export function errorText(e) {
  if (e instanceof NetworkError) return t('err.network');
  if (e instanceof ApiError) {
    const text = lang() === 'en' ? e.message_en || e.message_zh : e.message_zh || e.message_en;
    return text || t('err.generic');
  }
  return t('err.generic');
}
