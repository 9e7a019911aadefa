// Pictor's page for creators: their images newest first, failed uploads with the reason, and
// uploads by drag-and-drop through the API's upload forms. No framework, no build step, and
// nothing fetched but this site, the API and the renditions it links.

const $ = (id) => document.getElementById(id);
const PAGE_SIZE = Number(new URLSearchParams(location.search).get('limit')) || 24;
const POLL_MS = 1000;
const WAIT_FOR_PROCESSING_MS = 5 * 60 * 1000;

/** `config.json` beside the page: `{"apiUrl": "...", "signInUrl": "..."}`; same origin when absent. */
async function loadConfig() {
  try {
    const response = await fetch('config.json', { cache: 'no-store' });
    return response.ok ? await response.json() : {};
  } catch {
    return {};
  }
}

const config = await loadConfig();
const apiUrl = (config.apiUrl || '').replace(/\/$/, '');
/** Set when the fragment held a token this tab did not ask for. */
let ignoredLink = false;
let token = tokenFromFragment() || sessionStorage.getItem('pictor.token') || '';

/**
 * A sign-in redirect (OAuth implicit flow) leaves its token in the fragment. It counts only
 * when it brings back the `state` this tab sent with its own sign-in: otherwise a crafted link
 * could sign a creator in as someone else, whose account would then receive their uploads.
 */
function tokenFromFragment() {
  const params = new URLSearchParams(location.hash.slice(1));
  const found = params.get('access_token') || params.get('id_token');
  if (!found) return null;
  history.replaceState(null, '', location.pathname + location.search);
  const expected = sessionStorage.getItem('pictor.state');
  sessionStorage.removeItem('pictor.state');
  if (!expected || params.get('state') !== expected) {
    ignoredLink = true;
    return null;
  }
  sessionStorage.setItem('pictor.token', found);
  return found;
}

/** This tab's sign-in state: random, kept until a sign-in comes back with it. */
function signInState() {
  let state = sessionStorage.getItem('pictor.state');
  if (!state) {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    state = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
    sessionStorage.setItem('pictor.state', state);
  }
  return state;
}

class SignInNeeded extends Error {}

/** The API, with the token when there is one; a 401 shows the sign-in form. */
async function api(path, options = {}) {
  const headers = { ...(options.headers || {}) };
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(apiUrl + path, { ...options, headers });
  if (response.status === 401) {
    const body = await response.json().catch(() => ({}));
    showSignIn(body.message || 'Your session has ended.');
    throw new SignInNeeded();
  }
  return response;
}

async function errorText(response) {
  const body = await response.json().catch(() => ({}));
  return body.message || `${response.status} ${response.statusText}`;
}

function showSignIn(reason) {
  $('signin').hidden = false;
  $('upload').hidden = true;
  $('signin-reason').textContent = ignoredLink
    ? `${reason} A sign-in link this page did not start was ignored.`
    : reason;
  const state = signInState();
  if (config.signInUrl) {
    const link = new URL(config.signInUrl, location.href);
    link.searchParams.set('state', state);
    $('signin-link').href = link.toString();
    $('signin-link').hidden = false;
  }
  $('status').textContent = 'Sign in to see your images.';
}

function showWho() {
  const sub = token ? claims(token).sub : undefined;
  $('who').textContent = sub ? `Signed in as ${sub}` : '';
}

function claims(jwt) {
  try {
    const part = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(part));
  } catch {
    return {};
  }
}

// ---- BlurHash placeholders -------------------------------------------------------------------

const BASE83 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~';

function base83(text) {
  let value = 0;
  for (const c of text) {
    const digit = BASE83.indexOf(c);
    if (digit < 0) throw new Error('not a BlurHash');
    value = value * 83 + digit;
  }
  return value;
}

const toLinear = (c) => {
  const v = c / 255;
  return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
};
const toSrgb = (v) => {
  const x = Math.min(1, Math.max(0, v));
  return Math.round(x <= 0.0031308 ? x * 12.92 * 255 : (1.055 * Math.pow(x, 1 / 2.4) - 0.055) * 255);
};
const signedSquare = (v) => Math.sign(v) * v * v;

/**
 * The colours of a BlurHash as `width`×`height` RGBA pixels: a DC term and cosine AC terms
 * (their count in the first character, their scale in the second).
 */
export function decodeBlurHash(hash, width, height) {
  const size = base83(hash[0]);
  const nx = (size % 9) + 1;
  const ny = Math.floor(size / 9) + 1;
  if (hash.length !== 4 + 2 * nx * ny) throw new Error('not a BlurHash');
  const scale = (base83(hash[1]) + 1) / 166;
  const colours = [];
  const dc = base83(hash.slice(2, 6));
  colours.push([toLinear(dc >> 16), toLinear((dc >> 8) & 255), toLinear(dc & 255)]);
  for (let i = 1; i < nx * ny; i++) {
    const ac = base83(hash.slice(4 + i * 2, 6 + i * 2));
    colours.push([
      signedSquare((Math.floor(ac / 361) - 9) / 9) * scale,
      signedSquare(((Math.floor(ac / 19) % 19) - 9) / 9) * scale,
      signedSquare(((ac % 19) - 9) / 9) * scale,
    ]);
  }
  const pixels = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let r = 0, g = 0, b = 0;
      for (let j = 0; j < ny; j++) {
        const cy = Math.cos((Math.PI * y * j) / height);
        for (let i = 0; i < nx; i++) {
          const basis = Math.cos((Math.PI * x * i) / width) * cy;
          const [cr, cg, cb] = colours[i + j * nx];
          r += cr * basis;
          g += cg * basis;
          b += cb * basis;
        }
      }
      const at = 4 * (x + y * width);
      pixels[at] = toSrgb(r);
      pixels[at + 1] = toSrgb(g);
      pixels[at + 2] = toSrgb(b);
      pixels[at + 3] = 255;
    }
  }
  return pixels;
}

/** A small PNG data URL of the placeholder, or none for a hash that does not decode. */
function placeholder(hash) {
  if (!hash) return '';
  try {
    const [w, h] = [32, 24];
    const canvas = document.createElement('canvas');
    canvas.width = w;
    canvas.height = h;
    const context = canvas.getContext('2d');
    context.putImageData(new ImageData(decodeBlurHash(hash, w, h), w, h), 0, 0);
    return canvas.toDataURL();
  } catch {
    return '';
  }
}

// ---- Cards -----------------------------------------------------------------------------------

const FORMAT_ORDER = ['avif', 'webp', 'jpeg', 'png'];
const TYPES = { avif: 'image/avif', webp: 'image/webp', jpeg: 'image/jpeg', png: 'image/png' };

/**
 * Per format, the variants of the full frame (the widest one's aspect ratio), narrowest first:
 * a cropped thumbnail is another picture and stays out of the srcset.
 */
function fullFrameSets(variants) {
  const sets = [];
  for (const format of FORMAT_ORDER) {
    const mine = variants.filter((v) => v.format === format);
    if (mine.length === 0) continue;
    const widest = mine.reduce((a, b) => (b.width > a.width ? b : a));
    const aspect = widest.width / widest.height;
    const frame = mine
      .filter((v) => Math.abs(v.width / v.height - aspect) < 0.02 * aspect)
      .sort((a, b) => a.width - b.width);
    sets.push({ format, widest, srcset: frame.map((v) => `${v.url} ${v.width}w`).join(', ') });
  }
  return sets;
}

/**
 * What the creator's file was called when the upload kept it; else the file name, or when it
 * is one the upload form made up (an id), the upload's time.
 */
function nameOf(asset) {
  if (asset.name) return asset.name;
  const name = (asset.source || asset.id).split('/').pop();
  if (/^[0-9a-f-]{32,36}\.\w+$/i.test(name) && asset.created_at) {
    const at = new Date(asset.created_at);
    return `Uploaded ${at.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })}`;
  }
  return name;
}

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attributes)) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

function card(asset) {
  const item = element('li', { 'data-id': asset.id, 'data-status': asset.status });
  const figure = element('figure', { class: `card ${asset.status}` });
  const frame = element('div', { class: 'frame' });
  const name = nameOf(asset);
  if (asset.status === 'ready') {
    const sets = fullFrameSets(asset.variants || []);
    const fallback = sets.find((s) => s.format === 'jpeg' || s.format === 'png') || sets.at(-1);
    const background = placeholder(asset.blurhash);
    if (background) {
      frame.style.backgroundImage = `url("${background}")`;
      frame.dataset.placeholder = 'blurhash';
    }
    const picture = element('picture');
    for (const set of sets.filter((s) => s !== fallback)) {
      picture.append(element('source', { type: TYPES[set.format], srcset: set.srcset, sizes: '(max-width: 560px) 100vw, 260px' }));
    }
    if (fallback) {
      const img = element('img', {
        src: fallback.widest.url,
        srcset: fallback.srcset,
        sizes: '(max-width: 560px) 100vw, 260px',
        width: String(asset.width || fallback.widest.width),
        height: String(asset.height || fallback.widest.height),
        alt: name,
        decoding: 'async',
        loading: 'lazy',
      });
      img.addEventListener('load', () => img.classList.add('loaded'));
      picture.append(img);
    }
    frame.append(picture);
  } else {
    frame.append('Failed');
  }
  const caption = element('figcaption', {}, element('div', { class: 'name' }, name));
  if (asset.status === 'ready') {
    caption.append(element('div', { class: 'meta' }, `${asset.width} × ${asset.height} · ready`));
  } else {
    const reason = asset.error ? `${asset.error.kind}: ${asset.error.message}` : 'no reason recorded';
    caption.append(element('div', { class: 'reason' }, `Failed: ${reason}`));
  }
  figure.append(frame, caption);
  item.append(figure);
  return item;
}

/** Shows `asset` first, replacing its card if it has one (a re-upload, a finished one). */
function showFirst(asset) {
  document.querySelector(`#assets li[data-id="${asset.id}"]`)?.remove();
  $('assets').prepend(card(asset));
  $('status').textContent = '';
}

// ---- Listing -----------------------------------------------------------------------------------

let cursor = null;

async function loadPage() {
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (cursor) query.set('cursor', cursor);
  $('more').disabled = true;
  try {
    const response = await api(`/assets?${query}`);
    if (!response.ok) {
      $('status').textContent = `Could not load your images: ${await errorText(response)}`;
      return;
    }
    const page = await response.json();
    const shown = page.items.filter((a) => a.status !== 'deleted');
    for (const asset of shown) {
      if (!document.querySelector(`#assets li[data-id="${asset.id}"]`)) $('assets').append(card(asset));
    }
    cursor = page.next_cursor;
    $('more').hidden = !cursor;
    if ($('assets').children.length === 0) $('status').textContent = 'No images yet: upload your first.';
  } catch (e) {
    if (!(e instanceof SignInNeeded)) $('status').textContent = `Could not load your images: ${e.message}`;
  } finally {
    $('more').disabled = false;
  }
}

// ---- Uploads -----------------------------------------------------------------------------------

function uploadRow(file) {
  const progress = element('progress', { max: '100', value: '0', 'aria-label': `Uploading ${file.name}` });
  const state = element('div', { class: 'state' }, 'Asking for an upload form…');
  const row = element('li', {}, element('span', {}, file.name), progress, state);
  $('uploads').prepend(row);
  return {
    row,
    progress,
    say(text, failed = false) {
      state.textContent = text;
      row.classList.toggle('failed', failed);
    },
  };
}

/**
 * POSTs the form with the file last (as S3 requires), reporting progress. The policy names a
 * content-type prefix; the form states the file's own type.
 */
function postForm(form, file, contentType, onProgress) {
  return new Promise((resolve, reject) => {
    const data = new FormData();
    for (const [k, v] of Object.entries(form.fields)) data.append(k, v);
    data.append('Content-Type', contentType);
    data.append(form.fileField || 'file', file);
    const xhr = new XMLHttpRequest();
    xhr.open(form.method || 'POST', form.url);
    xhr.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable) onProgress((100 * e.loaded) / e.total);
    });
    xhr.addEventListener('load', () =>
      xhr.status >= 200 && xhr.status < 300 ? resolve() : reject(new Error(`the upload was refused (${xhr.status})`)),
    );
    xhr.addEventListener('error', () => reject(new Error('the upload did not go through')));
    xhr.send(data);
  });
}

/** The record once the pipeline has written it: READY or FAILED. */
async function processed(id) {
  const deadline = Date.now() + WAIT_FOR_PROCESSING_MS;
  while (Date.now() < deadline) {
    const response = await api(`/assets/${id}`);
    if (response.ok) {
      const asset = await response.json();
      if (asset.status === 'ready' || asset.status === 'failed') return asset;
    } else if (response.status !== 404) {
      throw new Error(await errorText(response));
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  throw new Error('still processing; it will appear here when done');
}

async function upload(file) {
  const ui = uploadRow(file);
  const contentType = file.type || 'application/octet-stream';
  try {
    const response = await api('/uploads', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ contentType, filename: file.name }),
    });
    if (!response.ok) throw new Error(await errorText(response));
    const form = await response.json();
    if (form.maxBytes && file.size > form.maxBytes) {
      throw new Error(`too large: ${(file.size / 1e6).toFixed(1)} MB, the limit is ${(form.maxBytes / 1e6).toFixed(1)} MB`);
    }
    ui.say('Uploading…');
    await postForm(form, file, contentType, (percent) => (ui.progress.value = percent));
    ui.progress.value = 100;
    ui.say('Uploaded; processing…');
    const asset = await processed(form.id);
    showFirst(asset);
    if (asset.status === 'ready') {
      ui.say('Ready');
    } else {
      ui.say(`Failed: ${asset.error ? asset.error.message : 'no reason recorded'}`, true);
    }
  } catch (e) {
    if (e instanceof SignInNeeded) ui.say('Sign in to upload.', true);
    else ui.say(`Not uploaded: ${e.message}`, true);
  }
}

function uploadAll(files) {
  for (const file of files) upload(file);
}

// ---- Wiring ------------------------------------------------------------------------------------

const drop = $('drop');
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  uploadAll(e.dataTransfer.files);
});
$('files').addEventListener('change', (e) => {
  uploadAll(e.target.files);
  e.target.value = '';
});
$('more').addEventListener('click', loadPage);
$('signin-form').addEventListener('submit', (e) => {
  e.preventDefault();
  token = $('token').value.trim();
  sessionStorage.setItem('pictor.token', token);
  $('signin').hidden = true;
  $('upload').hidden = false;
  $('status').textContent = '';
  showWho();
  loadPage();
});

showWho();
loadPage();
