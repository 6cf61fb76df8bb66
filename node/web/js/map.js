// map.js — 地图 (#/map): the jurisdictions' boundaries drawn as SVG from their GeoJSON (an
// equirectangular projection scaled by cos(latitude), plenty at a county's size), fitted to the
// screen, names at their middles; located hazards as dots in their state's colour (the legend
// and a tap say the state in words) and units as rings; pan and zoom by touch, mouse, wheel and the
// + / − buttons. The county's own MBTiles basemap is drawn under it when the node has one; nothing
// is ever fetched from elsewhere. Also the 位置 row of the report and unit forms: the phone's
// position (only in a secure context: plain http on a LAN has none) or a point picked on the map.
import { call, errorText } from './api.js';
import { t, label } from './i18n.js';
import { h, clear, message } from './ui.js';

// Projected units per degree of latitude; a tap finds the points within 22 px (a 44 px target).
const K = 1000;
const TAP = 22;

function sv(tag, attrs, text) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const k in attrs) el.setAttribute(k, attrs[k]);
  if (text) el.textContent = text;
  return el;
}

const ll = (text) => (text || '').split(',').map(Number);
const fmt = (p) => p[0].toFixed(6) + ',' + p[1].toFixed(6);
const load = () => call('GET', 'map');

// One map of `data` (GET map): {el, place(point)}. opts.at: a point to show; opts.pick(point,
// place): called on a tap instead of showing what is there.
function draw(data, opts) {
  const shapes = data.regions.filter((r) => r.boundary).map((r) => [r, r.boundary.type === 'Polygon' ? [r.boundary.coordinates] : r.boundary.coordinates]);
  // Units first, under the hazards' dots.
  const pts = data.units.map((u) => ({ u: u, p: ll(u.location) })).concat(data.hazards.map((z) => ({ z: z, p: ll(z.location) })));
  let b = [180, 90, -180, -90];
  const grow = (p) => {
    b = [Math.min(b[0], p[0]), Math.min(b[1], p[1]), Math.max(b[2], p[0]), Math.max(b[3], p[1])];
  };
  for (const [, polys] of shapes) for (const poly of polys) poly[0].forEach(grow);
  for (const x of pts) grow(x.p);
  if (opts.at) grow(opts.at);
  if (b[0] > b[2]) return null;
  const c = Math.cos((b[1] + b[3]) * Math.PI / 360);
  const pr = (p) => [(p[0] - b[0]) * c * K, (b[3] - p[1]) * K];
  const inv = (x, y) => [x / c / K + b[0], b[3] - y / K];

  const svg = sv('svg', { class: 'mp', role: 'img', 'aria-label': t('k.map') });
  const layers = ['g', 'g', 'g', 'g'].map((g) => svg.appendChild(sv(g, {})));
  const parents = new Set(data.regions.map((r) => r.code.slice(0, r.code.indexOf('-') > 0 ? 12 : r.code.length - 3)));
  for (const [r, polys] of shapes) {
    let d = '';
    let best = null;
    for (const poly of polys) {
      for (const ring of poly) d += 'M' + ring.map((p) => pr(p).map((v) => v.toFixed(1)).join(' ')).join('L') + 'Z';
      // The name at the middle of the largest part, or, for a region drawn with its parts inside, at its top.
      const q = poly[0].map(pr);
      const xs = q.map((v) => v[0]);
      const ys = q.map((v) => v[1]);
      const box = [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
      if (!best || (box[2] - box[0]) * (box[3] - box[1]) > (best[2] - best[0]) * (best[3] - best[1])) best = box;
    }
    const top = parents.has(r.code);
    layers[1].appendChild(sv('path', { d: d, class: 'rg rg-' + r.level }));
    layers[2].appendChild(sv('text', { x: (best[0] + best[2]) / 2, y: top ? best[1] : (best[1] + best[3]) / 2, dy: top ? '1.4em' : '.35em', class: 'nm nm-' + r.level }, r.name));
  }
  for (const x of pts) {
    x.q = pr(x.p);
    layers[3].appendChild(sv('circle', { cx: x.q[0], cy: x.q[1], 'data-id': (x.z || x.u).id,
      class: 'dot ' + (x.z ? 'st-' + x.z.state + (x.z.overdue ? ' od' : '') : 'unit') }));
  }
  const mark = svg.appendChild(sv('circle', { class: 'dot pick hidden' }));

  // The view (viewBox) in projected units, at first the whole with a margin.
  const e = pr([b[2], b[1]]);
  const pad = Math.max(e[0], e[1], 1) * 0.06;
  const home = [-pad, -pad, e[0] + 2 * pad, e[1] + 2 * pad];
  let v = home.slice();
  const tip = h('div.map-tip.hidden', { 'aria-live': 'polite' });
  const upp = () => Math.max(v[2] / (svg.clientWidth || 1), v[3] / (svg.clientHeight || 1));
  let timer = 0;
  const show = () => {
    svg.setAttribute('viewBox', v.join(' '));
    svg.style.setProperty('--u', upp());
    clearTimeout(timer);
    timer = setTimeout(basemap, 200);
  };
  // Client px → projected units, as the viewBox (centred, "meet") puts them.
  const unit = (x, y) => {
    const r = svg.getBoundingClientRect();
    return [v[0] + v[2] / 2 + (x - r.left - r.width / 2) * upp(), v[1] + v[3] / 2 + (y - r.top - r.height / 2) * upp()];
  };
  const zoom = (f, x, y) => {
    const r = svg.getBoundingClientRect();
    const p = unit(x === undefined ? r.left + r.width / 2 : x, y === undefined ? r.top + r.height / 2 : y);
    const w = v[2] / home[2];
    f = Math.min(Math.max(f, w / 4), w * 64);  // from 4× the whole out to 1/64 of it in
    v = [p[0] - (p[0] - v[0]) / f, p[1] - (p[1] - v[1]) / f, v[2] / f, v[3] / f];
    show();
  };

  // The county's tiles (Web Mercator, XYZ) under the boundaries, at the zoom nearest the screen's scale.
  const held = new Map();
  function basemap() {
    const m = data.basemap;
    if (!m) return;
    const z = Math.min(Math.max(Math.round(Math.log2(360 * c * K / upp() / 256)), m.minzoom), m.maxzoom);
    const n = 2 ** z;
    const lat = (y) => Math.atan(Math.sinh(Math.PI * (1 - 2 * y / n))) * 180 / Math.PI;
    const tx = (p) => Math.floor((p[0] + 180) / 360 * n);
    const ty = (p) => Math.floor((1 - Math.log(Math.tan(Math.PI / 4 + p[1] * Math.PI / 360)) / Math.PI) / 2 * n);
    const a = inv(v[0], v[1]);
    const o = inv(v[0] + v[2], v[1] + v[3]);
    const want = new Set();
    for (let x = Math.max(tx(a), 0); x <= Math.min(tx(o), n - 1); x++)
      for (let y = Math.max(ty(a), 0); y <= Math.min(ty(o), n - 1) && want.size < 64; y++) {
        const key = z + '/' + x + '/' + y;
        want.add(key);
        if (held.has(key)) continue;
        const p = pr([x / n * 360 - 180, lat(y)]);
        const q = pr([(x + 1) / n * 360 - 180, lat(y + 1)]);
        held.set(key, layers[0].appendChild(sv('image', { href: '/api/v1/tiles/' + key, x: p[0], y: p[1], width: q[0] - p[0], height: q[1] - p[1], preserveAspectRatio: 'none' })));
      }
    for (const [key, img] of held) if (!want.has(key)) img.remove(), held.delete(key);
  }

  // Pointers: one drags the map, two pinch it; a press that hardly moves is a tap.
  const down = new Map();
  let moved = 0;
  svg.addEventListener('pointerdown', (ev) => {
    svg.setPointerCapture(ev.pointerId);
    down.set(ev.pointerId, [ev.clientX, ev.clientY]);
    if (down.size === 1) moved = 0;
  });
  svg.addEventListener('pointermove', (ev) => {
    const last = down.get(ev.pointerId);
    if (!last) return;
    const [p1, p2] = [...down.values()];
    down.set(ev.pointerId, [ev.clientX, ev.clientY]);
    if (p2) {
      const [q1, q2] = [...down.values()];
      moved = 99;
      return zoom(Math.hypot(q1[0] - q2[0], q1[1] - q2[1]) / (Math.hypot(p1[0] - p2[0], p1[1] - p2[1]) || 1), (q1[0] + q2[0]) / 2, (q1[1] + q2[1]) / 2);
    }
    moved += Math.abs(ev.clientX - last[0]) + Math.abs(ev.clientY - last[1]);
    v[0] -= (ev.clientX - last[0]) * upp();
    v[1] -= (ev.clientY - last[1]) * upp();
    if (moved > 6) show();
  });
  const up = (ev) => {
    if (down.delete(ev.pointerId) && !down.size && moved <= 6 && ev.type === 'pointerup') tap(ev.clientX, ev.clientY);
  };
  svg.addEventListener('pointerup', up);
  svg.addEventListener('pointercancel', up);
  svg.addEventListener('wheel', (ev) => {
    ev.preventDefault();
    zoom(ev.deltaY < 0 ? 1.25 : 0.8, ev.clientX, ev.clientY);
  });

  const place = (p) => {
    const q = pr(p);
    mark.setAttribute('cx', q[0]);
    mark.setAttribute('cy', q[1]);
    mark.classList.remove('hidden');
  };
  // A tap: when picking, the point; else what is within reach, nearest first, in words, with its page.
  function tap(x, y) {
    const q = unit(x, y);
    if (opts.pick) return opts.pick(inv(q[0], q[1]), place);
    const d = (w) => Math.hypot(w.q[0] - q[0], w.q[1] - q[1]);
    const near = pts.filter((w) => d(w) <= TAP * upp()).sort((i, j) => d(i) - d(j)).slice(0, 6);
    clear(tip).classList.toggle('hidden', !near.length);
    // Over the half of the map away from the finger.
    const r = svg.getBoundingClientRect();
    tip.classList.toggle('map-tip-top', y > r.top + r.height / 2);
    for (const w of near)
      tip.appendChild(w.z
        ? h('a.map-item', { href: '#/hazard/' + w.z.id }, h('span.badge.st-' + w.z.state, { text: label('state', w.z.state) }),
          w.z.overdue ? h('span.badge.st-overdue', { text: t('badge.overdue') }) : null, ' ' + label('cat', w.z.category) + ' · ' + w.z.label)
        : h('a.map-item', { href: '#/record/' + w.u.id }, h('span.tag.map-unit', { text: t('map.unit') }), ' ' + w.u.name));
  }

  const button = (text, key, run) => h('button.btn.btn-quiet', { type: 'button', 'aria-label': t(key), text: text, onclick: run });
  const el = h('div.map', null, svg, h('div.map-ctl', null, button('+', 'map.in', () => zoom(1.6)), button('−', 'map.out', () => zoom(1 / 1.6)),
    button('⌂', 'map.fit', () => {
      v = home.slice();
      show();
    })), opts.pick ? null : tip);
  // Drawn once it is on the page and has a size; a point to show is shown in the middle, closer.
  requestAnimationFrame(() => {
    if (opts.at) {
      const q = pr(opts.at);
      place(opts.at);
      v = [q[0] - v[2] / 8, q[1] - v[3] / 8, v[2] / 4, v[3] / 4];
    }
    show();
  });
  return { el: el, place: place };
}

export async function render(view, params, ctx) {
  document.title = t('app.name') + ' · ' + t('k.map');
  const card = h('section.card', null, h('h1', { text: t('k.map') + ' · ' + ctx.scopeName(ctx.node.scope) }), message(t('app.loading')));
  view.appendChild(card);
  let data;
  try {
    data = await load();
  } catch (e) {
    return card.replaceChild(message(errorText(e), 'error'), card.lastChild);
  }
  const at = ll(params.query.at);
  const m = draw(data, { at: at.length === 2 && at[0] + at[1] ? at : null });
  card.lastChild.remove();
  if (!m) return card.appendChild(message(t('map.empty')));
  // The legend: each state shown, in words beside its colour, with its count; the units' rings.
  const n = {};
  for (const z of data.hazards) n[z.state] = (n[z.state] || 0) + 1;
  card.append(m.el, h('div.map-legend', null, Object.keys(n).map((s) => h('span.badge.st-' + s, { text: label('state', s) + ' ' + n[s] })),
    data.units.length ? h('span.tag.map-unit', { text: t('map.unit') + ' ' + data.units.length }) : null));
  if (!data.regions.some((r) => r.boundary)) card.appendChild(message(t('map.no_bounds')));
  if (data.points_capped) card.appendChild(message(t('map.capped', { n: data.hazards.length + data.units.length, total: data.points_total })));
}

// A point picked on the map, in a layer over the form (which keeps what was typed): "lng,lat", or
// null when cancelled.
export function pick(current) {
  return new Promise((done) => {
    let chosen = current ? ll(current) : null;
    const end = (value) => {
      layer.remove();
      done(value);
    };
    const ok = h('button.btn.btn-main', { type: 'button', text: t('form.ok'), disabled: !chosen, onclick: () => end(fmt(chosen)) });
    const layer = h('div.map-pick', { role: 'dialog', 'aria-label': t('loc.map') }, h('p.label', { text: t('map.pick_hint') }), message(t('app.loading')),
      h('div.button-row', null, ok, h('button.btn.btn-quiet', { type: 'button', text: t('form.cancel'), onclick: () => end(null) })));
    document.body.appendChild(layer);
    load().then((data) => {
      const m = draw(data, { at: chosen, pick: (p, place) => {
        chosen = p;
        place(p);
        ok.disabled = false;
      } });
      return m ? m.el : message(t('map.empty'), 'error');
    }, (e) => message(errorText(e), 'error')).then((el) => layer.replaceChild(el, layer.children[1]));
  });
}

// The 位置 row of a form: the phone's position, or a point picked on the map. → {el, value()}.
export function locationField(initial) {
  let value = '';
  const shown = h('span');
  const note = h('p.note', { 'aria-live': 'polite' });
  const set = (v) => {
    value = v || '';
    shown.textContent = value ? value.replace(',', ', ') : t('loc.none');
    wipe.hidden = !value;
  };
  const wipe = h('button.btn.btn-quiet.btn-small', { type: 'button', 'aria-label': t('loc.clear'), text: '✕', onclick: () => set('') });
  const gps = () => {
    // A browser gives a position only to a secure page: https, or this machine's own address.
    if (!window.isSecureContext || !navigator.geolocation) return (note.textContent = t('loc.insecure'));
    note.textContent = t('loc.finding');
    navigator.geolocation.getCurrentPosition((p) => {
      set(fmt([p.coords.longitude, p.coords.latitude]));
      note.textContent = t('loc.found', { m: Math.round(p.coords.accuracy) });
    }, (e) => {
      note.textContent = t(e.code === 1 ? 'loc.denied' : 'loc.failed');
    }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 });
  };
  const picked = () => pick(value).then((v) => {
    if (v) set(v);
    note.textContent = '';
  });
  set(initial);
  return { el: h('div.loc', { 'data-field': 'location' }, h('div.loc-row', null, shown, wipe),
    h('div.picker-buttons', null, h('button.btn.btn-small', { type: 'button', text: t('loc.gps'), onclick: gps }),
      h('button.btn.btn-small', { type: 'button', text: t('loc.map'), onclick: picked })), note), value: () => value };
}
