#!/usr/bin/env node
// Browser tests of the advx playground: headless Chromium (Debian's, via playwright-core) drives the
// real page served from build/web. Real data only: MNIST test images are read from the IDX files,
// expected predictions come from the native CLI (advx dump). One line per check, then a summary;
// exits 1 if any check failed. scripts/test-web builds, serves and runs this.
//
//   node tests/web/run.js --url http://127.0.0.1:PORT/ [--root build/web] [--native build/native/advx]
//        [--mnist ../shared/data/mnist] [--model cnn] [--draw 50] [--fgsm 25] [--classify 1000]
//        [--shots build/screenshots] [--soak 120] [--isolated http://127.0.0.1:PORT2/]
//        [--only startup,models,classify,draw,fgsm,api,defence,defences,train,pixel,patch,cifar,seq,url,soak,shots,threads]
// --url serves build/web plainly (the single-thread page: every check but `threads`); --isolated
// serves it with COOP/COEP (scripts/serve.py), where the page loads its threaded build (threads).
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const zlib = require('zlib');
const crypto = require('crypto');
const childProcess = require('child_process');
const { chromium } = require('playwright-core');
const { digitStrokes } = require('./strokes');

const ROOT = path.resolve(__dirname, '../..');
const opt = {
  url: '', root: path.join(ROOT, 'build/web'), native: path.join(ROOT, 'build/native/advx'),
  mnist: path.resolve(ROOT, '../shared/data/mnist'), model: 'cnn', draw: 50, fgsm: 25, classify: 1000,
  shots: path.join(ROOT, 'build/screenshots'), only: '', chromium: '/usr/bin/chromium',
  preprocess: 1,  // 0: draw with MNIST preprocessing off (to see what it is worth; the check then fails)
  soak: 120,      // seconds of the soak check (random hostile use); 600 by hand
  isolated: '',   // the same folder served cross-origin isolated (the threads check)
};
for (let i = 2; i < process.argv.length; i += 2) {
  const k = process.argv[i].replace(/^--/, '');
  if (!(k in opt) || i + 1 >= process.argv.length) {
    console.error(`usage: node run.js --url URL [--${Object.keys(opt).join(' X] [--')} X]`);
    process.exit(2);
  }
  opt[k] = typeof opt[k] === 'number' ? +process.argv[i + 1] : process.argv[i + 1];
}
if (!opt.url) {
  console.error('run.js: --url http://127.0.0.1:PORT/ (the served build/web) is required');
  process.exit(2);
}
if (!opt.url.endsWith('/')) opt.url += '/';
const ORIGIN = new URL(opt.url).origin;
const ORIGINS = [ORIGIN, ...(opt.isolated ? [new URL(opt.isolated).origin] : [])];  // the same folder, served twice
const PAGE = opt.url + 'index.html';
const only = opt.only ? new Set(opt.only.split(',')) : null;
const T0 = Date.now();

// ---- reporting --------------------------------------------------------------------------------
const results = [];
function report(name, ok, detail) {
  results.push({ name, ok });
  console.log(`${ok ? 'PASS' : 'FAIL'} ${name}: ${detail}`);
}
function note(text) { console.log(`     ${text}`); }
async function check(name, fn) {
  const t = Date.now();
  try {
    const r = await fn();
    report(name, r.ok, `${r.detail} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
  } catch (e) {
    report(name, false, (e && e.stack ? e.stack.split('\n').slice(0, 3).join(' | ') : String(e)));
  }
}

// ---- data -------------------------------------------------------------------------------------
function readIdx(file) {
  const raw = zlib.gunzipSync(fs.readFileSync(file));
  const ndim = raw[3], dims = [];
  for (let i = 0; i < ndim; ++i) dims.push(raw.readUInt32BE(4 + 4 * i));
  return { dims, data: raw.subarray(4 + 4 * ndim) };
}
const mnist = (() => {
  const im = readIdx(path.join(opt.mnist, 't10k-images-idx3-ubyte.gz'));
  const lb = readIdx(path.join(opt.mnist, 't10k-labels-idx1-ubyte.gz'));
  return {
    n: im.dims[0], labels: lb.data,
    bytes: (i) => im.data.subarray(i * 784, (i + 1) * 784),
    image: (i) => Array.from(im.data.subarray(i * 784, (i + 1) * 784), (v) => v / 255),
  };
})();
function readSafetensors(file) {
  const b = fs.readFileSync(file), n = Number(b.readBigUInt64LE(0));
  const header = JSON.parse(b.subarray(8, 8 + n).toString('utf8')), out = {};
  for (const [k, t] of Object.entries(header)) {
    if (k === '__metadata__') continue;
    const [s, e] = t.data_offsets, data = b.subarray(8 + n + s, 8 + n + e);
    out[k] = { shape: t.shape, data: new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length)) };
  }
  return out;
}
const sha256 = (file) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const gz = (file) => zlib.gzipSync(fs.readFileSync(file), { level: 9 }).length;
const argmax = (a) => a.reduce((best, v, i) => (v > a[best] ? i : best), 0);
const kb = (b) => `${(b / 1024).toFixed(0)} KB`;

// ---- browser ----------------------------------------------------------------------------------
const log = { consoleErrors: [], pageErrors: [], foreign: [], requests: 0, expectedErrors: [] };
let expectErrors = null;  // RegExp of URLs a check makes fail on purpose (their console errors are expected)
function watch(page, label) {
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const where = m.location() && m.location().url;
    if (where && expectErrors && expectErrors.test(where)) log.expectedErrors.push(m.text());
    else log.consoleErrors.push(`[${label}] ${m.text()}`);
  });
  page.on('pageerror', (e) => log.pageErrors.push(`[${label}] ${e.message}`));
  page.on('request', (r) => {
    ++log.requests;
    const u = r.url();
    if (!ORIGINS.some((o) => u.startsWith(o + '/')) && u !== 'about:blank' && !u.startsWith('data:')) log.foreign.push(`[${label}] ${u}`);
  });
}
async function launch(deviceScaleFactor, viewport = { width: 1280, height: 860 }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'advx-chromium-'));  // a fresh profile every run
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: opt.chromium, headless: true, viewport, deviceScaleFactor,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync'],
  });
  ctx._advxDir = dir;
  return ctx;
}
async function closeCtx(ctx) {
  await ctx.close();
  fs.rmSync(ctx._advxDir, { recursive: true, force: true });
}
async function open(ctx, hash = '', label = 'page') {
  const page = await ctx.newPage();
  watch(page, label);
  await page.goto(PAGE + (hash ? '#' + hash : ''));
  await waitReady(page);
  return page;
}
async function waitReady(page) {
  await page.waitForFunction(() => window.advx && window.advx.ready, null, { timeout: 60000 });
  await page.evaluate(() => window.advx.ready.then(() => true));
}
// Waits until the app has drawn k more frames (events queued before are handled by then).
async function frames(page, k = 2) {
  await page.evaluate((k) => new Promise((resolve) => {
    const f0 = window.advx.layout().frames;
    const tick = () => (window.advx.layout().frames >= f0 + k ? resolve() : requestAnimationFrame(tick));
    requestAnimationFrame(tick);
  }), k);
}
const centre = (r) => ({ x: r.x + r.w / 2, y: r.y + r.h / 2 });
async function widget(page, name) {
  const w = (await page.evaluate(() => window.advx.layout())).widgets[name];
  if (!w) throw new Error(`widget '${name}' is not on screen`);
  return w;
}
// A key held down for a frame (Dear ImGui 1.86 misses a press and release within one frame).
async function hold(page, key) {
  await page.keyboard.down(key);
  await frames(page, 1);
  await page.keyboard.up(key);
  await frames(page, 1);
}
// Waits until the app has computed what the last change asked for (results not pending).
async function settled(page) {
  await frames(page, 1);
  await page.waitForFunction(() => !window.advx.view().pending, null, { timeout: 30000, polling: 'raf' });
}
// A real click on a named ImGui widget. ImGui sees the press in one frame and the release in the
// next; the app computes in the one after.
async function click(page, name) {
  const c = centre(await widget(page, name));
  await page.mouse.click(c.x, c.y);
  await frames(page, 3);
  await settled(page);
}
async function useModel(page, name) {
  await page.evaluate(async (name) => {
    await window.advx.loadModel(name);
    window.advx.setState({ model: name });
  }, name);
  await frames(page, 2);
}
// Draws MNIST test image i on the canvas as pen strokes (clears it first with the C key), the way
// people draw: bigger than MNIST's 20 px box and off-centre, at a size and place that vary from
// digit to digit (deterministically), so the preprocessing has to find, scale and centre it.
async function drawDigit(page, i) {
  const { strokes } = digitStrokes(mnist.image(i));
  const pts = strokes.flat();
  const x0 = Math.min(...pts.map((p) => p[0])), x1 = Math.max(...pts.map((p) => p[0]));
  const y0 = Math.min(...pts.map((p) => p[1])), y1 = Math.max(...pts.map((p) => p[1]));
  const frac = (v) => v - Math.floor(v);
  // Canvas units: 0..28 across. Height 55-85% of the canvas, then a free position inside it.
  const scale = Math.min((0.55 + 0.3 * frac(i * 0.618)) * 28 / Math.max(y1 - y0, 1), 0.9 * 28 / Math.max(x1 - x0, 1));
  const w = (x1 - x0) * scale, h = (y1 - y0) * scale;
  const ox = 2 + (28 - 4 - w) * frac(i * 0.377 + 0.1), oy = 2 + (28 - 4 - h) * frac(i * 0.719 + 0.3);
  const c = (await page.evaluate(() => window.advx.layout())).canvas;
  const k = c.w / 28;
  const at = ([x, y]) => [c.x + (ox + (x - x0) * scale) * k, c.y + (oy + (y - y0) * scale) * k];
  await page.keyboard.press('c');  // handled before the strokes that follow (one event queue)
  for (const s of strokes) {
    await page.mouse.move(...at(s[0]));
    await page.mouse.down();
    for (const p of s.slice(1)) await page.mouse.move(...at(p));
    await page.mouse.up();
  }
  await settled(page);
  return strokes.length;
}
async function shot(page, name) {
  fs.mkdirSync(opt.shots, { recursive: true });
  const file = path.join(opt.shots, name + '.png');
  await page.screenshot({ path: file });
  return path.relative(ROOT, file);
}
const maxAbsDiff = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

// ---- the checks -------------------------------------------------------------------------------
async function main() {
  const modelFile = path.join(opt.root, 'models', opt.model + '.safetensors');
  const ctx = await launch(1);
  let page;
  let drawnHash = null, drawnView = null, drawnAdv = null;
  const want = (k) => !only || only.has(k);

  await check('startup: page ready, first frame, only the startup model fetched', async () => {
    page = await open(ctx, '', 'main');
    const r = await page.evaluate(() => ({
      first: window.advx.firstFrameMs, ready: performance.now(), state: window.advx.state(),
      models: window.advx.models(), view: window.advx.view(),
      res: performance.getEntriesByType('resource').map((e) => ({ url: e.name, end: e.responseEnd })),
    }));
    const def = r.models.find((m) => m.default);
    const fetched = r.res.map((e) => new URL(e.url).pathname);
    const modelFetches = fetched.filter((p) => p.endsWith('.safetensors'));
    const ok = typeof r.first === 'number' && r.first > 0 && def && r.state.model === def.name &&
               r.view.modelStatus === 'ready' && r.view.pred >= 0 &&
               modelFetches.length === 1 && modelFetches[0] === '/' + def.url;
    // Bundle: gzip -9 size of each file the page loaded before its first frame, then the startup model.
    const files = [{ p: '/index.html', end: 0 }, ...r.res.map((e) => ({ p: new URL(e.url).pathname, end: e.end }))];
    let before = 0, withModel = 0;
    const rows = [];
    for (const f of files) {
      const local = path.join(opt.root, f.p);
      if (!fs.existsSync(local)) continue;
      const g = gz(local);
      const first = f.end <= r.first;
      if (first) before += g;
      withModel += g;
      rows.push(`${f.p.slice(1)} ${kb(g)}${first ? '' : ' (after the first frame)'}`);
    }
    note(`first frame at ${r.first.toFixed(0)} ms, ready at ${r.ready.toFixed(0)} ms; startup model ${def && def.name}`);
    note(`gzip -9: ${rows.join(', ')}`);
    note(`before the first frame ${kb(before)}; with the startup model ${kb(withModel)} (target <= 3 MB)`);
    const fits = before <= 3 * 1024 * 1024 && withModel <= 3 * 1024 * 1024;
    return { ok: ok && fits, detail: `first frame ${r.first.toFixed(0)} ms, ${kb(before)} gzip before it, ` +
             `${kb(withModel)} with '${def && def.name}'; model files fetched: ${modelFetches.join(' ') || 'none'}` };
  });
  if (!page) throw new Error('the page did not start; nothing else can be checked');

  if (want('models')) await check('lazy models: loadModel, 404 and corrupt files reported, retry', async () => {
    // The page fetches models/NAME.safetensors?v=BUILD (see web/shell.html).
    const name = 'fc500', url = new RegExp(`/models/${name}\\.safetensors(\\?|$)`);
    const bad = [];
    const before = await page.evaluate((n) => window.advx.models().find((m) => m.name === n), name);
    if (!before || before.status !== 'not loaded') bad.push(`${name} should start 'not loaded': ${JSON.stringify(before)}`);
    // "loading": selecting a model whose download is slow (held back 2 s here).
    const slow = new RegExp(`/models/${opt.model}\\.safetensors(\\?|$)`);
    await page.route(slow, async (route) => { await new Promise((r) => setTimeout(r, 2000)); await route.continue(); });
    await page.evaluate((n) => window.advx.setState({ model: n }), opt.model);
    await frames(page, 3);
    const vLoading = await page.evaluate(() => window.advx.view());
    if (vLoading.modelStatus !== 'loading' || !vLoading.pending) bad.push(`while downloading, the view is '${vLoading.modelStatus}'`);
    const uiLoading = await shot(page, 'model-loading');
    await page.evaluate((n) => window.advx.loadModel(n), opt.model);
    await page.unroute(slow);
    await settled(page);
    const vLoaded = await page.evaluate(() => window.advx.view());
    if (vLoaded.modelStatus !== 'ready' || vLoaded.pred < 0) bad.push(`after the download the view is '${vLoaded.modelStatus}'`);
    // 404
    expectErrors = url;
    await page.route(url, (route) => route.fulfill({ status: 404, contentType: 'text/plain', body: 'not here' }));
    const e404 = await page.evaluate((n) => window.advx.loadModel(n).then(() => 'resolved', (e) => e.message), name);
    if (!/HTTP 404/.test(e404)) bad.push(`404: ${e404}`);
    await page.evaluate((n) => window.advx.setState({ model: n }), name);
    await frames(page, 2);
    const v404 = await page.evaluate(() => window.advx.view());
    if (v404.modelStatus !== 'error' || !/404/.test(v404.error)) bad.push(`404 not shown: ${v404.modelStatus} '${v404.error}'`);
    const ui404 = await shot(page, 'model-error');
    // corrupt: the real file with one weight byte flipped
    const bytes = fs.readFileSync(path.join(opt.root, 'models', name + '.safetensors'));
    bytes[bytes.length - 100] ^= 0x55;
    await page.unroute(url);
    await page.route(url, (route) => route.fulfill({ status: 200, contentType: 'application/octet-stream', body: bytes }));
    const eBad = await page.evaluate((n) => window.advx.loadModel(n).then(() => 'resolved', (e) => e.message), name);
    if (!/corrupt/.test(eBad)) bad.push(`corrupt file: ${eBad}`);
    // truncated
    await page.unroute(url);
    await page.route(url, (route) => route.fulfill({ status: 200, body: bytes.subarray(0, 1000) }));
    const eTrunc = await page.evaluate((n) => window.advx.loadModel(n).then(() => 'resolved', (e) => e.message), name);
    if (!/truncated|bytes/.test(eTrunc)) bad.push(`truncated file: ${eTrunc}`);
    // retry with the real file
    await page.unroute(url);
    const ok = await page.evaluate((n) => window.advx.loadModel(n).then((m) => m.status, (e) => e.message), name);
    if (ok !== 'ready') bad.push(`retry: ${ok}`);
    await frames(page, 2);
    const vOk = await page.evaluate(() => window.advx.view());
    if (vOk.modelStatus !== 'ready' || vOk.pred < 0) bad.push(`after retry the view is ${vOk.modelStatus}`);
    const eUnknown = await page.evaluate(() => window.advx.loadModel('nope').then(() => 'resolved', (e) => e.message));
    if (!/unknown model/.test(eUnknown)) bad.push(`unknown: ${eUnknown}`);
    const eState = await page.evaluate(() => { try { window.advx.setState({ model: 'nope' }); return 'no error'; } catch (e) { return e.message; } });
    if (!/unknown model/.test(eState)) bad.push(`setState unknown: ${eState}`);
    await page.evaluate(() => window.advx.setState({ model: window.advx.models().find((m) => m.default).name }));
    note(`404: "${e404}"`);
    note(`corrupt: "${eBad}"`);
    note(`truncated: "${eTrunc}"; UI: ${uiLoading} (loading), ${ui404} (404)`);
    return { ok: bad.length === 0, detail: bad.length ? bad.join('; ') : 'errors reported in the API and the UI; retry loads the model' };
  });

  if (want('classify')) await check(`classify: ${opt.classify} MNIST test images, '${opt.model}' vs the native CLI`, async () => {
    if (!fs.existsSync(modelFile)) return { ok: false, detail: `${path.relative(ROOT, modelFile)} missing: is assets/models/${opt.model}.safetensors there (rebuild the web preset)?` };
    if (!fs.existsSync(opt.native)) return { ok: false, detail: `${opt.native} missing: cmake --preset native && cmake --build --preset native` };
    const n = opt.classify;
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'advx-dump-'));
    const dump = path.join(tmp, 'dump.safetensors');
    const repoModel = path.join(ROOT, 'assets/models', opt.model + '.safetensors');
    const native = fs.existsSync(repoModel) && sha256(repoModel) === sha256(modelFile) ? opt.model : modelFile;
    childProcess.execFileSync(opt.native, ['dump', '--model', native, '--n', String(n), '--out', dump,
                                           '--data', path.dirname(opt.mnist)], { stdio: 'pipe' });
    const logits = readSafetensors(dump).logits.data;
    fs.rmSync(tmp, { recursive: true, force: true });
    await useModel(page, opt.model);
    const b64 = Buffer.from(mnist.bytes(0).buffer, mnist.bytes(0).byteOffset, n * 784).toString('base64');
    const t = Date.now();
    const probs = await page.evaluate((b64) => {
      const raw = atob(b64), out = [];
      const x = new Float32Array(784);
      for (let i = 0; i < raw.length / 784; ++i) {
        for (let j = 0; j < 784; ++j) x[j] = raw.charCodeAt(i * 784 + j) / 255;
        out.push(Array.from(window.advx.classify(x)));
      }
      return out;
    }, b64);
    const ms = (Date.now() - t) / n;
    let agree = 0, correct = 0, maxP = 0, maxLogit = 0;
    for (let i = 0; i < n; ++i) {
      const l = Array.from(logits.subarray(i * 10, i * 10 + 10));
      const m = Math.max(...l), e = l.map((v) => Math.exp(v - m)), z = e.reduce((a, v) => a + v, 0);
      const p = e.map((v) => v / z);
      maxP = Math.max(maxP, maxAbsDiff(p, probs[i]));
      // log-probabilities differ from logits by a per-image constant: compare them centred.
      const lp = probs[i].map((v) => Math.log(Math.max(v, 1e-30)));
      const dl = l.map((v, k) => v - lp[k]), c = dl[argmax(p)];
      for (let k = 0; k < 10; ++k) if (probs[i][k] > 1e-6) maxLogit = Math.max(maxLogit, Math.abs(dl[k] - c));
      if (argmax(p) === argmax(probs[i])) ++agree;
      if (argmax(probs[i]) === mnist.labels[i]) ++correct;
    }
    const acc = correct / n;
    note(`web vs native: ${agree}/${n} same predictions, max |dp| ${maxP.toExponential(2)}, ` +
         `max |d logit| ${maxLogit.toExponential(2)} (classes with p > 1e-6); ${ms.toFixed(2)} ms per classify`);
    const ok = agree === n && maxP <= 1e-4 && maxLogit <= 1e-2 && (opt.model !== 'cnn' || acc >= 0.99);
    return { ok, detail: `accuracy ${(acc * 100).toFixed(1)}% (cnn needs >= 99%), ${agree}/${n} predictions as native, max |dp| ${maxP.toExponential(1)}` };
  });

  if (want('draw')) await check(`drawn digits: ${opt.draw} MNIST test digits drawn as mouse strokes, '${opt.model}', preprocessing ${opt.preprocess !== 0 ? 'on' : 'OFF'}`, async () => {
    await useModel(page, opt.model);
    await page.evaluate((pre) => window.advx.setState({ preprocess: pre, test: -1, img: '', attack: 'fgsm', eps: 0.1, target: -1 }),
                        opt.preprocess !== 0);
    let correct = 0, strokes = 0, bad = [];
    const step = Math.max(1, Math.floor(1000 / opt.draw));
    const wrong = [];
    for (let j = 0; j < opt.draw; ++j) {
      const i = 5 + j * step;  // spread over the first 1000 test images
      strokes += await drawDigit(page, i);
      const v = await page.evaluate(() => window.advx.view());
      if (v.exact) bad.push(`#${i} was taken as an exact 28x28 input`);
      if (v.pred === mnist.labels[i]) ++correct;
      else wrong.push(`#${i}: ${mnist.labels[i]} read as ${v.pred}`);
      if (j === 0) {
        drawnHash = await page.evaluate(() => window.advx.hash());
        drawnView = v;
        drawnAdv = await page.evaluate(() => Array.from(window.advx.image('adversarial')));
      }
    }
    const rate = correct / opt.draw;
    note(`${correct}/${opt.draw} correct (${(rate * 100).toFixed(1)}%), ${(strokes / opt.draw).toFixed(1)} strokes per digit; misread: ${wrong.join(', ') || 'none'}`);
    return { ok: rate >= 0.9 && opt.draw >= 50 && opt.preprocess !== 0 && bad.length === 0,
             detail: `${(rate * 100).toFixed(1)}% of ${opt.draw} drawn digits classified correctly (needs >= 90%)${bad.length ? '; ' + bad.join('; ') : ''}` };
  });

  if (want('fgsm')) await check(`FGSM control: clicking it at eps 0.3 flips the prediction, adversarial within eps, live region`, async () => {
    const def = await page.evaluate(() => window.advx.models().find((m) => m.default).name);
    await useModel(page, def);
    const bad = [];
    // 1. eps 0 -> 0.3 typed into the eps slider (ctrl+click turns an ImGui slider into a text field):
    //    the live region must announce the new adversarial prediction.
    await page.evaluate(() => window.advx.setState({ test: 0, attack: 'fgsm', steps: 10, eps: 0, target: -1 }));
    await frames(page, 2);
    const live0 = await page.textContent('#advx-live');
    // Dear ImGui 1.86 reads key and button state once per frame: hold each across a frame.
    const e = centre(await widget(page, 'eps'));
    await page.keyboard.down('Control');
    await frames(page, 1);
    await page.mouse.move(e.x, e.y);
    await page.mouse.down();
    await frames(page, 2);
    await page.mouse.up();
    await frames(page, 1);
    await hold(page, 'a');  // Ctrl+A: select the field's text
    await page.keyboard.up('Control');
    await frames(page, 1);
    await page.keyboard.type('0.3');
    await frames(page, 1);
    await hold(page, 'Enter');
    await settled(page);
    await frames(page, 2);
    const eps = await page.evaluate(() => window.advx.state().eps);
    if (Math.abs(eps - 0.3) > 1e-6) bad.push(`typing 0.3 into the eps slider gave eps ${eps}`);
    const v0 = await page.evaluate(() => window.advx.view());
    const live1 = await page.textContent('#advx-live');
    const announcedChange = v0.attack && v0.attack.pred !== v0.pred && live1 !== live0 &&
                            live1.includes(`Adversarial prediction ${v0.attack.pred}.`);
    if (!announcedChange) bad.push(`live region after the attack: "${live0}" -> "${live1}"`);
    note(`live region: "${live0}" -> "${live1}"`);
    // 2. For each test image: BIM shown, then a real click on the FGSM radio button (the last image:
    //    the F key instead).
    let flipped = 0, within = 0, announced = 0, maxDelta = 0;
    const n = opt.fgsm;
    for (let i = 0; i < n; ++i) {
      await page.evaluate((i) => window.advx.setState({ test: i, attack: 'bim', eps: 0.3 }), i);
      if (i === n - 1) {
        await page.keyboard.press('f');
        await frames(page, 1);
        await settled(page);
      } else {
        await click(page, 'fgsm');
      }
      const r = await page.evaluate(() => ({ st: window.advx.state(), v: window.advx.view(),
        x: Array.from(window.advx.image('input')), adv: Array.from(window.advx.image('adversarial')) }));
      if (r.st.attack !== 'fgsm') { bad.push(`#${i}: attack is '${r.st.attack}' after the click`); continue; }
      if (r.v.attack && r.v.attack.pred !== r.v.pred) ++flipped;
      const d = maxAbsDiff(r.adv, r.x);
      maxDelta = Math.max(maxDelta, d);
      if (d <= 0.3 + 1e-6 && r.adv.every((v) => v >= 0 && v <= 1)) ++within;
      const live = await page.textContent('#advx-live');
      if (r.v.attack && live.includes(`Prediction ${r.v.pred},`) && live.includes(`Adversarial prediction ${r.v.attack.pred}.`)) ++announced;
    }
    // B then F via the keyboard.
    await page.keyboard.press('b');
    await frames(page, 1);
    const afterB = await page.evaluate(() => window.advx.state().attack);
    await page.keyboard.press('f');
    await frames(page, 1);
    const afterF = await page.evaluate(() => window.advx.state().attack);
    if (afterB !== 'bim' || afterF !== 'fgsm') bad.push(`keys B/F gave ${afterB}/${afterF}`);
    note(`model '${def}': prediction changed on ${flipped}/${n}, within eps and [0,1] on ${within}/${n} ` +
         `(max |adv - x| ${maxDelta.toFixed(4)}), live region right on ${announced}/${n}`);
    return { ok: bad.length === 0 && flipped >= 0.8 * n && n >= 20 && within === n && announced === n,
             detail: `${flipped}/${n} flipped (needs >= 80%), ${within}/${n} within eps 0.3 and [0,1], ` +
                     `${announced}/${n} announced` + (bad.length ? '; ' + bad.join('; ') : '') };
  });

  if (want('api')) await check('JS API: registry, batched classify and attack, seeded, bad arguments rejected', async () => {
    const def = await page.evaluate(() => window.advx.models().find((m) => m.default).name);
    await useModel(page, def);
    const n = 20, bad = [];
    const b64 = Buffer.from(mnist.bytes(0).buffer, mnist.bytes(0).byteOffset, n * 784).toString('base64');
    const labels = Array.from(mnist.labels.subarray(0, n));
    const r = await page.evaluate(({ b64, n, labels }) => {
      const raw = atob(b64), x = new Float32Array(n * 784);
      for (let i = 0; i < x.length; ++i) x[i] = raw.charCodeAt(i) / 255;
      const reg = window.advx.registry();
      const batch = window.advx.classify(x);
      let maxDiff = 0;
      for (let i = 0; i < n; ++i) {
        const one = window.advx.classify(x.subarray(i * 784, (i + 1) * 784));
        for (let k = 0; k < one.length; ++k) maxDiff = Math.max(maxDiff, Math.abs(one[k] - batch[i * one.length + k]));
      }
      const t0 = performance.now();
      const pgd = window.advx.attack(x, labels, { attack: 'pgd', eps: 0.3, steps: 10, seed: 1 });
      const ms = performance.now() - t0;
      const again = window.advx.attack(x, labels, { attack: 'pgd', eps: 0.3, steps: 10, seed: 1 });
      const noise = window.advx.attack(x, labels, { attack: 'noise', eps: 0.3, seed: 1 });
      const fgsm = window.advx.fgsm(x.subarray(0, 784), labels[0], 0.2);
      const viaAttack = window.advx.attack(x.subarray(0, 784), labels[0], { attack: 'fgsm', eps: 0.2, target: -1 }).adv;
      const errors = [];
      const expectError = (f, re) => {
        try { f(); errors.push('no error for ' + f); } catch (e) {
          if (!(e instanceof Error) || !re.test(e.message)) errors.push(`${f}: ${e && e.message}`);
        }
      };
      const one = x.subarray(0, 784);
      expectError(() => window.advx.fgsm(one, NaN, 0.1), /label must be an integer/);
      expectError(() => window.advx.fgsm(one, 3, null), /eps must be a number/);
      expectError(() => window.advx.fgsm(one, 3, -Infinity), /eps must be a number/);
      expectError(() => window.advx.fgsm(one, 3, 0.1, { target: 'abc' }), /opts.target must be an integer/);
      expectError(() => window.advx.fgsm(one, 3, 0.1, { steps: 0 }), /opts.steps must be an integer/);
      expectError(() => window.advx.attack(one, 3, { attack: 'nope' }), /attack is one of/);
      expectError(() => window.advx.attack(one, 3, { eps: 2 }), /eps must be/);
      expectError(() => window.advx.attack(one, 3, { test: 3 }), /not an attack option/);
      expectError(() => window.advx.attack(one, [1, 2], {}), /one class per image/);
      expectError(() => window.advx.classify(new Float32Array(783)), /must be an array of N x 784/);
      return { attacks: reg.attacks.map((a) => a.name), defences: reg.defences.map((d) => d.name), maxDiff, ms,
               pgd: { pred: pgd.pred, success: pgd.success, linf: pgd.linf, adv: Array.from(pgd.adv) },
               same: again.adv.every((v, i) => v === pgd.adv[i]), noiseOk: noise.success.filter((s) => !s).length,
               noiseGrad: noise.gradientCalls, fgsmSame: fgsm.every((v, i) => v === viaAttack[i]), errors };
    }, { b64, n, labels });
    for (const a of ['fgsm', 'bim', 'pgd', 'noise']) if (!r.attacks.includes(a)) bad.push(`registry lacks ${a}`);
    if (!r.defences.includes('threshold')) bad.push('registry lacks threshold');
    if (r.maxDiff > 1e-6) bad.push(`batched classify differs from one by one by ${r.maxDiff}`);
    const fooled = r.pgd.success.filter((v) => v).length;
    const within = r.pgd.adv.every((v, i) => v >= 0 && v <= 1 && Math.abs(v - mnist.image(Math.floor(i / 784))[i % 784]) <= 0.3 + 1e-6);
    if (!within) bad.push('a PGD adversarial left [0, 1] or the eps-ball');
    if (fooled < 0.9 * n) bad.push(`PGD-10 at 0.3 fooled only ${fooled}/${n}`);
    if (!r.same) bad.push('the same seed gave another PGD result');
    if (r.noiseGrad !== 0) bad.push(`noise used ${r.noiseGrad} gradients`);
    if (!r.fgsmSame) bad.push('advx.fgsm differs from advx.attack({attack: fgsm})');
    bad.push(...r.errors);
    note(`registry: ${r.attacks.join(', ')} / ${r.defences.join(', ')}; batched PGD-10 on ${n} images ${r.ms.toFixed(0)} ms, ` +
         `fooled ${fooled}/${n}; noise at the same eps left ${r.noiseOk}/${n} right`);
    return { ok: bad.length === 0, detail: bad.length ? bad.join('; ') : `batched = one by one, ${fooled}/${n} fooled within eps, seeded, 10 bad calls rejected` };
  });

  if (want('defence')) await check('defence panel: toggling the threshold shows the defended prediction at once; adaptive attacker; curves', async () => {
    const def = await page.evaluate(() => window.advx.models().find((m) => m.default).name);
    await useModel(page, def);
    const bad = [];
    await page.evaluate(() => window.advx.setState({ test: 0, attack: 'pgd', eps: 0.3, steps: 10, target: -1, defence: 'none', adaptive: false }));
    await settled(page);
    // A real click on the radio button; count the frames from the release to the defended prediction.
    const c = centre(await widget(page, 'defence_threshold'));
    await page.mouse.move(c.x, c.y);
    await page.mouse.down();
    await frames(page, 1);
    await page.mouse.up();
    const waited = await page.evaluate(() => new Promise((resolve) => {
      const f0 = window.advx.layout().frames;
      const tick = () => {
        const v = window.advx.view();
        const f = window.advx.layout().frames - f0;
        if (v.defence && v.defence.pred >= 0) resolve({ frames: f, v });
        else if (f > 30) resolve({ frames: f, v });
        else requestAnimationFrame(tick);
      };
      tick();
    }));
    if (!waited.v.defence) bad.push('no defended prediction after the click');
    else if (waited.frames > 2) bad.push(`the defended prediction came ${waited.frames} frames after the release`);
    await settled(page);
    const obl = await page.evaluate(() => window.advx.view());
    if (!obl.attack || obl.attack.craftedOn !== def) bad.push(`oblivious attack crafted on ${obl.attack && obl.attack.craftedOn}`);
    await click(page, 'adaptive');
    const ada = await page.evaluate(() => ({ v: window.advx.view(), st: window.advx.state() }));
    if (!ada.st.adaptive || !ada.v.attack || !/^threshold/.test(ada.v.attack.craftedOn)) bad.push(`adaptive: ${JSON.stringify(ada.st)} ${ada.v.attack && ada.v.attack.craftedOn}`);
    if (ada.v.defence && ada.v.defence.gradient !== 'bpda') bad.push(`gradient ${ada.v.defence.gradient}`);
    await click(page, 'bpda');
    const masked = await page.evaluate(() => window.advx.view());
    if (!masked.defence || masked.defence.gradient !== 'zero') bad.push('BPDA off should give the zero gradient');
    const shotFile = await shot(page, 'defence');
    // The URL carries the defence; a new page reproduces it.
    const hash = await page.evaluate(() => window.advx.hash());
    if (!/defence=threshold&threshold=0\.5&adaptive=1&bpda=0/.test(hash)) bad.push(`hash: ${hash}`);
    const p2 = await open(ctx, hash, 'defence-url');
    await frames(p2, 2);
    await p2.waitForFunction(() => !window.advx.view().pending, null, { timeout: 30000 });
    const v2 = await p2.evaluate(() => window.advx.view());
    if (!v2.defence || v2.defence.pred !== masked.defence.pred || !v2.attack || v2.attack.defendedPred !== masked.attack.defendedPred)
      bad.push('the defence URL gave another result');
    // Three robustness curves while a defence is on.
    const curves = await p2.evaluate(() => window.advx.view().robustness.curves.map((c) => c.name).join(','));
    if (curves !== 'bare,oblivious,adaptive') bad.push(`robustness curves: ${curves}`);
    await p2.close();
    await page.evaluate(() => window.advx.setState({ defence: 'none', adaptive: false, bpda: true }));
    note(`defended prediction ${waited.frames} frame(s) after the click's release; oblivious adversarial: bare ${obl.attack && obl.attack.pred}, ` +
         `defended ${obl.attack && obl.attack.defendedPred}; adaptive (BPDA): defended ${ada.v.attack && ada.v.attack.defendedPred}; ` +
         `masked: defended ${masked.attack && masked.attack.defendedPred}; ${shotFile}`);
    return { ok: bad.length === 0, detail: bad.length ? bad.join('; ') : `defended prediction within ${waited.frames} frame(s); adaptive, BPDA and URL work; 3 curves` };
  });

  if (want('defences')) await check('every defence in the page: downloads what it needs, then the defended prediction, detector scores, votes and neighbours; toggling back within one frame', async () => {
    // Each registered image defence on `small`, test image 0. The first time it fetches its files
    // (companion models, MNIST's training or test split) and builds (a detector calibrates its
    // threshold on 1000 clean validation images) a slice per frame (view().defence.building): the
    // engine's share of each of those frames (view().timing.update) is recorded, bound 16 ms (a
    // frame; p95, or the median of a build under 20 frames); going back to it later must show the
    // defended prediction in the next frame (the app
    // keeps recently built defences). Then the live cost: the defence's share of one update when the
    // input changes (view().defence.ms).
    await useModel(page, 'small');
    const names = await page.evaluate(() => window.advx.registry().defences.map((d) => d.name));
    const bad = [], rows = [];
    // The defence's share of one update (view().defence.ms) when the input changes: the median over
    // test images 1-5.
    const defenceMs = async () => {
      const live = [];
      for (const t of [1, 2, 3, 4, 5]) {
        await page.evaluate((t) => window.advx.setState({ test: t }), t);
        await settled(page);
        live.push(await page.evaluate(() => window.advx.view().defence.ms));
      }
      live.sort((a, b) => a - b);
      return live[2];
    };
    const base = { test: 0, attack: 'fgsm', eps: 0.1, target: -1, defence: 'none', adaptive: false, bpda: true };
    // Until the defended prediction: the download's text, the build's frames (the engine's ms in each,
    // its last progress text).
    const firstBuild = () => page.evaluate(() => new Promise((resolve) => {
      let waiting = '';
      const build = [], stages = {};  // stages: the last progress text of each stage ("embedding training images")
      const tick = () => {
        const v = window.advx.view();
        if (v.defence && /^loading/.test(v.defence.waiting)) waiting = v.defence.waiting;
        if (v.defence && v.defence.building) {
          build.push(v.timing.update);
          stages[v.defence.waiting.replace(/ [0-9,]+ of [0-9,]+$/, '')] = v.defence.waiting;
        }
        if ((v.defence && v.defence.pred >= 0 && !v.pending) || v.error) resolve({ v, waiting, build, progress: Object.values(stages) });
        else requestAnimationFrame(tick);
      };
      tick();
    }));
    const frameStats = (ms) => {
      const s = ms.slice().sort((a, b) => a - b);
      const at = (q) => s[Math.min(s.length - 1, Math.floor(q * (s.length - 1)))];
      return { n: s.length, median: at(0.5), p95: at(0.95), max: s[s.length - 1], sum: s.reduce((a, b) => a + b, 0),
               worst: ms.indexOf(s[s.length - 1]) };
    };
    const buildText = (st, progress) => st.n ? `, built over ${st.n} frames (engine a frame: median ${st.median.toFixed(1)}, ` +
      `p95 ${st.p95.toFixed(1)}, max ${st.max.toFixed(1)} ms (frame ${st.worst + 1}); ${(st.sum / 1000).toFixed(1)} s in all; ${progress.join('; ')})` : '';
    for (const name of names) {
      await page.evaluate((s) => window.advx.setState(s), base);
      await settled(page);
      const t0 = Date.now();
      await page.evaluate((n) => window.advx.setState({ defence: n }), name);
      const first = await firstBuild();
      const sawWaiting = first.waiting;
      const firstMs = Date.now() - t0;
      const v = first.v;
      if (v.error) { bad.push(`${name}: ${v.error}`); continue; }
      // The bound on the p95 once a build spans 20 frames (below that the p95 is one of its two worst
      // frames, and a machine shared with builds preempts some), else on the median.
      const st = frameStats(first.build);
      const [stat, which] = st.n >= 20 ? [st.p95, 'p95'] : [st.median, 'median'];
      if (st.n && !(stat <= 16)) bad.push(`${name}: its first build took ${stat.toFixed(1)} ms of engine time a frame (${which}; bound 16)`);
      const d = v.defence;
      if (d.pred !== 7) bad.push(`${name}: defended prediction ${d.pred} on test image 0 (a 7)`);
      if (name === 'ensemble' && d.votes.length !== 3) bad.push(`${name}: ${d.votes.length} votes`);
      if (name === 'knn' && d.neighbours.length < 1) bad.push(`${name}: no neighbours`);
      if (/detect|kde/.test(name) && !d.scores.length) bad.push(`${name}: no detector score`);
      for (const sc of d.scores) if (!(isFinite(sc.value) && isFinite(sc.threshold))) bad.push(`${name}: score ${JSON.stringify(sc)}`);
      if (!v.attack || v.attack.defendedPred === undefined) bad.push(`${name}: no defended adversarial`);
      // Away and back: the defended prediction in the next frame.
      await page.evaluate((s) => window.advx.setState(s), base);
      await settled(page);
      const back = await page.evaluate((n) => new Promise((resolve) => {
        window.advx.setState({ defence: n });
        const f0 = window.advx.layout().frames;
        const tick = () => {
          const w = window.advx.view();
          const f = window.advx.layout().frames - f0;
          if (w.defence && w.defence.pred >= 0) resolve({ frames: f, ms: w.defence.ms });
          else if (f > 30) resolve({ frames: f, ms: -1 });
          else requestAnimationFrame(tick);
        };
        tick();
      }), name);
      if (back.frames > 2) bad.push(`${name}: back to it, the defended prediction came ${back.frames} frames later`);
      // The live cost: another input, the defence's share of the update (median of 5 inputs).
      const ms = await defenceMs();
      if (/knn|ensemble|squeeze_detect/.test(name)) await shot(page, `defence-${name}`);
      const bound = name === 'knn' ? 50 : 16;  // issue: k-NN <= 50 ms a query; every defence <= one frame
      if (!(ms <= bound)) bad.push(`${name}: ${ms.toFixed(1)} ms per input (bound ${bound})`);
      rows.push(`${name}: first ${(firstMs / 1000).toFixed(1)} s${sawWaiting ? ' (downloaded: ' + sawWaiting.replace(/^loading /, '').replace(/ \([^)]*\)/g, '') + ')' : ''}` +
                `${buildText(st, first.progress)}, back in ${back.frames} frame(s), ${ms.toFixed(1)} ms per input` +
                (d.scores.length ? `, score ${d.scores.map((s) => s.value.toPrecision(3) + '/' + s.threshold.toPrecision(3)).join(' ')}` : '') +
                (d.votes.length ? `, votes ${d.votes.map((x) => x.pred).join(' ')}` : '') +
                (d.neighbours.length ? `, nearest ${d.neighbours[0].label} at ${d.neighbours[0].distance.toFixed(2)}` : ''));
    }
    // k-NN over `small`'s penultimate features (the issue's "k-NN over the model's features"): the
    // first switch-on embeds all 60,000 training images (60,000 forward passes) a slice per frame,
    // then one query per input is a forward pass plus an exact search over 60,000 x 100 features;
    // bound 50 ms as above. Another k reuses the embedded features: ready within a frame or two. Then
    // the same build in one call in a fresh page: the same nearest image at the same distance.
    await page.evaluate((s) => window.advx.setState(s), base);
    await settled(page);
    const tf = Date.now();
    await page.evaluate(() => window.advx.setState({ defence: 'knn', space: 'features' }));
    const featBuild = await firstBuild();
    const feat = featBuild.v;
    const featFirst = Date.now() - tf;
    const fst = frameStats(featBuild.build);
    if (feat.error) bad.push(`knn features: ${feat.error}`);
    else {
      if (fst.n < 10) bad.push(`knn features: built over ${fst.n} frames, not sliced`);
      if (!(fst.p95 <= 16)) bad.push(`knn features: its first build took ${fst.p95.toFixed(1)} ms of engine time a frame (p95; bound 16)`);
      if (!featBuild.progress.some((t) => /^embedding training images [0-9,]+ of 60,000$/.test(t))) bad.push(`knn features: progress '${featBuild.progress.join('; ')}'`);
      if (feat.defence.pred !== 7) bad.push(`knn features: defended prediction ${feat.defence.pred} on test image 0 (a 7)`);
      if (feat.defence.neighbours.length < 1) bad.push('knn features: no neighbours');
      const ms = await defenceMs();
      if (!(ms <= 50)) bad.push(`knn features: ${ms.toFixed(1)} ms per input (bound 50)`);
      const nearest = feat.defence.neighbours[0];
      // Another k: the features are kept, so only the index is built again.
      const k3 = await page.evaluate(() => new Promise((resolve) => {
        window.advx.setState({ neighbours: 3 });
        const f0 = window.advx.layout().frames;
        const tick = () => {
          const w = window.advx.view();
          const f = window.advx.layout().frames - f0;
          if (w.defence && w.defence.pred >= 0 && !w.pending) resolve({ frames: f, n: w.defence.neighbours.length });
          else if (f > 600) resolve({ frames: f, n: -1 });
          else requestAnimationFrame(tick);
        };
        tick();
      }));
      if (k3.n !== 3 || k3.frames > 3) bad.push(`knn features: k = 3 came ${k3.frames} frames later with ${k3.n} neighbours (the features are kept)`);
      await page.evaluate(() => window.advx.setState({ neighbours: 1 }));
      // The same build in one call, as the page did before builds were sliced (and as a JS API call
      // between frames still does): a fresh page (nothing kept), the training split fetched again
      // (from the browser's cache) by the pixel k-NN, then the state and an adaptive attack in one
      // task. The same features: the same nearest image at the same distance, bit for bit.
      const p2 = await open(ctx, '', 'knn-one-call');
      await useModel(p2, 'small');
      await p2.evaluate((s) => window.advx.setState(s), Object.assign({}, base, { defence: 'knn', space: 'pixels' }));
      await settled(p2);
      const one = await p2.evaluate(() => {
        const x = window.advx.image('input');
        window.advx.setState({ defence: 'knn', space: 'features' });
        const t0 = performance.now();
        window.advx.attack(x, 7, { attack: 'fgsm', eps: 0.01, adaptive: true });
        return performance.now() - t0;
      });
      await settled(p2);
      const n2 = await p2.evaluate(() => window.advx.view().defence.neighbours[0]);
      await p2.close();
      if (!n2 || n2.index !== nearest.index || n2.distance !== nearest.distance)
        bad.push(`knn features: one call's nearest ${JSON.stringify(n2)}, the sliced build's ${JSON.stringify(nearest)}`);
      const oneRow = `knn (features of small) in one call, as before slicing: ${(one / 1000).toFixed(1)} s in one task (the page ` +
                     `does not draw); nearest ${n2 && n2.index} at ${n2 && n2.distance} (sliced: ${nearest.index} at ${nearest.distance})`;
      rows.push(`knn (features of small): first ${(featFirst / 1000).toFixed(1)} s (60,000 training images embedded)${buildText(fst, featBuild.progress)}, ` +
                `${ms.toFixed(1)} ms per input, nearest ${nearest.label} at ${nearest.distance.toFixed(2)}; k = 3 next: ${k3.frames} frame(s)`);
      rows.push(oneRow);
    }
    await page.evaluate((s) => window.advx.setState(Object.assign({ space: 'pixels' }, s)), base);
    for (const r of rows) note(r);
    return { ok: bad.length === 0, detail: bad.length ? bad.join('; ') : `${names.length} defences: ${names.join(', ')}; knn over features` };
  });

  if (want('train')) await check('train robustly in the page: batches sliced across frames, clean and PGD-10 accuracy per epoch, then the trained model is attacked', async () => {
    // A short run of Goodfellow et al.'s recipe (FGSM training, a = 0.5, eps 0.1) on `small`, 2000
    // training images, 2 epochs, evaluated on 200 test images after each. The engine's share of each
    // frame (App::update) is recorded frame by frame while it trains.
    await useModel(page, 'small');
    await page.evaluate(() => window.advx.setState({ test: 0, attack: 'fgsm', eps: 0.1, target: -1, defence: 'none', adaptive: false }));
    await settled(page);
    const bad = [];
    const t0 = Date.now();
    await page.evaluate(() => window.advx.train({ arch: 'small', recipe: 'goodfellow', train_eps: 0.1, train_images: 2000,
                                                  train_epochs: 2, train_eval: 200, train_seed: 1 }));
    const r = await page.evaluate(() => new Promise((resolve) => {
      const upd = [], epochsSeen = [];
      let frames = 0, last = -1;
      const tick = () => {
        const v = window.advx.view(), t = v.training;
        ++frames;
        if (t.history && t.history.length !== last) { last = t.history.length; epochsSeen.push(frames); }
        if (!t.waiting && t.running) upd.push(v.timing.update);
        if (t.done || t.error || frames > 20000) resolve({ t, upd, frames, epochsSeen });
        else requestAnimationFrame(tick);
      };
      tick();
    }));
    const secs = (Date.now() - t0) / 1000;
    const t = r.t;
    if (t.error) bad.push(`training: ${t.error}`);
    const h = t.history || [];
    if (h.length !== 2) bad.push(`${h.length} epochs in the history`);
    for (const e of h) {
      if (e.evalN !== 200) bad.push(`epoch ${e.epoch} evaluated on ${e.evalN} images`);
      if (!(e.clean > 0.5)) bad.push(`epoch ${e.epoch}: clean accuracy ${e.clean}`);
      if (!(e.robust <= e.clean)) bad.push(`epoch ${e.epoch}: robust ${e.robust} above clean ${e.clean}`);
    }
    if (h.length === 2 && !(h[1].clean > 0.75)) bad.push(`clean accuracy ${h[1].clean} after 2 epochs on 2000 images`);
    if (r.frames < 20) bad.push(`the run took ${r.frames} frames: not sliced`);
    const sorted = r.upd.slice().sort((a, b) => a - b);
    const p95 = sorted.length ? sorted[Math.floor(0.95 * (sorted.length - 1))] : 0;
    if (p95 > 25) bad.push(`engine ${p95.toFixed(1)} ms a frame (p95) while training (bound 25)`);
    // Add it to the models (the panel's button, as a user would) and attack it. The panel is below
    // the fold at this window size: the panels above it are hidden for the click.
    await page.evaluate(() => window.advx.setState({ hide: ['input', 'prediction', 'defence', 'robustness', 'model', 'help'] }));
    await frames(page, 3);
    let adopted = '';
    try {
      await click(page, 'train_adopt');
      adopted = await page.evaluate(() => window.advx.view().training.adopted);
    } catch (e) {
      bad.push(`the 'Use this model' button: ${e.message.split('\n')[0]}`);
    }
    const v = await page.evaluate(() => window.advx.view());
    if (adopted !== 'trained-1-small-goodfellow' || v.model !== adopted) bad.push(`after 'Use this model' the model is ${v.model} (adopted '${adopted}')`);
    if (!v.attack || v.pred < 0) bad.push('no prediction or attack on the trained model');
    const shotFile = await shot(page, 'train');
    await page.evaluate(() => window.advx.setState({ hide: [] }));
    note(`${h.map((e) => `epoch ${e.epoch}: clean ${(e.clean * 100).toFixed(1)}%, PGD-10 ${(e.robust * 100).toFixed(1)}%, ${e.seconds.toFixed(1)} s`).join('; ')}; ` +
         `${secs.toFixed(1)} s in all (training images loaded first), ${r.frames} frames, engine a frame: median ${sorted[Math.floor(sorted.length / 2)].toFixed(1)}, ` +
         `p95 ${p95.toFixed(1)}, max ${sorted[sorted.length - 1].toFixed(1)} ms; ${shotFile}`);
    await page.evaluate(() => window.advx.setState({ model: 'small' }));
    return { ok: bad.length === 0, detail: bad.length ? bad.join('; ') : `2 epochs in ${secs.toFixed(1)} s over ${r.frames} frames; the trained model is attacked` };
  });

  if (want('pixel')) await check('one-pixel attack in the page: the paper\'s DE (400 x 100), sliced across frames (engine <= 20 ms a frame), then the robustness curve', async () => {
    // small, 1 pixel, the paper's population 400 and 100 generations (40,400 model evaluations when
    // nothing fools the model early). Issue 8's target: <= 3 s for the whole run in the browser on
    // `small`. The live run is sliced across frames (App::kAttackSliceMs, a generation split into
    // chunks of rows); then the robustness curve runs DE on its images, a generation chunk at a
    // time too. Both phases are timed frame by frame: the engine's share of each frame (App::update,
    // view().timing.update) must leave room for 30 fps. The frame rate itself is reported, not
    // checked: headless Chromium draws with SwiftShader (software GL), where drawing the whole UI
    // costs tens of ms a frame that a GPU does not.
    const bad = [];
    await useModel(page, 'small');
    const rec = await page.evaluate(() => new Promise((resolve) => {
      const run = [], after = [], runUpdate = [], afterUpdate = [];
      let maxIter = 0, cands = 0, bests = 0, ended = 0;
      window.advx.setState({ test: 0, attack: 'pixel', pixels: 1, pop: 400, gens: 100, target: -1, seed: 0, defence: 'none', adaptive: false });
      const t0 = performance.now();
      const tick = (now) => {
        const v = window.advx.view();
        const u = v.timing.update;
        if (v.run) {
          run.push(now), runUpdate.push(u);
          maxIter = Math.max(maxIter, v.run.iteration), cands = Math.max(cands, v.run.candidates), bests = v.run.best.length;
        } else if (!v.pending && (run.length || now - t0 > 2000)) {
          if (!ended) ended = now;
          after.push(now), afterUpdate.push(u);
        }
        if ((ended && now - ended > 2000) || now - t0 > 90000) resolve({ run, after, runUpdate, afterUpdate, maxIter, cands, bests, v, ms: now - t0, t0 });
        else requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    }));
    const fps = (t) => (t.length > 1 ? (t.length - 1) / ((t[t.length - 1] - t[0]) / 1000) : 0);
    const worst = (t) => t.slice(1).reduce((m, v, i) => Math.max(m, v - t[i]), 0);
    const runFps = fps(rec.run), afterFps = fps(rec.after);
    // The engine's share of a frame: at most 20 ms (a 12 ms slice plus the step that crosses it),
    // so with drawing under 13 ms a frame stays under 33 ms (30 fps). p95, and the worst reported.
    const p95 = (a) => (a.length ? [...a].sort((x, y) => x - y)[Math.floor(0.95 * (a.length - 1))] : 0);
    const maxOf = (a) => a.reduce((m, x) => Math.max(m, x), 0);
    const runP95 = p95(rec.runUpdate), afterP95 = p95(rec.afterUpdate);
    // From the frame that set the state to the first frame without the run: the whole attack.
    const runMs = rec.run.length ? rec.after.length ? rec.after[0] - rec.t0 : rec.run[rec.run.length - 1] - rec.t0 : 0;
    if (rec.run.length < 3) bad.push(`the run was seen in ${rec.run.length} frames (not sliced?)`);
    // Issue 8's <= 3 s is a speed claim: reported here (and in BENCHMARKS.md), never a failure of a
    // timed test. Wall time includes software GL's drawing of every frame; engine time is the sum
    // of the engine's share of the run's frames.
    const engineMs = rec.runUpdate.reduce((t, x) => t + x, 0);
    if (runP95 > 20) bad.push(`the engine took ${runP95.toFixed(1)} ms of a frame (p95) during the run`);
    if (afterP95 > 20) bad.push(`the engine took ${afterP95.toFixed(1)} ms of a frame (p95) while the robustness curve ran DE`);
    if (rec.cands !== 400) bad.push(`population shown: ${rec.cands} candidates`);
    const a = rec.v.attack;
    if (!a) bad.push('no result after the run');
    else {
      if (a.l0 > 1) bad.push(`L0 ${a.l0} > 1 pixel`);
      if (a.queries > 40400 || a.queries < 400) bad.push(`queries ${a.queries}`);
      if (!a.success && a.queries !== 40400) bad.push(`a failed run spent ${a.queries} queries, not 101 x 400`);
    }
    const px = await page.evaluate(() => ({ x: Array.from(window.advx.image('input')), adv: Array.from(window.advx.image('adversarial')) }));
    const changed = px.x.filter((v, i) => v !== px.adv[i]).length;
    if (changed > 1 || px.adv.some((v) => !(v >= 0 && v <= 1))) bad.push(`${changed} pixels changed, or a value outside [0, 1]`);
    note(`DE on 'small': ${(runMs / 1000).toFixed(2)} s wall (target <= 3 s: ${runMs <= 3000 ? 'met' : 'NOT met'}), ` +
         `${(engineMs / 1000).toFixed(2)} s of engine time in ${rec.run.length} frames, engine ${runP95.toFixed(1)} ms p95 / ${maxOf(rec.runUpdate).toFixed(1)} ms max per frame, ` +
         `${runFps.toFixed(1)} fps drawn by software GL (worst frame ${worst(rec.run).toFixed(0)} ms), ${rec.bests} populations, ` +
         `${a && a.queries} queries, ${a && a.success ? 'fooled' : 'not fooled'}, ${changed} pixel changed; ` +
         `then the robustness curve's DE: engine ${afterP95.toFixed(1)} ms p95 / ${maxOf(rec.afterUpdate).toFixed(1)} ms max, ${afterFps.toFixed(1)} fps`);
    await page.evaluate(() => window.advx.setState({ attack: 'fgsm', eps: 0.3 }));
    await settled(page);
    return { ok: bad.length === 0, detail: bad.length ? bad.join('; ') : `engine <= ${Math.max(runP95, afterP95).toFixed(1)} ms of a frame (p95) during DE and the curve's DE, within 1 pixel and [0, 1]` };
  });
  if (want('patch')) await check('patch workbench: set a patch, drag it (panel and input canvas), train a universal patch in the page (engine <= 25 ms a frame), held-out success, export, import, URL', async () => {
    // Brown et al.'s adversarial patch on `small`: a 20% patch (at 10% it does little on these
    // models: REPRODUCTIONS.md) set through the API, dragged with the
    // mouse on the panel's view of what the model sees, then 40 training steps (16 MNIST training
    // images a step, App::kPatchBatch) sliced across frames while the engine's share of each frame
    // (view().timing.update) is recorded; then its held-out score, the PNG export (the button's
    // download and advx.patchPng), the import and a link to it.
    const bad = [];
    await useModel(page, 'small');
    await page.evaluate(() => window.advx.setState({ test: 0, attack: 'fgsm', eps: 0.1, target: -1, seed: 0, defence: 'none', adaptive: false,
                                                     hide: ['input', 'prediction', 'defence', 'robustness', 'model', 'help', 'train'] }));
    await settled(page);
    const input0 = await page.evaluate(() => Array.from(window.advx.image('input')));
    let p = await page.evaluate(() => window.advx.patch({ size: 0.2, target: 8, fill: 'clear', x: 14, y: 14 }));
    await frames(page, 3);
    const seen = await page.evaluate(() => ({ x: Array.from(window.advx.image('input')), seen: Array.from(window.advx.image('seen')), p: window.advx.patch() }));
    const changed = seen.seen.filter((v, i) => v !== seen.x[i]).length;
    if (p.side !== 13 || p.target !== 8) bad.push(`patch after set: side ${p.side}, target ${p.target}`);
    if (maxAbsDiff(seen.x, input0) > 0) bad.push('placing the patch changed the input');
    if (changed === 0 || changed > seen.p.covered) bad.push(`${changed} pixels of what the model sees changed, ${seen.p.covered} covered`);
    // Drag it to image pixel (6, 20) (x, y) on the panel's placement view.
    const r = await widget(page, 'patch_place');
    const at = (x, y) => [r.x + (x + 0.5) / 28 * r.w, r.y + (y + 0.5) / 28 * r.h];
    await page.mouse.move(...at(14, 14));
    await page.mouse.down();
    for (let k = 1; k <= 5; ++k) await page.mouse.move(...at(14 - 8 * k / 5, 14 + 6 * k / 5));
    await page.mouse.up();
    await frames(page, 3);
    p = await page.evaluate(() => window.advx.patch());
    if (Math.abs(p.x - 6) > 0.6 || Math.abs(p.y - 20) > 0.6) bad.push(`dragged to (${p.x}, ${p.y}), not (6, 20)`);
    // And on the input canvas (a test image: the pointer moves the patch, it does not paint).
    await page.evaluate(() => window.advx.setState({ hide: ['prediction', 'defence', 'robustness', 'model', 'help', 'train', 'attack'] }));
    await frames(page, 3);
    const c = (await page.evaluate(() => window.advx.layout())).canvas;
    const atc = (x, y) => [c.x + (x + 0.5) / 28 * c.w, c.y + (y + 0.5) / 28 * c.h];
    await page.mouse.move(...atc(6, 20));
    await page.mouse.down();
    for (let k = 1; k <= 5; ++k) await page.mouse.move(...atc(6 + 14 * k / 5, 20 - 12 * k / 5));
    await page.mouse.up();
    await frames(page, 3);
    const onCanvas = await page.evaluate(() => ({ p: window.advx.patch(), st: window.advx.state(), x: Array.from(window.advx.image('input')) }));
    if (Math.abs(onCanvas.p.x - 20) > 0.6 || Math.abs(onCanvas.p.y - 8) > 0.6) bad.push(`dragged on the input canvas to (${onCanvas.p.x}, ${onCanvas.p.y}), not (20, 8)`);
    if (onCanvas.st.test !== 0 || maxAbsDiff(onCanvas.x, input0) > 0) bad.push('dragging the patch on the input canvas changed the input');
    await page.evaluate(() => window.advx.setState({ hide: ['input', 'prediction', 'defence', 'robustness', 'model', 'help', 'train'] }));
    await frames(page, 3);
    // Train 40 steps from a random patch; the engine's share of every frame while it trains.
    const t0 = Date.now();
    await page.evaluate(() => window.advx.patch({ fill: 'random', x: 14, y: 14, train: 40 }));
    const rec = await page.evaluate(() => new Promise((resolve) => {
      const upd = [], times = [];
      let frames = 0;
      const tick = () => {
        const v = window.advx.view(), q = v.patch;
        ++frames;
        if (q && q.running && !q.waiting) upd.push(v.timing.update), times.push(performance.now());
        if (!q || q.error || (q.step >= 40 && !q.running) || frames > 20000) resolve({ q, upd, frames, times });
        else requestAnimationFrame(tick);
      };
      tick();
    }));
    const secs = (Date.now() - t0) / 1000;
    const q = rec.q;
    if (!q || q.error) bad.push(`training: ${q ? q.error : 'no patch'}`);
    const mean = (a) => a.reduce((s, v) => s + v, 0) / Math.max(a.length, 1);
    const loss = q ? q.loss : [], succ = q ? q.success : [];
    if (loss.length !== 40) bad.push(`${loss.length} steps in the history`);
    const l0 = mean(loss.slice(0, 10)), l1 = mean(loss.slice(-10)), s0 = mean(succ.slice(0, 10)), s1 = mean(succ.slice(-10));
    if (!(l1 < l0)) bad.push(`loss did not decrease: ${l0.toFixed(3)} -> ${l1.toFixed(3)} (first and last 10 steps)`);
    if (!(s1 > s0)) bad.push(`targeted success did not rise: ${s0.toFixed(3)} -> ${s1.toFixed(3)}`);
    if (rec.frames < 10) bad.push(`training took ${rec.frames} frames: not sliced`);
    const sorted = rec.upd.slice().sort((a, b) => a - b);
    const p95 = sorted.length ? sorted[Math.floor(0.95 * (sorted.length - 1))] : 0;
    if (p95 > 25) bad.push(`engine ${p95.toFixed(1)} ms a frame (p95) while training (bound 25)`);
    // The frame rate is reported, not checked (software GL draws the UI in tens of ms; see `pixel`).
    const fps = rec.times.length > 1 ? (rec.times.length - 1) / ((rec.times[rec.times.length - 1] - rec.times[0]) / 1000) : 0;
    // Held out: the engine's patch evaluation on 200 test images.
    await page.waitForFunction(() => { const h = window.advx.patch().heldOut; return h.success !== null && !h.running && h.step === 40; },
                               null, { timeout: 30000, polling: 100 });
    const held = await page.evaluate(() => window.advx.patch().heldOut);
    await frames(page, 2);
    const shotFile = await shot(page, 'patch');
    // Export: the panel's button downloads the model-scale PNG; patchPng gives it and the printable copy.
    let downloaded = '';
    try {
      const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 10000 }), click(page, 'patch_export')]);
      downloaded = dl.suggestedFilename();
    } catch (e) {
      bad.push(`the Export PNG button: ${e.message.split('\n')[0]}`);
    }
    if (downloaded !== 'advx-patch.png') bad.push(`download named '${downloaded}'`);
    const png = await page.evaluate(() => {
      const raw = window.advx.patchPng(), print = window.advx.patchPng({ print: true });
      const width = (b) => (b[16] << 24) | (b[17] << 16) | (b[18] << 8) | b[19];  // IHDR
      return { raw: Array.from(raw), rawW: width(raw), printW: width(print), sig: Array.from(raw.slice(1, 4)) };
    });
    if (String.fromCharCode(...png.sig) !== 'PNG' || png.rawW !== 13 || png.printW !== 104) bad.push(`PNG export: ${png.rawW} and ${png.printW} pixels wide`);
    // Import it back over a cleared patch; a bad file is a clear error.
    const imp = await page.evaluate(async (raw) => {
      const before = window.advx.patch().pixels;
      window.advx.patch({ fill: 'clear' });
      await window.advx.importPatch(new Uint8Array(raw), 'trained.png');
      const after = window.advx.patch().pixels;
      let err = '';
      try { await window.advx.importPatch(new Uint8Array([1, 2, 3]), 'junk.png'); } catch (e) { err = e.message; }
      return { same: before.every((v, i) => v === after[i]), err };
    }, png.raw);
    if (!imp.same) bad.push('the imported patch differs from the exported one');
    if (!/junk\.png/.test(imp.err)) bad.push(`a bad PNG gave '${imp.err}'`);
    // A link replays the patch, its placement and the prediction.
    await frames(page, 2);
    const here = await page.evaluate(() => ({ hash: window.advx.hash(), v: window.advx.view() }));
    if (!/&patch=/.test(here.hash)) bad.push('no patch= in the URL');
    const linked = await open(ctx, here.hash, 'patch-link');
    await frames(linked, 3);
    const there = await linked.evaluate(() => window.advx.view());
    if (!there.patch || maxAbsDiff(there.patch.pixels, here.v.patch.pixels) > 0 || there.pred !== here.v.pred ||
        maxAbsDiff(there.probs, here.v.probs) > 1e-6) bad.push('the link does not replay the patch and its prediction');
    await linked.close();
    await page.evaluate(() => { window.advx.patch({ remove: true }); window.advx.setState({ hide: [] }); });
    note(`40 steps on 'small' (target 8, 20%) in ${secs.toFixed(1)} s (training images loaded first), ${rec.frames} frames, ` +
         `${q && q.stepMs.toFixed(1)} ms a step; engine a frame: median ${sorted.length ? sorted[Math.floor(sorted.length / 2)].toFixed(1) : '-'}, ` +
         `p95 ${p95.toFixed(1)}, max ${sorted.length ? sorted[sorted.length - 1].toFixed(1) : '-'} ms, ${fps.toFixed(1)} fps drawn; loss ${l0.toFixed(3)} -> ${l1.toFixed(3)}, ` +
         `batch success ${s0.toFixed(2)} -> ${s1.toFixed(2)}; held out ${(held.success * 100).toFixed(1)}% of ${held.attacked}; ${shotFile}`);
    return { ok: bad.length === 0, detail: bad.length ? bad.join('; ') : `engine <= ${p95.toFixed(1)} ms a frame (p95) while training; held-out success ${(held.success * 100).toFixed(1)}%; PNG, import and link round-trip` };
  });

  if (want('cifar')) await check('CIFAR-10: a CIFAR model brings its test images (fetched on demand), class names, RGB attack', async () => {
    const bad = [];
    // Only the CIFAR-10 sample counts here (the defences check fetched MNIST's whole splits before).
    const before = await page.evaluate(() => performance.getEntriesByType('resource').map((e) => e.name).filter((u) => /samples\/cifar10/.test(u)).length);
    if (before !== 0) bad.push('the CIFAR-10 sample was fetched before a CIFAR model was chosen');
    await page.evaluate(async () => {
      await window.advx.loadModel('cifar_lenet');
      window.advx.setState({ model: 'cifar_lenet', test: 7, attack: 'fgsm', eps: 0.03, target: -1, defence: 'none' });
    });
    await page.waitForFunction(() => { const v = window.advx.view(); return v.dataset === 'cifar10' && !v.pending; }, null,
                               { timeout: 60000, polling: 100 });
    await frames(page, 3);
    const r = await page.evaluate(() => ({ v: window.advx.view(), x: Array.from(window.advx.image('input')),
      adv: Array.from(window.advx.image('adversarial')), hash: window.advx.hash(),
      fetched: performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname).filter((u) => /samples\/cifar10/.test(u)) }));
    if (r.x.length !== 3072) bad.push(`input has ${r.x.length} values, not 3x32x32`);
    if (r.v.classes[r.v.label] === undefined || r.v.classes[3] !== 'cat') bad.push(`class names ${r.v.classes}`);
    if (!r.v.attack) bad.push('no adversarial');
    else if (r.v.attack.linf > 0.03 + 1e-6) bad.push(`L-inf ${r.v.attack.linf}`);
    if (r.fetched.length !== 1 || !/cifar10\.bin\.gz$/.test(r.fetched[0])) bad.push(`sample fetches: ${r.fetched}`);
    const shotFile = await shot(page, 'cifar');
    note(`test image 7: label ${r.v.classes[r.v.label]}, predicted ${r.v.classes[r.v.pred]}, FGSM 8/255 -> ` +
         `${r.v.attack && r.v.classes[r.v.attack.pred]}; fetched ${r.fetched.join(' ')}; ${shotFile}`);
    await page.evaluate(() => window.advx.setState({ model: window.advx.models().find((m) => m.default).name, test: 0 }));
    await settled(page);
    return { ok: bad.length === 0, detail: bad.length ? bad.join('; ') : 'cifar_lenet on CIFAR-10 test images, class names, RGB adversarial within eps' };
  });

  if (want('seq')) await check('sequence view: typing an SMS updates the prediction within a frame; classifyText and the attack as the native CLI; ensemble votes follow the trace', async () => {
    const bad = [];
    const t0c = Date.now(), phases = [];
    const phase = (name) => phases.push(`${name} ${((Date.now() - t0c) / 1000).toFixed(1)} s`);
    const data = path.dirname(opt.mnist);
    const smsModel = path.join(ROOT, 'assets/models/sequence/sms_lstm.safetensors');
    if (!fs.existsSync(opt.native)) return { ok: false, detail: `${opt.native} missing: cmake --preset native && cmake --build --preset native` };
    // The native CLI: clean accuracy on the whole SMS test split, and the substitution attack's
    // adversarials (budget 0.1, seed 0) on the spam among the first 200 test messages.
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'advx-seq-'));
    const cli = (args) => JSON.parse(childProcess.execFileSync(opt.native, ['eval', '--dataset', 'sms', '--model', smsModel,
      '--data', data, '--json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] }).toString());
    const clean = cli([]);
    const advFile = path.join(tmp, 'adv.jsonl');
    const attacked = cli(['--attack', 'substitute', '--budget', '0.1', '--seed', '0', '--n', '200', '--save-adv', advFile]);
    const cliAdv = fs.readFileSync(advFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    fs.rmSync(tmp, { recursive: true, force: true });
    phase('CLI');

    // setState switches to the sequence view; the SMS model loads.
    await page.evaluate(() => window.advx.setState({ view: 'seq', dataset: 'sms', text: '', defence: 'none', seed: 0, budget: 0.1 }));
    const model = await page.evaluate(() => window.advx.view().seq.model);
    await page.evaluate((m) => window.advx.loadModel(m), model);
    await settled(page);
    const lay = await page.evaluate(() => window.advx.layout());
    for (const p of ['sequence', 'seqattack', 'seqdefence']) if (!lay.panels[p]) bad.push(`panel '${p}' not shown`);
    if (lay.panels.input || lay.panels.robustness) bad.push('image panels still shown in the sequence view');
    // Type the message with the keyboard, word by word: the prediction after each word.
    await click(page, 'seq_text');
    const words = 'Hi. FREE entry: txt WIN to claim a prize'.split(' ');
    const preds = [];
    let typed = '';
    for (let w = 0; w < words.length; ++w) {
      const chunk = (w ? ' ' : '') + words[w];
      const last = w === words.length - 1;
      if (last) {
        // The last word: the main-loop frame count when its last key goes down, and the first frame
        // whose view has the whole text and its prediction (sampled every animation frame).
        await page.evaluate((want) => {
          window.__seqKey = null;
          window.__seqShown = null;
          window.addEventListener('keydown', () => { window.__seqKey = window.advx.layout().frames; }, { capture: true });
          const tick = () => {
            const v = window.advx.view().seq;
            if (v.text === want && v.pred >= 0) window.__seqShown = window.advx.layout().frames;
            else requestAnimationFrame(tick);
          };
          requestAnimationFrame(tick);
        }, typed + chunk);
      }
      await page.keyboard.type(chunk);
      typed += chunk;
      const r = await page.evaluate((typed) => new Promise((resolve) => {
        const t0 = performance.now();
        const tick = () => {
          const v = window.advx.view().seq;
          if (v.text === typed && v.pred >= 0 && (window.__seqShown !== null || window.__seqKey === undefined))
            resolve({ pred: v.pred, label: v.label, frames: window.__seqShown, key: window.__seqKey });
          else if (performance.now() - t0 > 5000) resolve({ pred: -1, text: v.text });
          else requestAnimationFrame(tick);
        };
        tick();
      }), typed);
      if (r.pred < 0) { bad.push(`after typing "${typed}" the view shows "${r.text}"`); break; }
      preds.push(r.label);
      if (last) {
        const lag = r.frames - r.key;
        note(`last key down at main-loop frame ${r.key}, its prediction (${r.label}) shown by frame ${r.frames}: ${lag} frame(s)`);
        if (!(lag <= 1)) bad.push(`the prediction came ${lag} frames after the last key`);
      }
    }
    phase('typed');
    note(`prediction after each word: ${preds.join(' ')}`);
    if (preds[0] !== 'ham' || preds[preds.length - 1] !== 'spam') bad.push(`typing did not flip ham -> spam: ${preds.join(' ')}`);
    // The attack once typing pauses: within its budget, every changed token a vocabulary word.
    await settled(page);
    const v = await page.evaluate(() => window.advx.view().seq);
    const a = v.attack;
    if (!a) bad.push('no adversarial after typing paused');
    else {
      const allowed = Math.ceil(0.1 * v.ids.length - 1e-9);
      if (a.budget !== allowed || a.edits > allowed || a.changed.length !== a.edits) bad.push(`budget: ${a.edits} edits, ${a.budget} allowed (${allowed} expected)`);
      const inVocab = await page.evaluate((toks) => toks.map((t) => window.advx.classifyText(t).unknown.length === 0), a.changed.map((k) => a.tokens[k]));
      if (!inVocab.every(Boolean)) bad.push(`changed tokens outside the vocabulary: ${a.changed.map((k) => a.tokens[k]).join(' ')}`);
      note(`adversarial (${a.edits}/${a.budget} substitutions, ${a.ms.toFixed(1)} ms): ${a.changed.map((k) => `${v.tokens[k]}->${a.tokens[k]}`).join(', ')}; ${v.label} -> ${a.label}`);
    }
    phase('attacked');
    const shotFile = await shot(page, 'sequence');
    // classifyText on every SMS test message: the native CLI's clean accuracy, to the message.
    const t0 = Date.now();
    const web = await page.evaluate(async () => {
      const s = await window.advx.sequenceSamples('sms');
      let right = 0;
      for (let i = 0; i < s.texts.length; ++i) right += window.advx.classifyText(s.texts[i]).pred === s.labels[i];
      return { n: s.texts.length, right, texts: s.texts };
    });
    const msPer = (Date.now() - t0) / web.n;
    phase('classified');
    if (web.n !== clean.n || web.right !== Math.round(clean.clean_acc * clean.n))
      bad.push(`classifyText: ${web.right}/${web.n} right, the CLI ${clean.clean_acc} of ${clean.n}`);
    // advx.attack on the CLI's attacked messages: the same adversarials, token for token.
    const same = await page.evaluate(({ rows, texts }) => rows.map((row) => {
      const r = window.advx.attack({ text: texts[row.index], attack: 'substitute', budget: 0.1, seed: 0, label: row.label });
      const want = row.adversarial;
      const ok = r.ids.length === want.length && r.ids.every((id, k) => (id === 1 ? want[k] === '<unk>' : want[k] === r.tokens[k]));
      return { ok, edits: r.edits, budget: r.budget, success: r.success === row.success };
    }), { rows: cliAdv, texts: web.texts });
    const agree = same.filter((x) => x.ok && x.success).length;
    if (agree !== same.length) bad.push(`advx.attack agreed with the CLI on ${agree}/${same.length} messages`);
    if (same.some((x) => x.edits > x.budget)) bad.push('an API adversarial is over its budget');
    phase('API attacks');
    // Errors are advx Errors.
    const errs = await page.evaluate(() => {
      const out = [];
      const expect = (f, re) => { try { f(); out.push('no error for ' + f); } catch (e) { if (!(e instanceof Error) || !re.test(e.message)) out.push(`${f}: ${e && e.message}`); } };
      expect(() => window.advx.classifyText(42), /^advx: classifyText takes a string/);
      expect(() => window.advx.classifyText('hi', { model: 'nope' }), /^advx: unknown model 'nope'/);
      expect(() => window.advx.attack({ text: 'hi', budget: 2 }), /^advx: bad attack option 'budget=2'/);
      expect(() => window.advx.attack({ text: 'hi', eps: 0.1 }), /^advx: 'eps' is not a sequence attack option/);
      expect(() => window.advx.attack({ text: 7 }), /^advx: advx.attack on a sequence takes/);
      expect(() => window.advx.setState({ view: 'seq', dataset: 'nope' }), /dataset is a sequence dataset/);
      return out;
    });
    bad.push(...errs);
    // The link reproduces the typed text, its prediction and the adversarial.
    const hash = await page.evaluate(() => window.advx.hash());
    if (!/view=seq&dataset=sms/.test(hash) || !/text=Hi.\+FREE\+entry%3A/.test(hash)) bad.push(`hash: ${hash.slice(0, 120)}`);
    const p2 = await open(ctx, hash, 'seq-url');
    await settled(p2);
    const v2 = await p2.evaluate(() => window.advx.view().seq);
    if (v2.text !== v.text || v2.pred !== v.pred || !v2.attack || !a || v2.attack.text !== a.text) bad.push('the link gave another result');
    await p2.close();
    phase('link');
    // MalbehavD's file (2.3 MB of traces): read a slice per frame once it is here (checksums, gunzip,
    // parse, split, vocabulary, encoding), the engine's ms in each such frame; then test trace 0 shows.
    const rd = await page.evaluate(() => new Promise((resolve) => {
      window.advx.setState({ view: 'seq', dataset: 'malbehavd', test: 0, defence: 'none' });
      const frames = [];
      const t0 = performance.now();
      const tick = () => {
        const w = window.advx.view();
        const s = w.seq;
        if (s && s.dataRead >= 0) frames.push(w.timing.update);
        if (s && s.dataStatus === 'ready') resolve({ frames, ms: performance.now() - t0 });
        else if ((s && s.dataStatus === 'error') || performance.now() - t0 > 30000) resolve({ frames, error: w.error || 'MalbehavD not read in 30 s' });
        else requestAnimationFrame(tick);
      };
      tick();
    }));
    if (rd.error) bad.push(`MalbehavD read: ${rd.error}`);
    else {
      const s = rd.frames.slice().sort((a, b) => a - b);
      const med = s.length ? s[Math.floor((s.length - 1) / 2)] : NaN;
      if (s.length < 2) bad.push(`MalbehavD's file read over ${s.length} frames, not sliced`);
      else if (!(med <= 16)) bad.push(`MalbehavD's file read took ${med.toFixed(1)} ms of engine time a frame (median; bound 16)`);
      note(`MalbehavD dataset: ready ${(rd.ms / 1000).toFixed(2)} s after the switch (download included), read over ${s.length} frames ` +
           `(engine a frame: median ${med.toFixed(1)}, max ${s.length ? s[s.length - 1].toFixed(1) : '-'} ms)`);
    }
    await settled(page);
    phase('MalbehavD read');
    // Traces with the RNN ensemble: each member's vote follows the trace as it is typed.
    await page.evaluate(() => window.advx.setState({ view: 'seq', dataset: 'malbehavd', text: '', defence: 'seqensemble' }));
    await settled(page);
    const calls = ['NtClose', 'NtOpenKey', 'LdrLoadDll'];
    await click(page, 'seq_text');
    const votes = [];
    let trace = '';
    for (let k = 0; k < calls.length; ++k) {
      const chunk = (k ? ' ' : '') + calls[k];
      await page.keyboard.type(chunk);
      trace += chunk;
      const r = await page.evaluate((trace) => new Promise((resolve) => {
        const t0 = performance.now();
        const tick = () => {
          const v = window.advx.view().seq;
          if (v.text === trace && v.defence && v.defence.votes) resolve(v.defence.votes.map((m) => m.probs[1]));
          else if (performance.now() - t0 > 5000) resolve(null);
          else requestAnimationFrame(tick);
        };
        tick();
      }), trace);
      if (!r) { bad.push(`no votes after typing ${k + 1} calls`); break; }
      votes.push(r);
    }
    const changed = votes.length > 1 && votes.some((r) => r.some((p, m) => Math.abs(p - votes[0][m]) > 1e-4));
    if (!votes.every((r) => r.length === 3) || !changed) bad.push(`ensemble votes did not follow the trace: ${JSON.stringify(votes.slice(0, 3))}`);
    note(`ensemble P(malware) per member after 1 call: ${votes[0] && votes[0].map((p) => p.toFixed(2)).join(' ')}; after ${votes.length}: ` +
         `${votes.length && votes[votes.length - 1].map((p) => p.toFixed(2)).join(' ')}`);
    phase('ensemble');
    await settled(page);
    // The sequence defences' first builds, a slice per frame (sequence squeezing: k-means over the
    // embedding rows, then the detector's scores of the validation sequences; the transition detector:
    // its counts, then the scores), the engine's ms in each frame from the switch-on to the defended
    // prediction; bound 16 ms as for the image defences (p95 from 20 frames, else the median). On a
    // test sample of each dataset: MalbehavD squeezing (k 224, the default), SMS squeezing at k 2560
    // (DEFENCES.md), and the transition detector on both.
    for (const [dataset, defence, extra] of [['malbehavd', 'seqsqueeze', {}], ['sms', 'seqsqueeze', { k: 2560 }],
                                             ['malbehavd', 'transitions', {}], ['sms', 'transitions', {}]]) {
      const what = `${defence} (${dataset}${extra.k ? ', k ' + extra.k : ''})`;
      await page.evaluate((ds) => window.advx.setState({ view: 'seq', dataset: ds, test: 0, defence: 'none' }), dataset);
      await settled(page);
      const sq = await page.evaluate(([def, ex]) => new Promise((resolve) => {
        window.advx.setState(Object.assign({ defence: def }, ex));
        const build = [], stages = {};
        const t0 = performance.now();
        const tick = () => {
          const w = window.advx.view();
          const d = w.seq && w.seq.defence;
          if (d && d.building) {
            build.push(w.timing.update);
            stages[d.waiting.replace(/[:,]? [^:]*[0-9,]+ of [0-9,]+$/, '')] = d.waiting;
          }
          if (d && d.pred >= 0) resolve({ build, progress: Object.values(stages), ms: performance.now() - t0, score: d.scores && d.scores[0] });
          else if (w.error || performance.now() - t0 > 60000) resolve({ build, progress: Object.values(stages), error: w.error || 'no defended prediction in 60 s' });
          else requestAnimationFrame(tick);
        };
        tick();
      }), [defence, extra]);
      if (sq.error) { bad.push(`${what}: ${sq.error}`); continue; }
      const s = sq.build.slice().sort((a, b) => a - b);
      const at = (q) => s[Math.min(s.length - 1, Math.floor(q * (s.length - 1)))];
      const [stat, which] = s.length >= 20 ? [at(0.95), 'p95'] : [at(0.5), 'median'];
      const total = s.reduce((a, b) => a + b, 0);
      // A build with more engine time than a frame's share must span frames (the MalbehavD transition
      // counts take ~10 ms in all: one or two frames is right for them).
      if (total > 20 && s.length < 3) bad.push(`${what}: built over ${s.length} frames, not sliced`);
      else if (!(stat <= 16)) bad.push(`${what}: its first build took ${stat.toFixed(1)} ms of engine time a frame (${which}; bound 16)`);
      if (!sq.score || !isFinite(sq.score.threshold)) bad.push(`${what}: no detector score ${JSON.stringify(sq.score)}`);
      note(`${what}: defended prediction ${(sq.ms / 1000).toFixed(2)} s after the switch-on, built over ${s.length} frames ` +
           `(engine a frame: median ${at(0.5).toFixed(1)}, p95 ${at(0.95).toFixed(1)}, max ${s[s.length - 1].toFixed(1)} ms; ` +
           `${(total / 1000).toFixed(2)} s in all; ${sq.progress.join('; ')}); threshold ${sq.score && sq.score.threshold}`);
      await page.evaluate(() => window.advx.setState({ defence: 'none' }));
    }
    phase('defence builds');
    await page.evaluate(() => window.advx.setState({ view: 'image', defence: 'none' }));
    await settled(page);
    note(`time: ${phases.join(', ')}`);
    note(`classifyText: ${web.right}/${web.n} SMS test messages right (CLI: ${(clean.clean_acc * 100).toFixed(2)}%), ${msPer.toFixed(2)} ms each; ` +
         `advx.attack = CLI on ${agree}/${same.length} attacked messages (CLI success rate ${attacked.success_rate.toFixed(3)}); ${shotFile}`);
    return { ok: bad.length === 0, detail: bad.length ? bad.join('; ') : `prediction within a frame of the key, ham -> spam while typing, ` +
             `${web.right}/${web.n} as the CLI, ${agree}/${same.length} adversarials as the CLI, votes follow the trace` };
  });

  if (want('soak')) await check(`soak: ${opt.soak} s of random drags, clicks, keys, hashes and API calls (good and bad)`, async () => {
    const p = await open(ctx, 'model=small&test=0', 'soak');
    const bad = [];
    let rng = 12345;  // a seeded LCG: the same sequence of actions every run
    const rand = () => ((rng = (rng * 1103515245 + 12345) >>> 0) / 4294967296);
    const pick = (a) => a[Math.floor(rand() * a.length)];
    const image0 = mnist.image(0);
    // The reference answer: small's probabilities for test image 0.
    const ref = await p.evaluate((x) => Array.from(window.advx.classify(new Float32Array(x))), image0);
    // A random click may switch on any defence, and the first k-NN or density detector loads MNIST's
    // 60,000 training images (~190 MB of floats): every defence is switched on once before the heap's
    // reference is taken, so that first load is not counted as growth.
    for (const n of await p.evaluate(() => window.advx.registry().defences.map((d) => d.name))) {
      await p.evaluate((n) => window.advx.setState({ defence: n }), n);
      await p.waitForFunction(() => { const v = window.advx.view(); return !v.pending || v.error; }, null, { timeout: 60000, polling: 'raf' });
    }
    await p.evaluate(() => window.advx.setState({ defence: 'none' }));
    const hashes = ['model=small&test=5&attack=pgd&eps=0.2&steps=7', 'model=small&attack=noise&eps=0.4&test=9',
      'defence=threshold&threshold=0.3&adaptive=1', 'defence=none', 'attack=bim&eps=2', 'steps=0x10', 'test=-7',
      'model=nope', 'img=!!!', 'hide=attack', 'hide=', 'target=12', 'eps=NaN', 'seed=-1', '%zz=1', 'attack=fgsm&eps=0.1',
      'model=cifar_lenet&test=3', 'model=small&test=0'];
    const keys = ['c', 'r', 'e', 'f', 'b', 'g', 'n', 'a', 't', '-', '=', '[', ']'];
    const calls = [
      'classify(x)', 'classify(new Float32Array(783))', 'classify(null)', 'classify([NaN].concat(Array.from(x).slice(1)))',
      'attack(x, 7, {attack: "fgsm", eps: 0.2})', 'attack(x, 7, {attack: "pgd", eps: 0.3, steps: 5})', 'attack(x, 7, {eps: -1})',
      'attack(x, "7", {})', 'attack(x, 7, {attack: {}})', 'attack(x, 7, {steps: Infinity})', 'attack(x, [1, 2], {})',
      'fgsm(x, 7, 0.1)', 'fgsm(x, NaN, 0.1)', 'fgsm(x, 7, null)', 'fgsm(x, 7, 0.1, {target: "abc"})', 'fgsm(x, 7, 0.1, {steps: -1})',
      'setState({test: 1000})', 'setState({eps: 0.15})', 'setState(null)', 'setState({foo: 1})', 'setState({target: 11})',
      'setState({hide: [1, 2]})', 'image("nope")', 'image()', 'loadModel(123)', 'models()', 'registry()', 'state()', 'view()', 'hash()',
    ];
    // The heap is measured after a warm-up of half the soak (at most 20 s): by then every model, sample
    // file and attack the actions reach has been loaded once (measured: 64 MB at 7.5 s, and all of it
    // by 20 s); what grows after it is a leak.
    const t0 = Date.now(), warm = Math.min(20000, opt.soak * 500);
    let actions = 0, apiCalls = 0, advxErrors = 0, memWarm = 0, memEnd = 0, checks = 0;
    const slow = [];  // actions that took over 3 s (what makes a soak overrun its time)
    while (Date.now() - t0 < opt.soak * 1000) {
      const kind = rand();
      const a0 = Date.now();
      let what = '';
      const hashBefore = await p.evaluate(() => { try { return window.advx.hash(); } catch (e) { return '?'; } });
      try {
        if (kind < 0.2) {  // a stroke on the canvas (if it is on screen)
          const c = (await p.evaluate(() => window.advx.layout())).canvas;
          if (c.w > 0) {
            await p.mouse.move(c.x + rand() * c.w, c.y + rand() * c.h);
            await p.mouse.down();
            for (let k = 0; k < 4; ++k) await p.mouse.move(c.x + rand() * c.w, c.y + rand() * c.h);
            await p.mouse.up();
          }
        } else if (kind < 0.4) {  // a click on a widget (not export/import: they open files)
          const w = (await p.evaluate(() => window.advx.layout())).widgets;
          const names = Object.keys(w).filter((n) => !/export|import/.test(n));
          if (names.length) {
            const r = w[pick(names)];
            await p.mouse.click(r.x + r.w * rand(), r.y + r.h * rand());
          }
        } else if (kind < 0.55) {
          what = `key ${pick(keys)}`;
          await p.keyboard.press(what.slice(4));
        } else if (kind < 0.7) {
          what = `#${pick(hashes)}`;
          await p.evaluate((h) => { location.hash = h; }, what.slice(1));
        } else {  // API calls: each returns or throws an advx Error, nothing else
          const call = pick(calls);
          what = call;
          const out = await p.evaluate(async ({ call, x }) => {
            x = new Float32Array(x);
            try {  // a call that returns a promise (loadModel) must reject with an advx Error too
              await (new Function('advx', 'x', 'return advx.' + call))(window.advx, x);
              return 'ok';
            } catch (e) {
              return e instanceof Error && /^advx/.test(e.message) ? 'advx' : `${e && e.constructor && e.constructor.name}: ${e && e.message}`;
            }
          }, { call, x: image0 });
          ++apiCalls;
          if (out === 'advx') ++advxErrors;
          else if (out !== 'ok') bad.push(`${call} threw a non-advx error: ${out}`);
        }
        ++actions;
        await frames(p, 1);
      } catch (e) {
        bad.push(`action failed: ${e.message.split('\n')[0]}`);
      }
      if (Date.now() - a0 > 3000) slow.push(`${what || 'a click or stroke'} at #${hashBefore}: ${((Date.now() - a0) / 1000).toFixed(1)} s`);
      // Every ~25 actions: the page still answers, and answers right.
      if (actions % 25 === 0) {
        ++checks;
        const r = await p.evaluate((x) => {
          const m = window.advx.models().find((e) => e.name === 'small');
          if (!m || m.status !== 'ready') return null;
          window.advx.setState({ view: 'image', model: 'small' });  // a click may have opened the sequence view
          return Array.from(window.advx.classify(new Float32Array(x)));
        }, image0);
        if (r && maxAbsDiff(r, ref) > 1e-6) bad.push(`classify(test image 0) changed after ${actions} actions`);
        if (!memWarm && Date.now() - t0 > warm) memWarm = await p.evaluate(() => window.advx._memoryBytes());
      }
      if (bad.length > 10) break;
    }
    memEnd = await p.evaluate(() => window.advx._memoryBytes());
    if (!memWarm) memWarm = memEnd;
    const growth = memEnd - memWarm;
    if (growth > 32 * 1048576) bad.push(`the wasm heap grew by ${(growth / 1048576).toFixed(0)} MB after warm-up (bound 32 MB)`);
    await p.close();
    if (slow.length) note(`slow actions: ${slow.join(', ')}`);
    note(`${actions} actions (${apiCalls} API calls, ${advxErrors} advx Errors), ${checks} answer checks; ` +
         `wasm heap ${(memWarm / 1048576).toFixed(0)} MB after warm-up, ${(memEnd / 1048576).toFixed(0)} MB at the end`);
    return { ok: bad.length === 0 && actions > 50, detail: bad.length ? bad.slice(0, 8).join('; ') :
             `${actions} actions, every error an advx Error, answers unchanged, heap +${(growth / 1048576).toFixed(1)} MB after warm-up` };
  });

  if (want('url')) await check('URL state: reload reproduces the prediction and the adversarial; hide= hides panels', async () => {
    const bad = [];
    const hasModel = fs.existsSync(modelFile);
    const hash = `model=${hasModel ? opt.model : 'small'}&attack=bim&eps=0.2&steps=5&target=3&test=42`;
    const p = await open(ctx, hash, 'url');
    await frames(p, 2);
    const grab = () => p.evaluate(() => ({ st: window.advx.state(), v: window.advx.view(), adv: Array.from(window.advx.image('adversarial')) }));
    const a = await grab();
    if (a.st.test !== 42 || a.st.target !== 3 || a.st.attack !== 'bim' || Math.abs(a.st.eps - 0.2) > 1e-6)
      bad.push(`state from the URL: ${JSON.stringify(a.st)}`);
    await p.reload();
    await waitReady(p);
    await frames(p, 2);
    const b = await grab();
    if (a.v.pred !== b.v.pred || !a.v.attack || !b.v.attack || a.v.attack.pred !== b.v.attack.pred ||
        maxAbsDiff(a.adv, b.adv) > 0 || maxAbsDiff(a.v.probs, b.v.probs) > 0) bad.push('reload changed the result');
    note(`#${hash}: pred ${a.v.pred}, adversarial pred ${a.v.attack && a.v.attack.pred} (target 3: ${a.v.attack && a.v.attack.success ? 'reached' : 'not reached'}), same after reload`);
    // A drawn digit travels in the URL as img= (a 28x28 PNG).
    if (drawnHash) {
      if (!/img=/.test(drawnHash)) bad.push(`the drawn digit's hash has no img=: ${drawnHash.slice(0, 80)}`);
      await p.goto('about:blank');
      await p.goto(PAGE + '#' + drawnHash);
      await waitReady(p);
      await frames(p, 2);
      const c = await grab();
      if (c.v.pred !== drawnView.pred || !c.v.attack || c.v.attack.pred !== drawnView.attack.pred ||
          maxAbsDiff(c.adv, drawnAdv) > 1e-6) bad.push('the drawn digit URL gave another result');
      note(`drawn digit URL (${drawnHash.length} chars): pred ${c.v.pred}, adversarial ${c.v.attack && c.v.attack.pred}, same as drawn`);
    } else {
      note('no drawn digit (draw check not run): img= not checked');
    }
    // hide=
    await p.goto('about:blank');
    await p.goto(PAGE + '#hide=attack,robustness,help,timing');
    await waitReady(p);
    await frames(p, 2);
    const lay = await p.evaluate(() => window.advx.layout());
    const panels = Object.keys(lay.panels).sort().join(',');
    if (panels !== 'input,model,prediction') bad.push(`hide= shows panels ${panels}`);
    if (lay.widgets.fgsm) bad.push('the FGSM control is still on screen');
    note(`hide=attack,robustness,help,timing -> panels ${panels}`);
    await p.close();
    return { ok: bad.length === 0, detail: bad.length ? bad.join('; ') : 'same prediction and adversarial after reload (test image and drawn digit); hidden panels gone' };
  });
  await closeCtx(ctx);

  if (want('shots')) await check('screenshots (HiDPI, deviceScaleFactor 2) in build/screenshots', async () => {
    // In an order that keeps the robustness curve (FGSM, default model) computing from the start.
    const hi = await launch(2);
    const files = [], bad = [];
    const p = await open(hi, '', 'hidpi');
    await frames(p, 3);
    const lay = await p.evaluate(() => window.advx.layout());
    if (lay.display.scale !== 2) bad.push(`framebuffer scale ${lay.display.scale}, expected 2`);
    files.push(await shot(p, 'default'));
    // A drawn digit (pointer coordinates must map right at 2x too): test image 18, a 3.
    await drawDigit(p, 18);
    await frames(p, 3);
    const v = await p.evaluate(() => window.advx.view());
    if (v.pred !== mnist.labels[18]) bad.push(`the drawn 3 (test image 18) was read as ${v.pred} at 2x`);
    files.push(await shot(p, 'drawn-digit'));
    // FGSM at eps 0.3 (the eps slider typed into, as in the FGSM check).
    await p.evaluate(() => window.advx.setState({ test: 3, eps: 0.3 }));
    await settled(p);
    await frames(p, 3);
    files.push(await shot(p, 'fgsm'));
    // The robustness curve, complete.
    await p.waitForFunction(() => window.advx.view().robustness.done, null, { timeout: 120000, polling: 250 });
    await frames(p, 3);
    const rob = await p.evaluate(() => window.advx.view().robustness);
    note(`robustness (FGSM, ${rob.count} images): ${rob.eps.map((e, i) => `${e}:${(rob.acc[i] * 100).toFixed(0)}%`).join(' ')}`);
    files.push(await shot(p, 'robustness'));
    // Targeted BIM.
    await p.evaluate(() => window.advx.setState({ test: 1, attack: 'bim', eps: 0.2, steps: 20, target: 3 }));
    await settled(p);
    await frames(p, 3);
    files.push(await shot(p, 'targeted-bim'));
    await p.close();
    // Embedded: an iframe with hide= flags in another page.
    const e = await hi.newPage();
    watch(e, 'embed');
    await e.setViewportSize({ width: 1000, height: 600 });
    await e.setContent(`<body style="margin:16px;background:#eee;font:15px sans-serif"><p>An article with the playground embedded:</p>
      <iframe src="${PAGE}#test=4&hide=attack,robustness,help,timing" width="950" height="500" style="border:1px solid #888"
      title="advx playground"></iframe></body>`);
    const f = e.frames()[1];
    await f.waitForFunction(() => window.advx && window.advx.ready, null, { timeout: 60000 });
    await f.evaluate(() => window.advx.ready.then(() => true));
    await f.evaluate(() => new Promise((resolve) => {
      const f0 = window.advx.layout().rendered;
      const tick = () => (window.advx.layout().rendered >= f0 + 2 ? resolve() : requestAnimationFrame(tick));
      requestAnimationFrame(tick);
    }));
    const embedPanels = Object.keys((await f.evaluate(() => window.advx.layout())).panels).sort().join(',');
    if (embedPanels !== 'input,model,prediction') bad.push(`embedded view shows ${embedPanels}`);
    files.push(await shot(e, 'embedded-hide'));
    await closeCtx(hi);
    return { ok: bad.length === 0, detail: (bad.length ? bad.join('; ') + '; ' : '') + files.map((f) => path.basename(f)).join(', ') };
  });

  if (want('threads')) await check('threads: isolated, the threaded build loads with its pool; same batched forward and one-pixel DE as the single-thread build; plain, the single-thread build', async () => {
    if (!opt.isolated) return { ok: false, detail: 'needs --isolated URL (build/web served with COOP/COEP: scripts/serve.py)' };
    const iso = opt.isolated.endsWith('/') ? opt.isolated : opt.isolated + '/';
    const bad = [];
    const n = 64;
    const b64 = Buffer.from(mnist.bytes(0).buffer, mnist.bytes(0).byteOffset, n * 784).toString('base64');
    const labels = Array.from(mnist.labels.subarray(0, 4));
    // One page: which build runs, then 64 images through `small` and `cnn` in one call each, and a
    // short one-pixel DE (population 50, 5 generations: batched forwards of 50 images) on 4.
    const run = async (ctx, url, label) => {
      const p = await ctx.newPage();
      watch(p, label);
      await p.goto(url);
      await waitReady(p);
      const r = await p.evaluate(async ({ b64, n, labels }) => {
        const raw = atob(b64), x = new Float32Array(n * 784);
        for (let i = 0; i < x.length; ++i) x[i] = raw.charCodeAt(i) / 255;
        const scripts = performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname)
          .filter((u) => /index\.(js|wasm|worker\.js)$/.test(u));
        const out = { isolated: self.crossOriginIsolated, threads: window.advx.threads(), scripts,
                      cores: navigator.hardwareConcurrency, probs: {}, ms: {}, de: {} };
        for (const m of ['small', 'cnn']) {
          await window.advx.loadModel(m);
          window.advx.setState({ model: m });
          window.advx.classify(x);  // warm-up
          const t = performance.now();
          out.probs[m] = Array.from(window.advx.classify(x));
          out.ms[m] = performance.now() - t;
          const d = window.advx.attack(x.subarray(0, labels.length * 784), labels,
                                       { attack: 'pixel', pixels: 1, pop: 50, gens: 5, seed: 3 });
          out.de[m] = { success: d.success, pred: d.pred, adv: Array.from(d.adv) };
        }
        return out;
      }, { b64, n, labels });
      await p.close();
      return r;
    };
    const isoCtx = await launch(1);
    const mt = await run(isoCtx, iso + 'index.html', 'threads-mt');
    const st = await run(isoCtx, iso + 'index.html?threads=1', 'threads-st');
    await closeCtx(isoCtx);
    const plainCtx = await launch(1);
    const plain = await plainCtx.newPage();
    watch(plain, 'threads-plain');
    await plain.goto(PAGE);
    await waitReady(plain);
    const pl = await plain.evaluate(() => ({
      isolated: self.crossOriginIsolated, threads: window.advx.threads(),
      mt: performance.getEntriesByType('resource').some((e) => new URL(e.name).pathname.includes('/mt/')) }));
    await closeCtx(plainCtx);
    const expected = Math.min(mt.cores, 4);
    if (!mt.isolated) bad.push('the COOP/COEP page is not cross-origin isolated');
    if (mt.threads !== expected || expected < 2) bad.push(`threaded build reports ${mt.threads} threads, expected min(${mt.cores} cores, 4) >= 2`);
    if (!mt.scripts.includes('/mt/index.js') || !mt.scripts.includes('/mt/index.wasm')) bad.push(`isolated page loaded ${mt.scripts.join(', ')}, not mt/`);
    if (st.threads !== 1 || st.scripts.some((u) => u.includes('/mt/'))) bad.push(`?threads=1 ran ${st.threads} threads (${st.scripts.join(', ')})`);
    if (pl.isolated || pl.threads !== 1 || pl.mt) bad.push(`plain page: isolated ${pl.isolated}, ${pl.threads} threads, mt/ fetched ${pl.mt}`);
    for (const m of ['small', 'cnn']) {
      const k = mt.probs[m].length / n;
      const am = (a, i) => argmax(a.slice(i * k, (i + 1) * k));
      const diff = maxAbsDiff(mt.probs[m], st.probs[m]);
      const argDiff = Array.from({ length: n }, (_, i) => i).filter((i) => am(mt.probs[m], i) !== am(st.probs[m], i)).length;
      if (diff > 1e-5 || argDiff) bad.push(`${m}: threaded vs single-thread probabilities differ by ${diff.toExponential(2)}, ${argDiff} argmax`);
      const de = mt.de[m], ds = st.de[m];
      const deDiff = maxAbsDiff(de.adv, ds.adv);
      if (de.success.join() !== ds.success.join() || de.pred.join() !== ds.pred.join() || deDiff > 1e-5)
        bad.push(`${m}: one-pixel DE differs between the builds (success ${de.success.filter(Boolean).length} vs ${ds.success.filter(Boolean).length}, adversarial ${deDiff})`);
      note(`${m}: ${n} images in one classify: ${mt.ms[m].toFixed(1)} ms threaded (${mt.threads} threads), ${st.ms[m].toFixed(1)} ms single; ` +
           `probabilities within ${diff.toExponential(1)}; DE (50 x 5) fooled ${de.success.filter(Boolean).length}/${labels.length} in both`);
    }
    return { ok: bad.length === 0, detail: bad.length ? bad.join('; ') : `isolated: ${mt.threads} threads (mt/), ?threads=1 and plain: 1 thread; same results` };
  });

  report('no console errors, no page errors', log.consoleErrors.length === 0 && log.pageErrors.length === 0,
         `${log.consoleErrors.length} console errors, ${log.pageErrors.length} page errors` +
         (log.expectedErrors.length ? ` (${log.expectedErrors.length} expected from the 404 check)` : '') +
         [...log.consoleErrors, ...log.pageErrors].slice(0, 5).map((e) => '\n     ' + e).join(''));
  report('no request outside the page\'s origin', log.foreign.length === 0,
         `${log.requests} requests, ${log.foreign.length} to other origins${log.foreign.slice(0, 5).map((u) => '\n     ' + u).join('')}`);
}

main().catch((e) => report('test runner', false, e && e.stack ? e.stack : String(e))).finally(() => {
  const failed = results.filter((r) => !r.ok).length;
  console.log(`\nbrowser tests: ${results.length - failed} passed, ${failed} failed (${((Date.now() - T0) / 1000).toFixed(0)} s)`);
  process.exit(failed ? 1 : 0);
});
