#!/usr/bin/env node
// advx web performance benchmark (see benchmarks/web/README.md). Usually run through
// benchmarks/web/run.sh, which builds the native timing harness first.
//
// In ONE headless Chromium run, against one local static server (server.js):
//   - first frame after load of build/web (and build/web-nosimd if built): median of fresh page loads
//   - advx.classify / advx.fgsm (FGSM round trip) / advx.fgsm({steps: 10}) (BIM-10), single MNIST
//     test images, median and p90 per call, for the SIMD and the non-SIMD build
//   - TensorFlow.js 4.22 (wasm backend) with OUR weights: correctness check against advx.classify,
//     then classify / input gradient / FGSM step timings
//   - the same single-image calls natively (build/bench-web/native_calls, 1 and 2 OpenMP threads)
//   - bundle size: gzip -9 bytes of what the page fetches before its first frame, and with models
//   - batched forward (batch.js): advx.classify on 1 and 64 images in the single-thread and the
//     threaded build vs ONNX Runtime Web 1.30 (1 and 2 threads) on the same weights
// Writes benchmarks/results/web.json (raw) and benchmarks/results/web.md (report).
'use strict';
const childProcess = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const zlib = require('zlib');
const { chromium } = require('playwright-core');
const staticServer = require('./server');
const { runBatch, reportBatch } = require('./batch');

const repo = path.resolve(__dirname, '..', '..');

// ---- options ------------------------------------------------------------------------------------
const DEFAULTS = {
  models: 'small,cnn',
  loads: 5,            // fresh page loads for the first-frame median (SIMD build)
  'loads-nosimd': 3,   // ... for the non-SIMD build
  images: 200,         // MNIST test images used (cycled) for the timings
  check: 200,          // images for the TF.js correctness check (>= 100)
  'fgsm-check': 100,   // images whose FGSM output is compared pixel by pixel with TF.js
  'cpu-check': 30,     // ... of which this many also with TF.js's CPU backend (reference kernels)
  calls: 100,          // timed classify / FGSM / TF.js calls (after warm-up)
  'bim-calls': 50,     // timed BIM-10 calls
  warmup: 10,
  eps: 0.1,
  tfjs: 'simd,simd-threads',  // TF.js configurations: simd (1 thread), simd-threads, scalar
  chromium: '/usr/bin/chromium',
  out: path.join(repo, 'benchmarks', 'results'),
  'build-root': path.join(repo, 'build'),  // holds web/ and web-nosimd/ (index.html, CMakeCache.txt)
  native: path.join(repo, 'build', 'bench-web', 'native_calls'),
  data: path.join(repo, '..', 'shared', 'data'),
  profile: false,      // also take a Chromium CPU profile of advx.fgsm (needs function names in
                       // the wasm to be useful: see README.md, "Profiling")
  'profile-build': 'web',
  quick: false,        // smoke test: few loads and calls (the numbers are not for the report)
  batch: true,         // the batched-forward section (advx threads vs ONNX Runtime Web)
  'batch-only': false, // only that section; prints its report, writes web-batch.json (not web.md)
};
function parseArgs(argv) {
  const o = { ...DEFAULTS };
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    if (a === '-h' || a === '--help') {
      console.log('usage: node bench.js ' + Object.entries(DEFAULTS).map(([k, v]) => typeof v === 'boolean' ? `[--${k}]` : `[--${k} ${v}]`).join(' '));
      process.exit(0);
    }
    if (!a.startsWith('--')) throw new Error('unexpected argument ' + a);
    const key = a.slice(2);
    if (key === 'no-batch') { o.batch = false; continue; }
    if (!(key in DEFAULTS)) throw new Error('unknown option ' + a + ' (see --help)');
    if (typeof DEFAULTS[key] === 'boolean') { o[key] = true; continue; }
    const v = argv[++i];
    if (v === undefined) throw new Error(a + ' needs a value');
    o[key] = typeof DEFAULTS[key] === 'number' ? Number(v) : v;
  }
  if (o.quick) Object.assign(o, { loads: 2, 'loads-nosimd': 1, calls: 20, 'bim-calls': 5, warmup: 3, check: 100, 'fgsm-check': 20, 'cpu-check': 10 });
  return o;
}
const opt = parseArgs(process.argv.slice(2));
const log = (...a) => console.error('[bench]', ...a);

// ---- small helpers ------------------------------------------------------------------------------
function stats(ms) {
  const v = [...ms].sort((a, b) => a - b), n = v.length;
  if (!n) return null;
  const q = (p) => v[Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1))];  // nearest rank
  return {
    n, median: n % 2 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2, p90: q(0.9), min: v[0], max: v[n - 1],
    mean: v.reduce((s, x) => s + x, 0) / n,
  };
}
const sh = (cmd) => { try { return childProcess.execSync(cmd, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(); } catch (e) { return ''; } };
const sha256 = (file) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const gzCache = new Map();
function gzip9(file) {
  if (!gzCache.has(file)) gzCache.set(file, zlib.gzipSync(fs.readFileSync(file), { level: 9 }).length);
  return gzCache.get(file);
}
// What Emscripten's --preload-file packed into index.data (file_packager's metadata in index.js),
// with the gzip -9 size of each file's bytes.
function dataContents(dir) {
  try {
    const js = fs.readFileSync(path.join(dir, 'index.js'), 'utf8');
    const m = /loadPackage\(\{"files":\s*(\[[^\]]*\])/.exec(js);
    if (!m) return null;
    const data = fs.readFileSync(path.join(dir, 'index.data'));
    return JSON.parse(m[1]).map((f) => ({ file: f.filename, bytes: f.end - f.start,
      gzip9: zlib.gzipSync(data.subarray(f.start, f.end), { level: 9 }).length }));
  } catch (e) { return null; }
}
// How many compiled sources of the build used -msimd128, per target directory (engine, frontend,
// imgui): shows whether a "no SIMD" build is fully scalar.
function simdObjects(dir) {
  try {
    const cc = JSON.parse(fs.readFileSync(path.join(dir, 'compile_commands.json'), 'utf8'));
    const out = {};
    for (const c of cc) {
      const t = /imgui/.test(c.file) ? 'imgui' : /\/engine\//.test(c.file) ? 'engine' : /\/frontend\//.test(c.file) ? 'frontend' : 'other';
      out[t] = out[t] || { files: 0, simd128: 0 };
      ++out[t].files;
      if (/-msimd128/.test(c.command || (c.arguments || []).join(' '))) ++out[t].simd128;
    }
    return out;
  } catch (e) { return null; }
}
function loadavg() { const [a, b, c] = os.loadavg(); return { '1m': +a.toFixed(2), '5m': +b.toFixed(2), '15m': +c.toFixed(2), uptime: sh('uptime') }; }

function readIdxGz(file) {
  const raw = zlib.gunzipSync(fs.readFileSync(file));
  const magic = raw.readUInt32BE(0), ndim = magic & 0xff;
  if (((magic >> 8) & 0xff) !== 0x08) throw new Error(file + ': not an unsigned-byte IDX file');
  const dims = [];
  for (let i = 0; i < ndim; ++i) dims.push(raw.readUInt32BE(4 + 4 * i));
  return { dims, data: raw.subarray(4 + 4 * ndim) };
}

// ---- in-page code for the advx playground ------------------------------------------------------
// Runs before the page's scripts: records when advx.ready resolves and the next animation frame
// (the fallback "first frame" when the page has no advx.firstFrameMs).
function initScript() {
  const rec = (window.__advxBench = { hooked: null, readyMs: null, rafMs: null });
  const hook = (api, how) => {
    if (!api || !api.ready || rec.hooked) return;
    rec.hooked = how;
    Promise.resolve(api.ready).then(() => {
      rec.readyMs = performance.now();
      requestAnimationFrame(() => { rec.rafMs = performance.now(); });
    }, (e) => { rec.error = String(e && e.message || e); });
  };
  let value;
  try {
    Object.defineProperty(window, 'advx', {
      configurable: true, enumerable: true,
      get() { return value; },
      set(v) { value = v; hook(v, 'setter'); },
    });
  } catch (e) { rec.defineError = String(e); }
  // Fallback if the page defines advx some other way: poll each frame.
  const poll = () => {
    if (!rec.hooked && window.advx && window.advx.ready) hook(window.advx, 'poll');
    if (!rec.hooked) requestAnimationFrame(poll);
  };
  requestAnimationFrame(poll);
}

async function waitReady(page, timeoutMs = 60000) {
  await page.waitForFunction(() => window.advx && window.advx.ready, null, { timeout: timeoutMs, polling: 20 });
  await page.evaluate(() => Promise.resolve(window.advx.ready).then(() => true));
}

// After ready: first-frame time (advx.firstFrameMs if the page provides it, else ready + 1 rAF) and
// the resources fetched so far.
async function firstFrameInfo(page) {
  return page.evaluate(async () => {
    const a = window.advx, rec = window.__advxBench || {};
    const t0 = performance.now();
    const frame = () => new Promise((r) => requestAnimationFrame(r));
    // Give the page up to 5 s to publish firstFrameMs (it may be set at the first rendered frame).
    while (performance.now() - t0 < 5000) {
      if (typeof a.firstFrameMs === 'number' && a.firstFrameMs > 0) break;
      if (!('firstFrameMs' in a) && rec.rafMs != null) break;
      await frame();
    }
    const has = typeof a.firstFrameMs === 'number' && a.firstFrameMs > 0;
    const nav = performance.getEntriesByType('navigation')[0];
    return {
      firstFrameMs: has ? a.firstFrameMs : rec.rafMs,
      source: has ? 'advx.firstFrameMs' : 'advx.ready + 1 requestAnimationFrame (' + rec.hooked + ')',
      readyMs: rec.readyMs, rafMs: rec.rafMs, apiFirstFrameMs: has ? a.firstFrameMs : null,
      domContentLoadedMs: nav ? nav.domContentLoadedEventEnd : null,
      document: { name: location.href, start: 0, end: nav ? nav.responseEnd : 0, type: 'navigation' },
      resources: performance.getEntriesByType('resource').map((e) => ({ name: e.name, start: e.startTime, end: e.responseEnd, type: e.initiatorType })),
      crossOriginIsolated: self.crossOriginIsolated,
    };
  });
}

// Selects a model whatever the API looks like: advx.loadModel(name) (Promise) if present, then
// setState({model}) (its result awaited if it is a Promise); then waits until classify works.
async function selectModel(page, name) {
  return page.evaluate(async (name) => {
    const a = window.advx, t0 = performance.now();
    let how = [];
    if (typeof a.loadModel === 'function') { await a.loadModel(name); how.push('loadModel()'); }
    let r = a.setState({ model: name });
    if (r && typeof r.then === 'function') { r = await r; how.push('setState() Promise'); } else how.push('setState()');
    const blank = new Float32Array(784);
    let lastErr = null;
    for (let i = 0; i < 600; ++i) {  // up to ~10 s for a lazily loading model
      try {
        const st = a.state();
        if (st.model === name) { a.classify(blank); lastErr = null; break; }
        lastErr = 'state().model is ' + st.model;
      } catch (e) { lastErr = String(e && e.message || e); }
      await new Promise((res) => requestAnimationFrame(res));
    }
    if (lastErr) throw new Error('selecting model ' + name + ': ' + lastErr);
    return { how: how.join(' + '), ms: performance.now() - t0, state: a.state().model };
  }, name);
}

// Images into the page as base64 bytes (pixels = byte / 255 as Float32Array, the same arrays for
// every implementation).
async function setImagesAdvx(page, b64, n, labels) {
  return page.evaluate(({ b64, n, labels }) => {
    const bin = atob(b64), imgs = [];
    for (let i = 0; i < n; ++i) {
      const a = new Float32Array(784);
      for (let j = 0; j < 784; ++j) a[j] = bin.charCodeAt(i * 784 + j) / 255;
      imgs.push(a);
    }
    window.__imgs = imgs;
    window.__labels = labels;
    return imgs.length;
  }, { b64, n, labels });
}

async function timeAdvx(page, kind, calls, warmup, eps) {
  return page.evaluate(({ kind, calls, warmup, eps }) => {
    const a = window.advx, imgs = window.__imgs, labels = window.__labels, n = imgs.length;
    const fn = kind === 'classify' ? (i) => a.classify(imgs[i % n])
      : kind === 'fgsm' ? (i) => a.fgsm(imgs[i % n], labels[i % n], eps, {})
      : (i) => a.fgsm(imgs[i % n], labels[i % n], eps, { steps: 10 });
    let sink = 0;
    for (let i = 0; i < warmup; ++i) sink += fn(i)[0];
    const ms = [];
    for (let i = 0; i < calls; ++i) {
      const t0 = performance.now();
      const out = fn(i);
      ms.push(performance.now() - t0);
      if (!(out instanceof Float32Array)) throw new Error(kind + ' did not return a Float32Array');
      sink += out[0];
    }
    return { ms, sink };
  }, { kind, calls, warmup, eps });
}

async function timerResolution(page) {
  return page.evaluate(() => {
    let best = Infinity, prev = performance.now();
    for (let i = 0; i < 200000 && best > 1e-4; ++i) {
      const t = performance.now();
      if (t !== prev) { best = Math.min(best, t - prev); prev = t; }
    }
    return best;
  });
}

// ---- main ---------------------------------------------------------------------------------------
async function main() {
  const t_start = Date.now();
  const result = {
    date: new Date().toISOString(), options: opt,
    machine: {
      cpu: sh("lscpu | sed -n 's/^Model name: *//p'"), cores: os.cpus().length,
      memGiB: +(os.totalmem() / 2 ** 30).toFixed(1), os: sh('. /etc/os-release && echo "$PRETTY_NAME"'), node: process.version,
    },
    load: { start: loadavg() },
    git: { commit: sh(`git -C ${repo} rev-parse --short HEAD`), dirty: sh(`git -C ${repo} status --porcelain`).length > 0 },
    notes: [],
    builds: {}, models: {}, tfjs: {}, native: {}, bundle: {},
  };
  log('load average at start:', result.load.start.uptime);

  // MNIST test images (first opt.images) as bytes.
  const nImg = Math.max(opt.images, opt.check);
  const X = readIdxGz(path.join(opt.data, 'mnist', 't10k-images-idx3-ubyte.gz'));
  const Y = readIdxGz(path.join(opt.data, 'mnist', 't10k-labels-idx1-ubyte.gz'));
  const b64 = Buffer.from(X.data.subarray(0, nImg * 784)).toString('base64');
  const labels = Array.from(Y.data.subarray(0, nImg));

  // Builds to serve.
  const broot = path.resolve(opt['build-root']);
  const builds = ['web', 'web-nosimd'].filter((b) => fs.existsSync(path.join(broot, b, 'index.html')));
  if (!builds.includes('web')) throw new Error('build/web/index.html not found: run `cmake --preset web && cmake --build --preset web` first');
  if (!builds.includes('web-nosimd')) result.notes.push('build/web-nosimd not found: no SIMD comparison (build it with `cmake --preset web -B build/web-nosimd -DADVX_WASM_SIMD=OFF && cmake --build build/web-nosimd`).');
  if (opt.profile && opt['profile-build'] !== 'web' && fs.existsSync(path.join(broot, opt['profile-build'], 'index.html'))) builds.push(opt['profile-build']);
  for (const b of builds) {
    const dir = path.join(broot, b), wasm = path.join(dir, 'index.wasm');
    const cacheFile = path.join(dir, 'CMakeCache.txt');
    const cache = fs.existsSync(cacheFile) ? fs.readFileSync(cacheFile, 'utf8') : '';
    const simd = /ADVX_WASM_SIMD:BOOL=(\w+)/.exec(cache);
    result.builds[b] = {
      dir: path.relative(repo, dir) || dir, wasmBytes: fs.statSync(wasm).size, wasmMtime: fs.statSync(wasm).mtime.toISOString(),
      ADVX_WASM_SIMD: simd ? simd[1] : '(option not in cache: SIMD on, as hard-coded before the option)',
      dataContents: dataContents(dir),
      simdObjects: simdObjects(dir),
    };
  }
  const tfjsDir = path.join(__dirname, 'node_modules', '@tensorflow');
  if (!fs.existsSync(path.join(tfjsDir, 'tfjs', 'dist', 'tf.min.js'))) throw new Error('TF.js not installed: cd benchmarks/web && npm ci');
  const mounts = {
    '/bench/': __dirname,
    '/tfjs/': path.join(tfjsDir, 'tfjs', 'dist'),
    '/tfjs-wasm/': path.join(tfjsDir, 'tfjs-backend-wasm', 'dist'),
    '/models/': path.join(repo, 'assets', 'models'),
    '/ort/': path.join(__dirname, 'node_modules', 'onnxruntime-web', 'dist'),
    '/onnx/': path.join(repo, 'build', 'bench-web', 'onnx'),
  };
  for (const b of builds) mounts[`/${b}/`] = path.join(broot, b);
  const srv = await staticServer.start(mounts);
  log('serving on', srv.base);
  const fileOf = (url) => { try { return srv.resolve(new URL(url).pathname); } catch (e) { return null; } };

  const browser = await chromium.launch({
    executablePath: opt.chromium, headless: true,
    // playwright gives every launch a fresh temporary profile (its own --user-data-dir).
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync'],
  });
  result.chromium = { version: browser.version(), path: opt.chromium };
  log('Chromium', browser.version());
  const consoleErrors = [];
  async function newPage() {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });  // fresh cache each time
    await ctx.addInitScript(initScript);
    const page = await ctx.newPage();
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
    return { ctx, page };
  }

  const modelFiles = {};  // name -> {url, file} actually used by the page (for TF.js and native)
  const advxProbs = {}, advxFgsm = {};
  try {
    if (opt['batch-only']) {
      await runBatch({ newPage, waitReady, selectModel, setImagesAdvx, stats, log, repo, base: srv.base, b64, nImg, labels,
                       models: opt.models.split(','), calls: opt.calls, warmup: opt.warmup }, result);
      result.load.end = loadavg();
      fs.mkdirSync(opt.out, { recursive: true });
      fs.writeFileSync(path.join(opt.out, 'web-batch.json'), JSON.stringify(result, null, 1) + '\n');
      const f = (x, d = 2) => (x == null || Number.isNaN(x) ? '-' : x.toFixed(d));
      console.log(reportBatch(result, f, (ok) => (ok == null ? 'n/a' : ok ? '**met**' : '**not met**')).join('\n'));
      log('load average', result.load.start.uptime, '->', result.load.end.uptime);
      return;
    }
    // ---- 1. first frame and bundle, fresh page loads ---------------------------------------------
    for (const b of builds) {
      if (b === opt['profile-build'] && b !== 'web') continue;
      const n = b === 'web' ? opt.loads : opt['loads-nosimd'];
      const loads = [];
      for (let i = 0; i < n; ++i) {
        const { ctx, page } = await newPage();
        const t0 = Date.now();
        await page.goto(`${srv.base}/${b}/index.html?threads=1`);
        await waitReady(page);
        const ff = await firstFrameInfo(page);
        ff.wallMs = Date.now() - t0;
        loads.push(ff);
        await ctx.close();
        log(`${b}: load ${i + 1}/${n}: first frame ${ff.firstFrameMs && ff.firstFrameMs.toFixed(0)} ms (${ff.source})`);
      }
      const last = loads[loads.length - 1];
      const before = [last.document, ...last.resources].filter((r) => r.start <= last.firstFrameMs);
      result.builds[b].firstFrame = {
        source: last.source, ms: loads.map((l) => l.firstFrameMs), stats: stats(loads.map((l) => l.firstFrameMs)),
        readyMs: stats(loads.map((l) => l.readyMs).filter((x) => x != null)),
        domContentLoadedMs: stats(loads.map((l) => l.domContentLoadedMs).filter((x) => x != null)),
        crossOriginIsolated: last.crossOriginIsolated,
      };
      result.builds[b].beforeFirstFrame = before.map((r) => {
        const f = fileOf(r.name);
        return { url: new URL(r.name).pathname, type: r.type, bytes: f ? fs.statSync(f).size : null, gzip9: f ? gzip9(f) : null };
      });
    }

    // ---- 2. advx calls, per build and model -------------------------------------------------------
    for (const b of builds) {
      if (b === opt['profile-build'] && b !== 'web') continue;
      const { ctx, page } = await newPage();
      await page.goto(`${srv.base}/${b}/index.html?threads=1`);
      await waitReady(page);
      const api = await page.evaluate(() => ({
        keys: Object.keys(window.advx).sort(), loadModel: typeof window.advx.loadModel === 'function',
        firstFrameMs: 'firstFrameMs' in window.advx, version: window.advx.version,
      }));
      result.builds[b].api = api;
      result.builds[b].timerResolutionMs = await timerResolution(page);
      const available = (await page.evaluate(() => window.advx.models())).map((m) => m.name);
      result.builds[b].modelsAvailable = available;
      await setImagesAdvx(page, b64, nImg, labels);
      const r0 = await page.evaluate(() => performance.getEntriesByType('resource').length);
      for (const name of opt.models.split(',')) {
        const mres = (result.models[name] = result.models[name] || { advx: {} });
        if (!available.includes(name)) {
          const inRepo = fs.existsSync(path.join(repo, 'assets', 'models', name + '.safetensors'));
          const why = inRepo ? `assets/models/${name}.safetensors exists but build/${b} does not ship it (rebuild build/${b})`
            : `assets/models/${name}.safetensors does not exist yet`;
          mres.skipped = mres.skipped || {};
          mres.skipped[b] = why;
          result.notes.push(`${name} skipped on build/${b}: ${why}.`);
          log(`${b}: ${name} skipped: ${why}`);
          continue;
        }
        const sel = await selectModel(page, name);
        const rec = (mres.advx[b] = { select: sel });
        log(`${b}: ${name} selected via ${sel.how} in ${sel.ms.toFixed(0)} ms`);
        // Which file did the page load for it? (lazy loading: a separate request)
        const urls = await page.evaluate((name) => performance.getEntriesByType('resource').map((e) => e.name)
          .filter((u) => new RegExp('/' + name + '\\.safetensors(\\?|$)').test(u)), name);
        if (b === 'web') {
          let url = urls[0] ? new URL(urls[0]).pathname : null, file = url ? srv.resolve(url) : null;
          if (!file && fs.existsSync(path.join(broot, 'web', 'assets', 'models', name + '.safetensors'))) {
            url = `/web/assets/models/${name}.safetensors`;  // the staged copy index.data was packed from
            file = srv.resolve(url);
          }
          if (!file) { url = `/models/${name}.safetensors`; file = srv.resolve(url); }
          modelFiles[name] = { url, file, lazyRequest: urls.length > 0, sha256: file ? sha256(file) : null };
          const repoFile = path.join(repo, 'assets', 'models', name + '.safetensors');
          if (file && fs.existsSync(repoFile) && sha256(repoFile) !== modelFiles[name].sha256)
            result.notes.push(`${name}: the web build's weights differ from assets/models/${name}.safetensors (stale build?); TF.js and native use the build's copy.`);
        }
        // Correctness data (SIMD build): probabilities and FGSM images.
        if (b === 'web') {
          advxProbs[name] = await page.evaluate((n) => {
            const out = [];
            for (let i = 0; i < n; ++i) out.push(...window.advx.classify(window.__imgs[i]));
            return out;
          }, opt.check);
          advxFgsm[name] = await page.evaluate(({ n, eps }) => {
            const out = [];
            for (let i = 0; i < n; ++i) out.push(Array.from(window.advx.fgsm(window.__imgs[i], window.__labels[i], eps, {})));
            return out;
          }, { n: opt['fgsm-check'], eps: opt.eps });
        } else if (advxProbs[name]) {
          const p = await page.evaluate((n) => {
            const out = [];
            for (let i = 0; i < n; ++i) out.push(...window.advx.classify(window.__imgs[i]));
            return out;
          }, opt.check);
          rec.maxAbsDiffVsSimdBuild = Math.max(...p.map((v, i) => Math.abs(v - advxProbs[name][i])));
        }
        for (const [kind, calls] of [['classify', opt.calls], ['fgsm', opt.calls], ['bim10', opt['bim-calls']]]) {
          const t = await timeAdvx(page, kind, calls, kind === 'bim10' ? Math.max(2, opt.warmup >> 2) : opt.warmup, opt.eps);
          rec[kind] = stats(t.ms);
          rec[kind].raw = t.ms.map((x) => +x.toFixed(4));
          log(`${b}: ${name} ${kind}: median ${rec[kind].median.toFixed(3)} ms, p90 ${rec[kind].p90.toFixed(3)} ms`);
        }
      }
      // Bundle with the models: everything this page fetched (first load + model selection).
      if (b === 'web') {
        const all = await page.evaluate(() => [{ name: location.href, type: 'navigation' },
          ...performance.getEntriesByType('resource').map((e) => ({ name: e.name, type: e.initiatorType }))]);
        result.bundle.withModels = all.map((r) => {
          const f = fileOf(r.name);
          return { url: new URL(r.name).pathname, type: r.type, bytes: f ? fs.statSync(f).size : null, gzip9: f ? gzip9(f) : null };
        });
        result.bundle.lazyRequests = all.length - 1 - r0;
      }
      // Optional CPU profile of advx.fgsm for the engine analysis.
      if (opt.profile && b === opt['profile-build']) await profileFgsm(page, ctx, result);
      await ctx.close();
    }
    if (opt.profile && opt['profile-build'] !== 'web' && builds.includes(opt['profile-build'])) {
      const { ctx, page } = await newPage();
      await page.goto(`${srv.base}/${opt['profile-build']}/index.html?threads=1`);
      await waitReady(page);
      await setImagesAdvx(page, b64, nImg, labels);
      await profileFgsm(page, ctx, result);
      await ctx.close();
    }

    // ---- 3. TF.js ---------------------------------------------------------------------------------
    const TFJS_CONFIGS = {
      simd: { simd: true, threads: false, label: 'TF.js wasm, SIMD, 1 thread' },
      'simd-threads': { simd: true, threads: true, threadsCount: os.cpus().length, label: `TF.js wasm, SIMD + ${os.cpus().length} threads` },
      scalar: { simd: false, threads: false, label: 'TF.js wasm, no SIMD, 1 thread' },
    };
    for (const cfgName of opt.tfjs.split(',').filter(Boolean)) {
      const cfg = TFJS_CONFIGS[cfgName];
      if (!cfg) throw new Error('unknown TF.js configuration ' + cfgName + ' (simd, simd-threads, scalar)');
      const { ctx, page } = await newPage();
      await page.goto(`${srv.base}/bench/tfjs.html`);
      const info = await page.evaluate((o) => window.tfb.init(o), cfg);
      info.label = cfg.threads ? `TF.js wasm, SIMD + threads (asked ${cfg.threadsCount}, getThreadsCount() ${info.threadsCount})` : cfg.label;
      info.wasmFiles = info.wasmFiles.map((u) => new URL(u).pathname);
      result.tfjs[cfgName] = info;
      log(`TF.js ${cfgName}: backend ${info.backend}, simd ${info.simd}, threads ${info.threads} (${info.threadsCount}), wasm ${info.wasmFiles.join(' ')}`);
      if (info.backend !== 'wasm') throw new Error('TF.js did not start its wasm backend');
      await page.evaluate(({ b64, n, labels }) => window.tfb.setImages(b64, n, labels), { b64, n: nImg, labels });
      for (const name of opt.models.split(',')) {
        if (!modelFiles[name]) continue;
        const mres = result.models[name];
        const rec = (mres.tfjs = mres.tfjs || {})[cfgName] = {};
        const ld = await page.evaluate(({ name, url }) => window.tfb.load(name, url), { name, url: modelFiles[name].url });
        rec.arch = ld.arch;
        rec.params = ld.params;
        // Correctness: softmax probabilities vs advx.classify on the same images.
        const p = await page.evaluate(({ name, n }) => window.tfb.probs(name, n), { name, n: opt.check });
        const q = advxProbs[name];
        let maxDiff = 0, argmaxAgree = 0;
        for (let i = 0; i < opt.check; ++i) {
          let am = 0, bm = 0;
          for (let k = 0; k < 10; ++k) {
            maxDiff = Math.max(maxDiff, Math.abs(p[i * 10 + k] - q[i * 10 + k]));
            if (p[i * 10 + k] > p[i * 10 + am]) am = k;
            if (q[i * 10 + k] > q[i * 10 + bm]) bm = k;
          }
          if (am === bm) ++argmaxAgree;
        }
        rec.check = { images: opt.check, maxAbsDiffProbs: maxDiff, tolerance: 1e-4, pass: maxDiff <= 1e-4, argmaxAgree };
        log(`TF.js ${cfgName}: ${name} correctness: max |p_tfjs - p_advx| = ${maxDiff.toExponential(2)} over ${opt.check} images (${rec.check.pass ? 'PASS' : 'FAIL'})`);
        if (cfgName === opt.tfjs.split(',')[0]) {
          // FGSM outputs pixel by pixel (differences only where the gradient is ~0 and its sign flips).
          const f = await page.evaluate(({ name, n, eps }) => window.tfb.fgsmImages(name, n, eps), { name, n: opt['fgsm-check'], eps: opt.eps });
          rec.fgsmCheck = await compareFgsm(page, name, opt['fgsm-check'], q, advxFgsm[name], labels);
          log(`TF.js ${cfgName}: ${name} FGSM images vs advx.fgsm: ${fmtFgsm(rec.fgsmCheck)}`);
        }
        for (const kind of ['classify', 'grad', 'fgsm']) {
          const t = await page.evaluate(({ name, kind, calls, warmup, eps }) => window.tfb.time(name, kind, calls, warmup, eps),
            { name, kind, calls: opt.calls, warmup: opt.warmup, eps: opt.eps });
          rec[kind] = stats(t.ms);
          rec[kind].raw = t.ms.map((x) => +x.toFixed(4));
          rec[kind].leakedTensors = t.leakedTensors;
          log(`TF.js ${cfgName}: ${name} ${kind}: median ${rec[kind].median.toFixed(3)} ms, p90 ${rec[kind].p90.toFixed(3)} ms`);
        }
        if (cfgName === opt.tfjs.split(',')[0] && opt['cpu-check'] > 0) {
          // The same TF.js model on TF.js's CPU backend (reference kernels): its max-pool gradient
          // breaks ties like PyTorch and advx (first maximum), the wasm backend's does not.
          await page.evaluate(() => window.tfb.useBackend('cpu'));
          rec.fgsmCheckCpuBackend = await compareFgsm(page, name, Math.min(opt['cpu-check'], opt['fgsm-check']), q, advxFgsm[name], labels);
          log(`TF.js cpu backend: ${name} FGSM images vs advx.fgsm: ${fmtFgsm(rec.fgsmCheckCpuBackend)}`);
          const be = await page.evaluate(() => window.tfb.useBackend('wasm'));
          if (be !== 'wasm') throw new Error('could not switch TF.js back to wasm');
        }
      }
      await ctx.close();
    }

    // ---- 3b. batched forward: advx single-thread and threaded builds vs ONNX Runtime Web ----------
    if (opt.batch) {
      await runBatch({ newPage, waitReady, selectModel, setImagesAdvx, stats, log, repo, base: srv.base, b64, nImg, labels,
                       models: opt.models.split(','), calls: opt.calls, warmup: opt.warmup }, result);
    }
  } finally {
    await browser.close();
    await srv.close();
  }
  result.consoleErrors = consoleErrors.slice(0, 20);

  // ---- 4. native ----------------------------------------------------------------------------------
  if (fs.existsSync(opt.native)) {
    for (const name of opt.models.split(',')) {
      const file = modelFiles[name] && modelFiles[name].file;
      if (!file || !result.models[name] || !result.models[name].advx.web) continue;
      result.native[name] = {};
      // 1 and 2 OpenMP threads as the engine runs them; '2e1' = 2 threads with Eigen's own GEMM
      // threading off (Eigen::setNbThreads(1)), to show what that threading costs on single images.
      for (const threads of [1, 2, '2e1']) {
        const omp = String(threads).slice(0, 1);
        // The 2-thread runs are informational: fewer calls (they can be very slow on a busy machine).
        const calls = threads === 1 ? opt.calls : Math.min(opt.calls, 50), bim = threads === 1 ? opt['bim-calls'] : Math.min(opt['bim-calls'], 20);
        const r = childProcess.spawnSync(opt.native, ['--model', file, '--data', opt.data, '--n', String(opt.images),
          '--calls', String(calls), '--bim-calls', String(bim), '--warmup', String(opt.warmup), '--eps', String(opt.eps),
          ...(threads === '2e1' ? ['--eigen-threads', '1'] : [])],
        { env: { ...process.env, OMP_NUM_THREADS: omp }, encoding: 'utf8' });
        if (r.status !== 0) { result.notes.push(`native_calls failed for ${name}: ${r.stderr}`); break; }
        result.native[name][threads] = JSON.parse(r.stdout);
        result.native[name][threads].modelFile = path.relative(repo, file);
        const j = result.native[name][threads];
        log(`native ${threads}T: ${name} classify ${j.classify.median_ms.toFixed(3)} ms, fgsm ${j.fgsm.median_ms.toFixed(3)} ms, bim10 ${j.bim10.median_ms.toFixed(3)} ms`);
      }
    }
  } else {
    result.notes.push(`native harness ${path.relative(repo, opt.native)} not built: no WASM vs native ratio (benchmarks/web/run.sh builds it).`);
  }

  result.load.end = loadavg();
  result.seconds = (Date.now() - t_start) / 1000;
  log('load average at end:', result.load.end.uptime, `(${result.seconds.toFixed(0)} s)`);
  fs.mkdirSync(opt.out, { recursive: true });
  fs.writeFileSync(path.join(opt.out, 'web.json'), JSON.stringify(result, null, 1) + '\n');
  fs.writeFileSync(path.join(opt.out, 'web.md'), report(result));
  log('wrote', path.relative(repo, path.join(opt.out, 'web.json')), 'and web.md');
  const failed = Object.values(result.models).some((m) => m.tfjs && Object.values(m.tfjs).some((c) => c.check && !c.check.pass));
  if (failed) { log('TF.js correctness check FAILED (see web.md)'); process.exitCode = 2; }
}

// FGSM images of TF.js (current backend) vs advx.fgsm, pixel by pixel. Split by confidence: when
// advx gives the label p > 0.999, dL/dlogits = p - onehot is ~1e-7 and float32 rounding in TF.js's
// logSoftmax gradient decides the sign of tiny pixel gradients (advx computes that step in double;
// PyTorch agrees with advx there).
async function compareFgsm(page, name, n, q, advxImgs, labels) {
  const f = await page.evaluate(({ name, n, eps }) => window.tfb.fgsmImages(name, n, eps), { name, n, eps: opt.eps });
  let same = 0, total = 0, maxd = 0, sameU = 0, totalU = 0, imgsU = 0;
  f.forEach((img, i) => {
    const unsat = q[i * 10 + labels[i]] <= 0.999;
    if (unsat) ++imgsU;
    img.forEach((v, j) => {
      const d = Math.abs(v - advxImgs[i][j]);
      ++total; if (d <= 1e-6) ++same; maxd = Math.max(maxd, d);
      if (unsat) { ++totalU; if (d <= 1e-6) ++sameU; }
    });
  });
  return { images: n, pixelsEqual: same, pixels: total, fractionEqual: same / total, maxAbsDiff: maxd,
           unsaturatedImages: imgsU, fractionEqualUnsaturated: totalU ? sameU / totalU : null };
}
function fmtFgsm(c) {
  return `${(100 * c.fractionEqual).toFixed(2)}% of pixels equal over ${c.images} images; ` +
    `${c.fractionEqualUnsaturated == null ? '-' : (100 * c.fractionEqualUnsaturated).toFixed(2) + '%'} on the ${c.unsaturatedImages} with p(label) <= 0.999`;
}

// "std::__2::basic_string<char, ...>::append(char const*)" -> "std::basic_string::append"
function shortName(n) {
  if (!n) return '(anonymous)';
  let s = n.replace(/std::__2::/g, 'std::'), prev;
  do { prev = s; s = s.replace(/<[^<>]*>/g, ''); } while (s !== prev);
  do { prev = s; s = s.replace(/\([^()]*\)(?=( const)?$)/, ''); } while (s !== prev && /\)$/.test(s) && !/operator\(\)$/.test(s));
  return s.replace(/ const$/, '');
}

// Chromium CPU profile (CDP) of advx.fgsm calls: self time per function. Function names in wasm
// need a build linked with --profiling-funcs (else they show as wasm-function[N]).
async function profileFgsm(page, ctx, result) {
  const cdp = await ctx.newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 50 });
  const out = {};
  for (const name of opt.models.split(',')) {
    const ok = await page.evaluate((n) => window.advx.models().some((m) => m.name === n), name);
    if (!ok) continue;
    await selectModel(page, name);
    await timeAdvx(page, 'fgsm', 20, 0, opt.eps);
    await cdp.send('Profiler.start');
    const t = await timeAdvx(page, 'fgsm', name === 'cnn' ? 100 : 400, 0, opt.eps);
    const { profile } = await cdp.send('Profiler.stop');
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const parent = new Map();
    profile.nodes.forEach((n) => (n.children || []).forEach((c) => parent.set(c, n.id)));
    const key = (n) => shortName(n.callFrame.functionName) + (n.callFrame.url && !/wasm/.test(n.callFrame.url) ? ' (' + path.basename(n.callFrame.url) + ')' : '');
    const self = new Map(), incl = new Map();
    const dt = profile.timeDeltas || [];
    profile.samples.forEach((id, i) => {
      const ms = (dt[i] || 0) / 1000;
      self.set(key(byId.get(id)), (self.get(key(byId.get(id))) || 0) + ms);
      const seen = new Set();
      for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
        const k = key(byId.get(cur));
        if (!seen.has(k)) { seen.add(k); incl.set(k, (incl.get(k) || 0) + ms); }
      }
    });
    const total = [...self.values()].reduce((s, x) => s + x, 0);
    const rows = (m, filter) => [...m.entries()].filter(([k]) => !filter || filter.test(k)).sort((a, b) => b[1] - a[1]).slice(0, 25)
      .map(([fn, ms]) => ({ fn, ms: +ms.toFixed(2), pct: +(100 * ms / total).toFixed(1) }));
    out[name] = {
      fgsmMedianMs: stats(t.ms).median, sampledMs: total,
      top: rows(self), inclusive: rows(incl, /^(advx|play|Eigen|std::|to_string|advx_)/),
    };
    log(`profile ${name}: self`, out[name].top.slice(0, 6).map((x) => `${x.fn} ${x.pct}%`).join(', '));
    log(`profile ${name}: inclusive`, out[name].inclusive.slice(0, 8).map((x) => `${x.fn} ${x.pct}%`).join(', '));
  }
  await cdp.send('Profiler.disable');
  result.profile = { build: opt['profile-build'], models: out };
}

// ---- report -------------------------------------------------------------------------------------
function report(r) {
  const f = (x, d = 2) => (x == null || Number.isNaN(x) ? '-' : x.toFixed(d));
  const mp = (s) => (s ? `${f(s.median, s.median < 1 ? 3 : 2)} / ${f(s.p90, s.p90 < 1 ? 3 : 2)}` : '-');
  const nat = (j) => (j ? `${f(j.median_ms, j.median_ms < 1 ? 3 : 2)} / ${f(j.p90_ms, j.p90_ms < 1 ? 3 : 2)}` : '-');
  const met = (ok) => (ok == null ? 'n/a' : ok ? '**met**' : '**not met**');
  const L = [];
  const w = r.builds.web, nw = r.builds['web-nosimd'];
  L.push('## Web performance (headless Chromium)', '');
  L.push('Generated by `bash benchmarks/web/run.sh` (raw numbers: `benchmarks/results/web.json`).', '');
  L.push(`- Date (UTC): ${r.date.replace('T', ' ').slice(0, 16)}`);
  L.push(`- Machine: ${r.machine.cpu}, ${r.machine.cores} cores (lscpu), ${r.machine.memGiB} GiB RAM, ${r.machine.os}`);
  L.push(`- Chromium ${r.chromium.version} (${r.chromium.path}, headless, --disable-gpu: WebGL2 on SwiftShader), node ${r.machine.node}, playwright-core 1.65.1`);
  L.push(`- advx: commit ${r.git.commit}${r.git.dirty ? ' (working tree with uncommitted changes)' : ''}; SIMD build \`${w.dir}\` (ADVX_WASM_SIMD=${w.ADVX_WASM_SIMD}, index.wasm ${(w.wasmBytes / 1024).toFixed(0)} KiB, built ${w.wasmMtime.slice(0, 16)} UTC)` +
    (nw ? `; non-SIMD build \`${nw.dir}\` (ADVX_WASM_SIMD=${nw.ADVX_WASM_SIMD}, index.wasm ${(nw.wasmBytes / 1024).toFixed(0)} KiB, built ${nw.wasmMtime.slice(0, 16)} UTC)` : '; no non-SIMD build'));
  const tf0 = Object.values(r.tfjs)[0];
  if (tf0) L.push(`- TensorFlow.js ${tf0.version} + tfjs-backend-wasm ${tf0.wasmVersion || '4.22.0'} (npm, pinned), ops API (fused conv/matmul + bias + ReLU), served from benchmarks/web/node_modules; ` +
    Object.entries(r.tfjs).map(([k, t]) => `${k}: SIMD ${t.simd}, threads ${t.threads} (getThreadsCount() ${t.threadsCount}), loaded ${t.wasmFiles.join(', ')}`).join('; '));
  L.push(`- Load average (1/5/15 min): start ${r.load.start['1m']} / ${r.load.start['5m']} / ${r.load.start['15m']}, end ${r.load.end['1m']} / ${r.load.end['5m']} / ${r.load.end['15m']}` +
    (r.load.start['1m'] > 0.5 || r.load.end['1m'] > 0.5 ? ' -- **the machine was busy: numbers are noisy and pessimistic**' : ''));
  L.push(`- Run time ${f(r.seconds, 0)} s; timings are median / p90 ms over ${r.options.calls} calls (BIM-10: ${r.options['bim-calls']}) after ${r.options.warmup} warm-up calls, cycling over the first ${r.options.images} MNIST test images, eps = ${r.options.eps}; performance.now() resolution in the page: ${f(w.timerResolutionMs * 1000, 0)} us (cross-origin isolated: ${w.firstFrame.crossOriginIsolated})`);
  L.push('', '### Commands', '', '```');
  L.push('bash benchmarks/web/run.sh                 # everything below, ~2-3 min; writes benchmarks/results/web.{json,md}');
  L.push('cmake --preset web && cmake --build --preset web                                   # build/web (SIMD)');
  L.push('cmake --preset web -B build/web-nosimd -DADVX_WASM_SIMD=OFF && cmake --build build/web-nosimd');
  L.push('cd benchmarks/web && npm ci && node bench.js [--help]');
  L.push('```', '');

  for (const [name, m] of Object.entries(r.models)) {
    L.push(`### Model \`${name}\``, '');
    if (!m.advx.web) { L.push(`Skipped: ${Object.values(m.skipped || {}).join('; ')}.`, ''); continue; }
    const a = m.advx.web, an = m.advx['web-nosimd'], n1 = (r.native[name] || {})[1], n2 = (r.native[name] || {})[2], n2e = (r.native[name] || {})['2e1'];
    const tfs = m.tfjs || {};
    const cols = ['call', 'advx wasm SIMD', 'advx wasm no SIMD', 'SIMD speedup', 'native 1 thread', 'native 2 threads', 'wasm / native (1 thr)'];
    const tfNames = Object.keys(tfs);
    for (const c of tfNames) cols.push(r.tfjs[c].label);
    if (tfNames.length) cols.push(`${r.tfjs[tfNames[0]].label} / advx wasm`);
    L.push('| ' + cols.join(' | ') + ' |', '|' + cols.map(() => ' --- ').join('|') + '|');
    const rows = [['classify', 'classify', 'classify', 'classify'], ['FGSM round trip', 'fgsm', 'fgsm', 'fgsm'],
      ['BIM-10', 'bim10', 'bim10', null], ['input gradient (TF.js only)', null, null, 'grad']];
    for (const [label, k, nk, tk] of rows) {
      const cells = [label, k ? mp(a[k]) : '-', k && an ? mp(an[k]) : '-',
        k && an ? f(an[k].median / a[k].median) + 'x' : '-', nk && n1 ? nat(n1[nk]) : '-', nk && n2 ? nat(n2[nk]) : '-',
        nk && n1 && k ? f(a[k].median / n1[nk].median_ms) + 'x' : '-'];
      for (const c of tfNames) cells.push(tk && tfs[c][tk] ? mp(tfs[c][tk]) : '-');
      if (tfNames.length) cells.push(tk && k && tfs[tfNames[0]][tk] ? f(tfs[tfNames[0]][tk].median / a[k].median) + 'x' : '-');
      L.push('| ' + cells.join(' | ') + ' |');
    }
    L.push('');
    L.push(`Selecting the model in the page (${a.select.how}, including any lazy download and weight parsing): ${f(a.select.ms, 0)} ms.` +
      (n2e ? ` Native with 2 OpenMP threads but Eigen's GEMM threading off (Eigen::setNbThreads(1)): classify ${nat(n2e.classify)}, FGSM ${nat(n2e.fgsm)}, BIM-10 ${nat(n2e.bim10)} ms.` : ''));
    for (const c of tfNames) {
      const t = tfs[c];
      L.push(`TF.js correctness (${r.tfjs[c].label}): max |softmax_TF.js - advx.classify| = ${t.check.maxAbsDiffProbs.toExponential(2)} over ${t.check.images} test images ` +
        `(tolerance 1e-4: **${t.check.pass ? 'pass' : 'FAIL'}**), same argmax on ${t.check.argmaxAgree}/${t.check.images}` +
        (t.fgsmCheck ? `; FGSM images, TF.js wasm vs advx.fgsm: ${fmtFgsm(t.fgsmCheck)}` : '') +
        (t.fgsmCheckCpuBackend ? `; TF.js **cpu** backend vs advx.fgsm: ${fmtFgsm(t.fgsmCheckCpuBackend)}` : '') + '.');
    }
    L.push('');
  }

  // Targets.
  L.push('### Targets', '', '| target | measured | status |', '| --- | --- | --- |');
  const models = Object.entries(r.models).filter(([, m]) => m.advx.web);
  for (const [name, m] of models) L.push(`| FGSM round trip <= 5 ms (\`${name}\`) | ${f(m.advx.web.fgsm.median)} ms median (p90 ${f(m.advx.web.fgsm.p90)}) | ${met(m.advx.web.fgsm.median <= 5)} |`);
  for (const [name, m] of models) {
    const tfs = m.tfjs || {}, first = Object.keys(tfs)[0];
    if (!first) continue;
    for (const c of Object.keys(tfs)) {
      const rf = tfs[c].fgsm.median / m.advx.web.fgsm.median, rc = tfs[c].classify.median / m.advx.web.classify.median;
      L.push(`| >= 1.5x ${r.tfjs[c].label} (\`${name}\`) | FGSM ${f(rf)}x, classify ${f(rc)}x | ${met(rf >= 1.5 && rc >= 1.5)}${(rf >= 1.5) !== (rc >= 1.5) ? ` (FGSM ${rf >= 1.5 ? 'met' : 'not met'}, classify ${rc >= 1.5 ? 'met' : 'not met'})` : ''} |`);
    }
  }
  for (const [name, m] of models) {
    const n1 = (r.native[name] || {})[1];
    if (!n1) continue;
    const rs = ['classify', 'fgsm', 'bim10'].map((k) => [k, m.advx.web[k].median / n1[k].median_ms]);
    L.push(`| WASM <= 2x native, 1 thread (\`${name}\`) | ${rs.map(([k, x]) => `${k} ${f(x)}x`).join(', ')} | ${met(rs.every(([, x]) => x <= 2))} |`);
  }
  const pre = w.beforeFirstFrame, preGz = pre.reduce((s, x) => s + (x.gzip9 || 0), 0);
  L.push(`| bundle <= 3 MB gzip (before first frame) | ${(preGz / 1e6).toFixed(2)} MB (${(preGz / 2 ** 20).toFixed(2)} MiB) | ${met(preGz <= 3e6)} |`);
  L.push(`| first frame <= 1.5 s | ${f(w.firstFrame.stats.median, 0)} ms median of ${w.firstFrame.stats.n} loads (${w.firstFrame.source}) | ${met(w.firstFrame.stats.median <= 1500)} |`);
  L.push('');

  L.push(...reportBatch(r, f, met));

  // Bundle and first frame details.
  L.push('### First frame and bundle', '');
  for (const [b, info] of Object.entries(r.builds)) {
    if (!info.firstFrame) continue;
    L.push(`- build/${b}: first frame ${info.firstFrame.ms.map((x) => f(x, 0)).join(', ')} ms (median ${f(info.firstFrame.stats.median, 0)}); advx.ready median ${f(info.readyMs ? info.readyMs.median : info.firstFrame.readyMs && info.firstFrame.readyMs.median, 0)} ms; DOMContentLoaded median ${f(info.firstFrame.domContentLoadedMs && info.firstFrame.domContentLoadedMs.median, 0)} ms.`);
  }
  L.push('', '| file (fetched before the first frame, build/web) | bytes | gzip -9 |', '| --- | --- | --- |');
  for (const x of pre) L.push(`| ${x.url} | ${x.bytes == null ? '-' : x.bytes.toLocaleString('en')} | ${x.gzip9 == null ? '-' : x.gzip9.toLocaleString('en')} |`);
  L.push(`| **sum** | ${pre.reduce((s, x) => s + (x.bytes || 0), 0).toLocaleString('en')} | **${preGz.toLocaleString('en')}** |`);
  if (w.dataContents) {
    L.push('', 'index.data holds (Emscripten --preload-file; gzip -9 of each part alone):', '', '| packed file | bytes | gzip -9 |', '| --- | --- | --- |');
    for (const x of w.dataContents) L.push(`| ${x.file} | ${x.bytes.toLocaleString('en')} | ${x.gzip9.toLocaleString('en')} |`);
  }
  if (r.bundle.withModels) {
    const seen = new Set(pre.map((x) => x.url));
    const extra = r.bundle.withModels.filter((x) => !seen.has(x.url));
    const allGz = preGz + extra.reduce((s, x) => s + (x.gzip9 || 0), 0);
    L.push('', `Fetched later (model selection, lazily loaded files): ${extra.length ? extra.map((x) => `${x.url} ${(x.gzip9 || 0).toLocaleString('en')} B gz`).join(', ') : 'nothing (the models are packed into index.data and fetched before the first frame)'}. ` +
      `Total including them: **${allGz.toLocaleString('en')} B gzip -9** (${(allGz / 1e6).toFixed(2)} MB).`);
  }
  L.push('');

  if (r.profile) {
    L.push(`### CPU profile of advx.fgsm (build/${r.profile.build})`, '');
    for (const [name, p] of Object.entries(r.profile.models)) {
      L.push(`\`${name}\` (FGSM median ${f(p.fgsmMedianMs, 3)} ms while profiled; ${f(p.sampledMs, 0)} ms sampled):`, '');
      L.push('| self time: function | % | | inclusive time: function | % |', '| --- | --- | --- | --- | --- |');
      for (let i = 0; i < 15; ++i) {
        const x = p.top[i], y = p.inclusive[i];
        L.push(`| ${x ? '`' + x.fn.replace(/\|/g, '\\|') + '`' : ''} | ${x ? f(x.pct, 1) : ''} | | ${y ? '`' + y.fn.replace(/\|/g, '\\|') + '`' : ''} | ${y ? f(y.pct, 1) : ''} |`);
      }
      L.push('');
    }
  }

  L.push('### Notes on the measurement', '');
  const notes = [...r.notes];
  if (nw && nw.simdObjects) {
    const so = nw.simdObjects, withSimd = Object.entries(so).filter(([, v]) => v.simd128 > 0).map(([k, v]) => `${k} ${v.simd128}/${v.files}`);
    notes.push(withSimd.length ? `The non-SIMD build still compiles some sources with -msimd128 (${withSimd.join(', ')}; cmake/imgui.cmake hard-codes it for ImGui), so it needs a SIMD-capable browser; the engine and frontend code compared here are scalar.`
      : 'The non-SIMD build compiles no source with -msimd128.');
  }
  for (const [name, n] of Object.entries(r.native)) {
    if (n[1] && n[2] && n[2].classify.median_ms > 3 * n[1].classify.median_ms)
      notes.push(`Native \`${name}\` with 2 OpenMP threads is ${(n[2].classify.median_ms / n[1].classify.median_ms).toFixed(0)}x slower than 1 thread on single images: Eigen splits each small GEMM over both threads (fork/join per product); with the other core busy the join waits for a descheduled thread. With Eigen::setNbThreads(1) (column "2e1" in web.json) it is back to ${n['2e1'] ? n['2e1'].classify.median_ms.toFixed(3) : '?'} ms. The 2-thread runs use ${Math.min(r.options.calls, 50)} calls (BIM-10: ${Math.min(r.options['bim-calls'], 20)}).`);
  }
  notes.push(`The machine has ${r.machine.cores} cores shared with other work: single calls are timed one by one and the median is reported; the p90 shows the noise. Rerun on a quiet machine for final numbers (the 1-minute load average is recorded above).`);
  notes.push('The pages are served cross-origin isolated (COOP/COEP) so that performance.now() has 5 us resolution; the advx numbers above come from the single-thread build (index.html?threads=1; the isolated page would otherwise load the threaded build, measured in its own section). TF.js threads are set explicitly per configuration (the "1 thread" one is what a plain, non-isolated static host gets).');
  notes.push('advx FGSM round trip = JS Float32Array in -> wasm -> Float32Array out, and the engine runs one forward + backward (advx.fgsm returns only the image, so the attack skips evaluating it: LinfAttack::evaluate = false). TF.js FGSM step = gradient + sign + clip + dataSync: the same work. BIM-10 = 10 forwards + 10 backwards. (The FGSM panel of the playground does evaluate the adversarial image, one more forward, for its prediction bars.)');
  notes.push('First frame: headless Chromium with --disable-gpu renders WebGL2 on SwiftShader (CPU), so shader compilation and the first draw cost CPU time a real GPU would not; page loads come from 127.0.0.1 (no network latency) with a fresh browser context each (cold HTTP and code cache, warm OS file cache).');
  notes.push('Native = build/native/libadvx_engine.a (-O3 -march=native) through benchmarks/web/native_calls.cpp, the same calls as frontend/web_api.cpp; OMP_NUM_THREADS=1 is the fair comparison with single-threaded wasm.');
  if (r.consoleErrors && r.consoleErrors.length) notes.push('Page console errors: ' + r.consoleErrors.slice(0, 5).join(' | '));
  for (const n of notes) L.push('- ' + n);
  L.push('');
  return L.join('\n');
}

main().catch((e) => { console.error(e && e.stack || e); process.exit(1); });
