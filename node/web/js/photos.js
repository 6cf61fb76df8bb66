// photos.js — photos on a cheap phone: shrunk in the browser before anything is sent (at most
// 1,600 px on the long edge, JPEG at quality 0.8, EXIF orientation applied), a picker with the
// camera and the gallery, thumbnails of stored photos that open full size on a tap.
import { h, clear } from './ui.js';
import { t } from './i18n.js';

const LONG_EDGE_MAX = 1600;
const QUALITY = 0.8;
export const PHOTOS_MAX = 10;  // crdt/limits.h attachments_per_op_max

async function decode(file) {
  if (typeof createImageBitmap === 'function') {
    try {
      const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
      return { source: bitmap, width: bitmap.width, height: bitmap.height, done: () => bitmap.close && bitmap.close() };
    } catch (e) {
      // Older engines refuse the option (or the file): an <img> applies EXIF orientation itself.
    }
  }
  const url = URL.createObjectURL(file);
  const img = new Image();
  try {
    await new Promise((resolve, reject) => {
      img.onload = resolve;
      img.onerror = reject;
      img.src = url;
    });
  } catch (e) {
    URL.revokeObjectURL(url);
    throw e;
  }
  return { source: img, width: img.naturalWidth, height: img.naturalHeight, done: () => URL.revokeObjectURL(url) };
}

// A File from the camera or gallery → a JPEG Blob of at most 1,600 px on its long edge.
export async function shrink(file) {
  const image = await decode(file);
  try {
    const scale = Math.min(1, LONG_EDGE_MAX / Math.max(image.width, image.height));
    const width = Math.max(1, Math.round(image.width * scale));
    const height = Math.max(1, Math.round(image.height * scale));
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    const g = canvas.getContext('2d');
    g.fillStyle = '#fff';  // a transparent PNG becomes white, not black, as a JPEG
    g.fillRect(0, 0, width, height);
    g.drawImage(image.source, 0, 0, width, height);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', QUALITY));
    if (!blob) throw new Error('toBlob');
    canvas.width = canvas.height = 0;  // old WebViews keep canvas memory otherwise
    return blob;
  } finally {
    image.done();
  }
}

// A photo picker: a camera button, a gallery button and the thumbnails of what was picked.
// Returns {el, blobs(), clear()}.
export function photoPicker(title, onChange) {
  const blobs = [];
  const urls = [];
  const thumbs = h('div.thumbs');
  const status = h('p.msg.hidden', { 'aria-live': 'polite' });
  const refresh = () => {
    clear(thumbs);
    blobs.forEach((blob, i) => {
      thumbs.appendChild(h('div.thumb',
        null,
        h('img', { src: urls[i], alt: title + ' ' + (i + 1) }),
        h('button.thumb-x', { type: 'button', 'aria-label': t('photo.remove'), title: t('photo.remove'), text: '×',
          onclick: () => {
            URL.revokeObjectURL(urls[i]);
            blobs.splice(i, 1);
            urls.splice(i, 1);
            refresh();
          } })));
    });
    if (onChange) onChange(blobs.length);
  };
  const say = (text) => {
    status.textContent = text || '';
    status.className = text ? 'msg' : 'msg hidden';
  };
  const add = async (input) => {
    const files = Array.prototype.slice.call(input.files || []);
    input.value = '';
    for (const file of files) {
      if (blobs.length >= PHOTOS_MAX) {
        say(t('photo.max', { n: PHOTOS_MAX }));
        break;
      }
      say(t('photo.busy'));
      try {
        const blob = await shrink(file);
        blobs.push(blob);
        urls.push(URL.createObjectURL(blob));
        say('');
      } catch (e) {
        say(t('photo.bad'));
      }
      refresh();
    }
  };
  const camera = h('input.visually-hidden', { type: 'file', accept: 'image/*', capture: 'environment', onchange: (e) => add(e.target) });
  const gallery = h('input.visually-hidden', { type: 'file', accept: 'image/*', multiple: true, onchange: (e) => add(e.target) });
  const el = h('div.picker', null,
    h('div.picker-buttons', null,
      h('label.btn.btn-photo', null, camera, h('span.icon-camera', { 'aria-hidden': 'true' }), t('photo.take')),
      h('label.btn.btn-photo.btn-quiet', null, gallery, t('photo.pick'))),
    status, thumbs);
  return {
    el: el,
    blobs: () => blobs.slice(),
    clear: () => {
      urls.forEach((u) => URL.revokeObjectURL(u));
      blobs.length = 0;
      urls.length = 0;
      refresh();
    },
  };
}

export function blobUrl(hash) {
  return '/api/v1/blobs/' + hash;
}

// Stored photos as thumbnails; a tap opens the photo full size.
export function thumbnails(photos, title) {
  return h('div.thumbs', null, photos.map((p, i) =>
    h('button.thumb', { type: 'button', title: t('photo.open'), onclick: () => openPhoto(blobUrl(p.hash), title) },
      h('img', { src: blobUrl(p.hash), alt: (title || '') + ' ' + (i + 1), loading: 'lazy', decoding: 'async' }))));
}

export function openPhoto(src, title) {
  const close = () => {
    document.removeEventListener('keydown', onKey);
    if (box.parentNode) box.parentNode.removeChild(box);
  };
  const onKey = (e) => {
    if (e.key === 'Escape') close();
  };
  const box = h('div.lightbox', { role: 'dialog', 'aria-label': title || t('photo.open'), onclick: close },
    h('img', { src: src, alt: title || '' }),
    h('button.btn.lightbox-close', { type: 'button', text: t('photo.close'), onclick: close }));
  document.addEventListener('keydown', onKey);
  document.body.appendChild(box);
  box.querySelector('button').focus();
}
