// The creators' page in a real browser (Debian's headless Chromium, driven by playwright-core)
// against `pictor serve` and `pictor watch` on one machine: the listing and its pages, an
// upload through the file picker and one by drag-and-drop, both followed until READY, a
// hostile file shown FAILED with its reason, the images' natural sizes, and sign-in with a
// token. A screenshot of the page is kept in target/web/page.png.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TARGET = process.env.CARGO_TARGET_DIR ? path.resolve(ROOT, process.env.CARGO_TARGET_DIR) : path.join(ROOT, 'target');
const PICTOR = process.env.PICTOR_BIN ?? path.join(TARGET, 'debug', 'pictor');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const SCREENSHOT = path.join(TARGET, 'web', 'page.png');
const photo = (name) => path.join(ROOT, 'testdata/images', name);

const children = [];
let browser;

function pictor(args) {
  const run = spawnSync(PICTOR, args, { encoding: 'utf8' });
  assert.ok(run.status === 0 || run.status === 2, `pictor ${args.join(' ')}: ${run.stderr}`);
}

/** Starts a long-running `pictor` command; stopped after the tests. */
function start(args) {
  const child = spawn(PICTOR, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return child;
}

/** `pictor serve` on a free port; resolves to its base URL. */
function serve(args) {
  const child = start(['serve', '--listen', '127.0.0.1:0', ...args]);
  return new Promise((resolve, reject) => {
    let seen = '';
    child.stdout.on('data', (chunk) => {
      seen += chunk;
      const found = /listening on (http:\/\/\S+)/.exec(seen);
      if (found) resolve(found[1]);
    });
    child.on('exit', (code) => reject(new Error(`pictor serve exited with ${code}`)));
  });
}

function hs256(secret, claims) {
  const encode = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const body = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode(claims)}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}

before(async () => {
  assert.ok(fs.existsSync(PICTOR), `${PICTOR} is not built (cargo build)`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // The flags keep Chromium from reaching for the network this machine does not have.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

after(async () => {
  await browser?.close();
  for (const child of children) child.kill();
});

/** A fresh output directory with ana's four photos and one of bo's, and an inbox. */
function seeded() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pictor-page-'));
  const out = path.join(dir, 'out');
  const inbox = path.join(dir, 'inbox');
  fs.mkdirSync(inbox, { recursive: true });
  for (const name of ['astronaut.jpg', 'coffee.jpg', 'rocket.jpg', 'exif-gps.jpg']) {
    pictor(['process', '--creator', 'ana', '--out', out, photo(`photos/${name}`)]);
  }
  const bos = path.join(dir, 'bo-only.jpg');
  fs.copyFileSync(photo('photos/coffee.jpg'), bos);
  pictor(['process', '--creator', 'bo', '--out', out, bos]);
  return { out, inbox };
}

const cards = (page) => page.locator('#assets > li');

test('a creator sees their images, uploads by picker and by drop, and sees a failure', async () => {
  const { out, inbox } = seeded();
  start(['watch', '--out', out, inbox]);
  const base = await serve(['--out', out, '--inbox', inbox, '--as-creator', 'ana']);
  const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));

  // Two at a time, newest first; the cursor brings the rest, and only ana's.
  await page.goto(`${base}/?limit=2`);
  await page.waitForSelector('#assets > li >> nth=1');
  assert.equal(await cards(page).count(), 2);
  assert.equal(await page.locator('#assets > li .name').first().textContent(), 'exif-gps.jpg');
  await page.click('#more');
  await page.waitForSelector('#assets > li >> nth=3');
  await page.waitForFunction(() => document.getElementById('more').hidden);
  assert.equal(await cards(page).count(), 4);
  const names = await page.locator('#assets .name').allTextContents();
  assert.ok(!names.includes('bo-only.jpg'), `bo's image is not ana's: ${names}`);

  // Upload through the file picker: progress to 100, then the card, READY, first.
  await page.setInputFiles('#files', photo('photos/astronaut.jpg'));
  const row = page.locator('#uploads li').first();
  await row.locator('.state', { hasText: 'Ready' }).waitFor({ timeout: 60_000 });
  assert.equal(await row.locator('progress').getAttribute('value'), '100');
  assert.equal(await cards(page).count(), 5);
  assert.equal(await cards(page).first().getAttribute('data-status'), 'ready');
  // The card shows what the file was called, not the name the form gave the original.
  assert.equal(await cards(page).first().locator('.name').textContent(), 'astronaut.jpg');

  // Upload by dropping a file on the drop zone, as a drag from the desktop does.
  const dropped = fs.readFileSync(photo('photos/rocket.jpg')).toString('base64');
  await page.evaluate((bytes) => {
    const data = Uint8Array.from(atob(bytes), (c) => c.charCodeAt(0));
    const transfer = new DataTransfer();
    transfer.items.add(new File([data], 'dropped-rocket.jpg', { type: 'image/jpeg' }));
    document.getElementById('drop').dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
  }, dropped);
  await page.locator('#uploads li', { hasText: 'dropped-rocket.jpg' }).locator('.state', { hasText: 'Ready' }).waitFor({ timeout: 60_000 });
  assert.equal(await cards(page).count(), 6);
  assert.equal(await cards(page).first().locator('.name').textContent(), 'dropped-rocket.jpg');

  // A hostile file: accepted as an upload, then FAILED with the pipeline's reason.
  await page.setInputFiles('#files', {
    name: 'broken.jpg',
    mimeType: 'image/jpeg',
    buffer: fs.readFileSync(photo('hostile/truncated.jpg')),
  });
  const failedRow = page.locator('#uploads li', { hasText: 'broken.jpg' });
  await failedRow.locator('.state', { hasText: 'Failed' }).waitFor({ timeout: 60_000 });
  const failedCard = page.locator('#assets > li[data-status="failed"]');
  assert.equal(await failedCard.count(), 1);
  const reason = await failedCard.locator('.reason').textContent();
  assert.match(reason, /^Failed: corrupt: .*truncated/i);
  assert.equal(await cards(page).first().getAttribute('data-status'), 'failed');

  // Every READY card's image loaded from a rendition, at the size that rendition has, with a
  // BlurHash placeholder behind it; the browser picked WebP from the <picture>.
  await page.waitForFunction(() =>
    [...document.querySelectorAll('#assets img')].every((img) => img.complete && img.naturalWidth > 0),
  );
  const images = await page.$$eval('#assets li[data-status="ready"]', (items) =>
    items.map((li) => {
      const img = li.querySelector('img');
      return {
        alt: img.alt,
        natural: [img.naturalWidth, img.naturalHeight],
        declared: [Number(img.getAttribute('width')), Number(img.getAttribute('height'))],
        src: img.currentSrc,
        placeholder: li.querySelector('.frame').style.backgroundImage,
      };
    }),
  );
  assert.equal(images.length, 6);
  for (const image of images) {
    assert.ok(image.alt.length > 0, 'every image has a text alternative');
    assert.match(image.src, /\/renditions\/.*\.webp$/);
    const [w, h] = image.natural;
    const [dw, dh] = image.declared;
    assert.ok(w >= 200 && w <= dw, `natural width ${w} of a ${dw}-wide original`);
    assert.ok(Math.abs(w / h - dw / dh) < 0.02, `full-frame aspect: ${w}x${h} vs ${dw}x${dh}`);
    assert.match(image.placeholder, /^url\("data:image\/png;base64,/);
  }

  // The placeholder is the picture's colours: decoded here and drawn small, its mean colour is
  // the rendition's within a few levels.
  const gaps = await page.$$eval('#assets li[data-status="ready"]', async (items) => {
    const mean = (source) => {
      const canvas = document.createElement('canvas');
      [canvas.width, canvas.height] = [32, 24];
      const context = canvas.getContext('2d');
      context.drawImage(source, 0, 0, 32, 24);
      const data = context.getImageData(0, 0, 32, 24).data;
      const sums = [0, 0, 0];
      for (let i = 0; i < data.length; i += 4) for (let c = 0; c < 3; c++) sums[c] += data[i + c];
      return sums.map((v) => v / (data.length / 4));
    };
    const gaps = [];
    for (const li of items) {
      const placeholder = new Image();
      placeholder.src = li.querySelector('.frame').style.backgroundImage.slice(5, -2);
      await placeholder.decode();
      const [a, b] = [mean(placeholder), mean(li.querySelector('img'))];
      gaps.push(Math.max(...a.map((v, c) => Math.abs(v - b[c]))));
    }
    return gaps;
  });
  for (const gap of gaps) assert.ok(gap < 24, `placeholder and rendition differ by ${gap} levels`);

  // Accessible markup: the picker has a label, headings are in order, status is announced.
  assert.equal(await page.locator('label[for="files"]').count(), 1);
  assert.deepEqual(await page.$$eval('h1, h2:not([hidden] h2)', (hs) => hs.map((h) => h.tagName)), ['H1', 'H2', 'H2']);
  assert.equal(await page.getAttribute('#uploads', 'aria-live'), 'polite');

  // The page's own policy (it travels with the files to the CDN) refuses inline script.
  const policy = await page.getAttribute('meta[http-equiv="Content-Security-Policy"]', 'content');
  assert.match(policy, /default-src 'self'/);
  const inlineRan = await page.evaluate(() => {
    const script = document.createElement('script');
    script.textContent = 'window.inlineRan = true';
    document.body.append(script);
    return window.inlineRan === true;
  });
  assert.equal(inlineRan, false);

  // Nothing came from anywhere but this server (and the page's own data: placeholders).
  const foreign = requests.filter((url) => !url.startsWith(base) && !url.startsWith('data:'));
  assert.deepEqual(foreign, []);
  assert.deepEqual(errors, []);

  fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  await page.close();
});

test('with tokens required, the page asks for one and then shows that creator only', async () => {
  const { out } = seeded();
  const secret = 'a-secret-for-the-page-test';
  const base = await serve(['--out', out, '--jwt-secret', secret]);
  const page = await browser.newPage();
  await page.goto(`${base}/`);
  await page.locator('#signin').waitFor({ state: 'visible' });
  assert.match(await page.textContent('#signin-reason'), /Bearer token is required/);
  assert.equal(await page.isHidden('#upload'), true);

  const exp = Math.floor(Date.now() / 1000) + 3600;
  await page.fill('#token', hs256(secret, { sub: 'bo', exp }));
  await page.click('#signin button');
  await page.waitForSelector('#assets > li');
  assert.deepEqual(await page.locator('#assets .name').allTextContents(), ['bo-only.jpg']);
  assert.equal(await page.textContent('#who'), 'Signed in as bo');
  assert.equal(await page.isVisible('#upload'), true);

  // A token handed over in the fragment (a sign-in redirect) is used and taken off the URL,
  // when it comes back with the state this tab sent.
  const second = await browser.newPage();
  await second.goto(`${base}/`);
  await second.locator('#signin').waitFor({ state: 'visible' });
  const state = await second.evaluate(() => sessionStorage.getItem('pictor.state'));
  assert.match(state, /^[0-9a-f]{32}$/);
  await second.goto(
    `${base}/?from=signin#access_token=${hs256(secret, { sub: 'ana', exp })}&token_type=Bearer&state=${state}`,
  );
  await second.waitForSelector('#assets > li >> nth=3');
  assert.equal(await second.textContent('#who'), 'Signed in as ana');
  assert.equal(new URL(second.url()).hash, '');

  // A crafted link (someone else's token, without this tab's state) signs nobody in.
  const third = await browser.newPage();
  await third.goto(`${base}/#access_token=${hs256(secret, { sub: 'mallory', exp })}&token_type=Bearer&state=guessed`);
  await third.locator('#signin').waitFor({ state: 'visible' });
  assert.match(await third.textContent('#signin-reason'), /did not start was ignored/);
  assert.equal(await third.textContent('#who'), '');
  assert.equal(new URL(third.url()).hash, '');
  await page.close();
  await second.close();
  await third.close();
});
