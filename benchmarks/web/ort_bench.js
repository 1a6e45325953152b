// ONNX Runtime Web side of the batched-forward benchmark (benchmarks/web/batch.js), driven through
// window.ortb. The models are OUR safetensors weights exported by export_onnx.py (PyTorch 1.13,
// softmax appended, dynamic batch), fetched from /onnx/. Execution provider: wasm (SIMD; the
// threaded wasm when numThreads > 1, which needs the cross-origin isolated page server.js serves).
'use strict';
window.ortb = {
  // Sets ORT's wasm flags (once per page: ORT initialises its wasm module on the first session)
  // and creates a session per model. Returns what ORT reports.
  async init(models, numThreads) {
    ort.env.wasm.wasmPaths = '/ort/';
    ort.env.wasm.numThreads = numThreads;
    ort.env.wasm.proxy = false;
    this.sessions = {};
    for (const m of models) {
      this.sessions[m] = await ort.InferenceSession.create('/onnx/' + m + '.onnx', {
        executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
    }
    return { version: ort.env.versions ? ort.env.versions.common : null, numThreads: ort.env.wasm.numThreads,
             isolated: self.crossOriginIsolated };
  },
  // Probabilities of n images (n x 784 pixels in [0, 1]) in one run.
  async run(model, x, n) {
    const t = new ort.Tensor('float32', x, [n, 1, 28, 28]);
    const out = await this.sessions[model].run({ x: t });
    return out.p.data;
  },
  // Times `calls` runs of batches of n images (images cycled from `imgs`), after `warmup` runs.
  async time(model, imgs, n, calls, warmup) {
    const x = new Float32Array(n * 784), ms = [];
    for (let c = 0; c < warmup + calls; ++c) {
      for (let i = 0; i < n; ++i) x.set(imgs[(c * n + i) % imgs.length], i * 784);
      const t0 = performance.now();
      await this.run(model, x, n);
      if (c >= warmup) ms.push(performance.now() - t0);
    }
    return ms;
  },
};
