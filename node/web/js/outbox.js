// outbox.js — hazards reported while the phone cannot reach the node (待提交). A draft is kept in
// IndexedDB with its photo Blobs, the phone's capture time and a random id; it is submitted when
// the node is reachable again (on opening the page, on the `online` event, every minute while
// drafts wait, and by a button), and deleted only after the node answers 201, or 200 with
// "repeated": the id goes as the Idempotency-Key, so a draft whose answer was lost in a cut is
// written once. No service worker: a phone on the village LAN (plain HTTP) gets none.
import { call, ApiError, NetworkError, errorText } from './api.js';

const DB_NAME = 'anwang';
const STORE = 'drafts';
let dbPromise = null;

function db() {
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      if (!window.indexedDB) {
        reject(new Error('no IndexedDB'));
        return;
      }
      const request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = () => {
        if (!request.result.objectStoreNames.contains(STORE)) request.result.createObjectStore(STORE, { keyPath: 'id' });
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
      request.onblocked = () => reject(new Error('IndexedDB blocked'));
    });
    dbPromise.catch(() => {
      dbPromise = null;
    });
  }
  return dbPromise;
}

function run(mode, work) {
  return db().then((d) => new Promise((resolve, reject) => {
    const tx = d.transaction(STORE, mode);
    const result = work(tx.objectStore(STORE));
    tx.oncomplete = () => resolve(result && 'result' in result ? result.result : undefined);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error('aborted'));
  }));
}

function changed() {
  window.dispatchEvent(new CustomEvent('outbox-change'));
}

// 32 hex digits from crypto.getRandomValues (crypto.randomUUID needs a secure context).
export function newId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.prototype.map.call(bytes, (b) => (b < 16 ? '0' : '') + b.toString(16)).join('');
}

export async function save(draft) {
  await run('readwrite', (s) => s.put(draft));
  changed();
}

export async function list() {
  try {
    const all = await run('readonly', (s) => s.getAll());
    return (all || []).sort((a, b) => a.created_ms - b.created_ms);
  } catch (e) {
    return [];
  }
}

export async function remove(id) {
  await run('readwrite', (s) => s.delete(id));
  changed();
}

export async function available() {
  try {
    await db();
    return true;
  } catch (e) {
    return false;
  }
}

const PIECE = 128 * 1024;

// Sends one photo in pieces of 128 KiB (POST uploads, then PUT uploads/ID?offset=N), going on
// from where the node's bytes end after a cut. `state` ({upload, hash}) is kept by the caller and
// `persist()` saves it; a photo sent whole is not sent again. → {hash, media_type}.
export async function sendPhoto(blob, state, persist, quiet) {
  const type = blob.type || 'image/jpeg';
  if (state.hash) return { hash: state.hash, media_type: type };
  const opts = { quiet401: quiet };
  let offset = 0;
  if (state.upload) {
    try {
      offset = (await call('GET', 'uploads/' + state.upload, null, opts)).offset;
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 404) throw e;
      state.upload = null;  // dropped (an hour idle, a restart): start again
    }
  }
  if (!state.upload) {
    state.upload = (await call('POST', 'uploads', { size: blob.size, media_type: type }, opts)).upload;
    offset = 0;
    await persist();
  }
  for (;;) {
    let answer;
    try {
      answer = await call('PUT', 'uploads/' + state.upload + '?offset=' + offset, blob.slice(offset, offset + PIECE, type), opts);
    } catch (e) {
      if (e instanceof ApiError && e.status === 409 && e.offset !== null) {
        offset = e.offset;
        continue;
      }
      throw e;
    }
    if (answer.complete) {
      state.hash = answer.hash;
      state.upload = null;
      await persist();
      return { hash: answer.hash, media_type: type };
    }
    offset = answer.offset;
  }
}

// Drafts being submitted in this page now: one submission per draft at a time.
const busy = new Set();
export function isBusy(id) {
  return busy.has(id);
}

// Sends one draft: its photos, then the report with the draft's id as Idempotency-Key.
// → {ok: true, answer} | {ok: false, offline: true} | {ok: false, error} | {ok: false, busy: true}.
// progress(i, n) is told before each photo.
export async function send(draft, progress) {
  if (busy.has(draft.id)) return { ok: false, busy: true };
  busy.add(draft.id);
  changed();
  try {
    // Each photo's upload is kept on the draft, so a cut mid-photo goes on from the node's bytes.
    draft.sent = draft.sent || {};
    const persist = () => (draft.stored ? save(stripRuntime(draft)).catch(() => {}) : Promise.resolve());
    const upload = async (blobs, offset, total) => {
      const out = [];
      for (let i = 0; i < blobs.length; i++) {
        if (progress) progress(offset + i + 1, total);
        const slot = 'p' + (offset + i);
        draft.sent[slot] = draft.sent[slot] || {};
        out.push(await sendPhoto(blobs[i], draft.sent[slot], persist, draft.background));
      }
      return out;
    };
    const total = draft.photos.length + draft.fix_photos.length;
    const body = JSON.parse(JSON.stringify(draft.fields));
    body.photos = await upload(draft.photos, 0, total);
    if (body.fixed_on_site) body.fix_photos = await upload(draft.fix_photos, draft.photos.length, total);
    // A patrol (draft.record) says the phone's time in its text; a hazard report has a field for it.
    if (draft.captured_at && draft.record) body.fields.text = (body.fields.text + '（手机记录于 ' + draft.captured_at + '）').trim();
    else if (draft.captured_at) body.captured_at = draft.captured_at;
    const answer = await call('POST', draft.record ? 'records' : 'hazards', body, { headers: { 'Idempotency-Key': draft.id }, quiet401: draft.background });
    if (draft.stored) await remove(draft.id).catch(() => {});
    return { ok: true, answer: answer };
  } catch (e) {
    if (e instanceof NetworkError) return { ok: false, offline: true };
    if (draft.stored && e instanceof ApiError && e.status !== 401) {
      // The node answered. A refusal (bad input, the authority rules) will not pass by being sent
      // again: the draft stays, with the node's sentence, for the person to read and delete. A
      // passing trouble (the node busy, a stale page) is tried again like a cut.
      draft.last_error = errorText(e);
      draft.failed = !transient(e);
      await save(stripRuntime(draft)).catch(() => {});
    }
    return { ok: false, error: e };
  } finally {
    busy.delete(draft.id);
    changed();
  }
}

function transient(e) {
  return e.status >= 500 || e.status === 429 || e.code === 'csrf' || e.code === 'session_expired' || e.code === 'not_signed_in';
}

function stripRuntime(draft) {
  const copy = Object.assign({}, draft);
  delete copy.background;
  delete copy.stored;
  return copy;
}

// Keeps a draft that could not be sent. Throws when the browser cannot store it.
export async function keep(draft) {
  await save(stripRuntime(draft));
}

// Submits every draft of the signed-in person that waits (not those refused by the node, unless
// `all`). → {sent, offline, failed}.
export async function submitAll(keyName, all) {
  const result = { sent: 0, offline: false, failed: 0 };
  if (!keyName) return result;
  const drafts = await list();
  for (const d of drafts) {
    if (d.key !== keyName || busy.has(d.id) || (d.failed && !all)) continue;
    d.stored = true;
    d.background = !all;
    const r = await send(d);
    if (r.ok) result.sent++;
    else if (r.offline) {
      result.offline = true;
      break;  // the node is not there: the rest would fail alike
    } else if (!r.busy) result.failed++;
  }
  return result;
}
