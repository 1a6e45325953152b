// Batched forward (issue 8, "Browser threads"): advx.classify on one image and on a batch of 64,
// `small` and `cnn`, in the single-thread build (index.html?threads=1) and the threaded build
// (index.html on the cross-origin isolated server: build/web/mt), against ONNX Runtime Web 1.30
// (npm, pinned; wasm SIMD, numThreads 1 and 2) running OUR weights exported to ONNX at benchmark
// time (export_onnx.py, Debian's PyTorch). Same headless Chromium as the rest of bench.js.
// ORT's outputs are checked against advx.classify on the same test images first.
'use strict';
const childProcess = require('child_process');
const fs = require('fs');
const path = require('path');

const BATCH = 64;

// Exports the models to ONNX into dir (once per run). Returns {name: file} or throws.
function exportOnnx(repo, dir, models) {
  childProcess.execFileSync('/usr/bin/python3', [path.join(__dirname, 'export_onnx.py'), dir, ...models],
                            { stdio: ['ignore', 'ignore', 'inherit'] });
  return Object.fromEntries(models.map((m) => [m, path.join(dir, m + '.onnx')]));
}

// Median of `calls` advx.classify calls on batches of n images (cycled), after warm-up, in the page.
async function timeAdvxBatch(page, n, calls, warmup) {
  return page.evaluate(({ n, calls, warmup }) => {
    const imgs = window.__imgs, x = new Float32Array(n * 784), ms = [];
    for (let c = 0; c < warmup + calls; ++c) {
      for (let i = 0; i < n; ++i) x.set(imgs[(c * n + i) % imgs.length], i * 784);
      const t0 = performance.now();
      window.advx.classify(x);
      if (c >= warmup) ms.push(performance.now() - t0);
    }
    return ms;
  }, { n, calls, warmup });
}

// Runs the section; fills result.batch. ctx: {newPage, base, b64, nImg, labels, models, calls, warmup,
// stats, log, selectModel, setImagesAdvx, repo}.
async function runBatch(c, result) {
  const out = (result.batch = { size: BATCH, advx: {}, ort: {}, check: {}, notes: [] });
  const onnxDir = path.join(c.repo, 'build', 'bench-web', 'onnx');
  let onnx;
  try {
    onnx = exportOnnx(c.repo, onnxDir, c.models);
  } catch (e) {
    out.notes.push('ONNX export failed (Debian python3-torch needed): ' + e.message);
    return;
  }
  out.onnxBytes = Object.fromEntries(Object.entries(onnx).map(([m, f]) => [m, fs.statSync(f).size]));
  const checkN = BATCH;
  const probsAdvx = {};
  // advx: single-thread build, then the threaded build, both on the isolated server.
  for (const [key, query] of [['single', '?threads=1'], ['threads', '']]) {
    const { ctx, page } = await c.newPage();
    await page.goto(`${c.base}/web/index.html${query}`);
    await c.waitReady(page);
    const info = await page.evaluate(() => ({ threads: window.advx.threads ? window.advx.threads() : 1,
      isolated: self.crossOriginIsolated,
      scripts: performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname).filter((u) => /index\.js$/.test(u)) }));
    const rec = (out.advx[key] = { ...info, models: {} });
    await c.setImagesAdvx(page, c.b64, c.nImg, c.labels);
    for (const m of c.models) {
      await c.selectModel(page, m);
      const p = await page.evaluate((n) => {
        const x = new Float32Array(n * 784);
        for (let i = 0; i < n; ++i) x.set(window.__imgs[i], i * 784);
        return Array.from(window.advx.classify(x));
      }, checkN);
      if (key === 'single') probsAdvx[m] = p;
      else rec.maxAbsDiffVsSingle = Math.max(rec.maxAbsDiffVsSingle || 0, ...p.map((v, i) => Math.abs(v - probsAdvx[m][i])));
      const one = c.stats(await timeAdvxBatch(page, 1, c.calls, c.warmup));
      const b = c.stats(await timeAdvxBatch(page, BATCH, Math.max(10, c.calls >> 2), Math.max(2, c.warmup >> 1)));
      rec.models[m] = { one, batch: b, imgPerS: BATCH / (b.median / 1000) };
      c.log(`advx ${key} (${info.threads} threads): ${m} 1 image ${one.median.toFixed(3)} ms, ${BATCH} images ${b.median.toFixed(2)} ms`);
    }
    await ctx.close();
  }
  // ONNX Runtime Web, 1 and 2 threads (numThreads is fixed when ORT first initialises: a page each).
  for (const threads of [1, 2]) {
    const { ctx, page } = await c.newPage();
    await page.goto(`${c.base}/bench/ort.html`);
    const info = await page.evaluate(({ models, threads }) => window.ortb.init(models, threads), { models: c.models, threads });
    const rec = (out.ort[threads] = { ...info, models: {} });
    await page.evaluate(({ b64, n }) => {
      const raw = atob(b64);
      window.__imgs = [];
      for (let i = 0; i < n; ++i) {
        const x = new Float32Array(784);
        for (let k = 0; k < 784; ++k) x[k] = raw.charCodeAt(i * 784 + k) / 255;
        window.__imgs.push(x);
      }
    }, { b64: c.b64, n: c.nImg });
    for (const m of c.models) {
      const p = await page.evaluate(async ({ m, n }) => {
        const x = new Float32Array(n * 784);
        for (let i = 0; i < n; ++i) x.set(window.__imgs[i], i * 784);
        return Array.from(await window.ortb.run(m, x, n));
      }, { m, n: checkN });
      const ref = probsAdvx[m] || [];
      const k = p.length / checkN, am = (a, i) => { let b = 0; for (let j = 1; j < k; ++j) if (a[i * k + j] > a[i * k + b]) b = j; return b; };
      const diff = Math.max(...p.map((v, i) => Math.abs(v - ref[i])));
      let agree = 0;
      for (let i = 0; i < checkN; ++i) agree += am(p, i) === am(ref, i);
      out.check[m] = { images: checkN, maxAbsDiffProbs: diff, argmaxAgree: agree, pass: diff <= 1e-4 && agree === checkN };
      const one = c.stats(await page.evaluate(({ m, calls, warmup }) => window.ortb.time(m, window.__imgs, 1, calls, warmup), { m, calls: c.calls, warmup: c.warmup }));
      const b = c.stats(await page.evaluate(({ m, calls, warmup, n }) => window.ortb.time(m, window.__imgs, n, calls, warmup),
                                            { m, calls: Math.max(10, c.calls >> 2), warmup: Math.max(2, c.warmup >> 1), n: BATCH }));
      rec.models[m] = { one, batch: b, imgPerS: BATCH / (b.median / 1000) };
      c.log(`ORT-web ${threads} thread(s): ${m} 1 image ${one.median.toFixed(3)} ms, ${BATCH} images ${b.median.toFixed(2)} ms; vs advx max diff ${diff.toExponential(2)}`);
    }
    await ctx.close();
  }
}

// The report's section: one table per model, the correctness check and the targets.
function reportBatch(r, f, met) {
  const B = r.batch;
  if (!B) return [];
  const L = ['### Batched forward: advx threads vs ONNX Runtime Web', ''];
  if (!B.advx.single) {
    L.push('Not measured: ' + B.notes.join('; '), '');
    return L;
  }
  const ms = (s) => (s ? `${f(s.median, s.median < 1 ? 3 : 2)} / ${f(s.p90, s.p90 < 1 ? 3 : 2)}` : '-');
  const ortV = (B.ort[2] || B.ort[1] || {}).version || '1.30.0';
  L.push(`advx.classify vs ONNX Runtime Web ${ortV} (npm, pinned; wasm execution provider, SIMD) running the same weights ` +
    '(`benchmarks/web/export_onnx.py`: PyTorch 1.13 `torch.onnx.export` of tests/reference/arch.py with our safetensors, softmax appended, ' +
    `opset 13), all served cross-origin isolated from the same server in the same Chromium. Median / p90 ms per call; a batch is one call with ${B.size} images.`, '');
  const rows = [
    [`advx, single-thread build (\`?threads=1\`)`, B.advx.single],
    [`advx, threaded build (\`mt/\`, ${B.advx.threads ? B.advx.threads.threads : '?'} threads)`, B.advx.threads],
    ['ONNX Runtime Web, 1 thread', B.ort[1]],
    ['ONNX Runtime Web, 2 threads', B.ort[2]],
  ];
  for (const m of Object.keys(B.check).length ? Object.keys(B.check) : Object.keys(B.advx.single.models)) {
    L.push(`#### \`${m}\``, '', `| | 1 image | ${B.size} images | images/s (batch) |`, '| --- | --- | --- | --- |');
    for (const [label, rec] of rows) {
      const x = rec && rec.models[m];
      L.push(`| ${label} | ${x ? ms(x.one) : '-'} | ${x ? ms(x.batch) : '-'} | ${x ? f(x.imgPerS, 0) : '-'} |`);
    }
    const ck = B.check[m];
    if (ck) L.push('', `ORT-web vs advx.classify on the first ${ck.images} MNIST test images: max |p_ORT - p_advx| = ${ck.maxAbsDiffProbs.toExponential(2)} (tolerance 1e-4: **${ck.pass ? 'pass' : 'FAIL'}**), same argmax on ${ck.argmaxAgree}/${ck.images}.`);
    L.push('');
  }
  if (B.advx.threads && B.advx.threads.maxAbsDiffVsSingle != null)
    L.push(`The threaded build's probabilities on the same ${B.size} images differ from the single-thread build's by at most ${B.advx.threads.maxAbsDiffVsSingle.toExponential(2)}.`, '');
  L.push('Targets (issue 8, "Browser threads"):', '', '| target | measured | status |', '| --- | --- | --- |');
  const t = B.advx.threads, o2 = B.ort[2];
  if (t && t.models.cnn) L.push(`| \`cnn\` one image <= 0.8 ms (threaded build) | ${f(t.models.cnn.one.median, 3)} ms (single-thread build ${f(B.advx.single.models.cnn.one.median, 3)} ms) | ${met(t.models.cnn.one.median <= 0.8)} |`);
  for (const m of ['cnn', 'small']) {
    if (!t || !t.models[m] || !o2 || !o2.models[m]) continue;
    L.push(`| batched throughput >= ORT-web 2 threads (\`${m}\`, ${B.size} images) | advx ${f(t.models[m].imgPerS, 0)} img/s vs ORT-web ${f(o2.models[m].imgPerS, 0)} img/s (${f(t.models[m].imgPerS / o2.models[m].imgPerS)}x) | ${met(t.models[m].imgPerS >= o2.models[m].imgPerS)} |`);
  }
  L.push('');
  return L;
}

module.exports = { runBatch, reportBatch };
