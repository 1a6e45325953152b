// The advx architectures in TensorFlow.js (ops API, wasm backend), loaded from our safetensors
// files, for benchmarks/web/bench.js. Runs in the page tfjs.html; everything is on window.tfb.
//
// Layouts: our weights are PyTorch's (conv [out, in, kh, kw], linear [out, in]) and our tensors
// NCHW; TF.js convolutions are NHWC with filters [kh, kw, in, out]. So:
//   conv filter  W.transpose([2, 3, 1, 0])                        -> [kh, kw, in, out]
//   linear       W.transpose()                                     -> [in, out]   (x W^T)
//   first linear after Flatten of a [C, H, W] map: our Flatten index is c*H*W + h*W + w (NCHW),
//   TF.js's reshape of [H, W, C] gives (h*W + w)*C + c, so its rows are permuted:
//                W.reshape([out, C, H, W]).transpose([2, 3, 1, 0]).reshape([H*W*C, out])
//   The input image [1, 28, 28] NCHW and [28, 28, 1] NHWC have the same 784 values in the same order.
/* global tf */
(function () {
  'use strict';

  // Layer lists of engine/models.cpp; the number is the layer index that names the parameters
  // ("<index>.weight"), then stride and padding for convolutions.
  var ARCHS = {
    softmax: [['flatten'], ['fc', 1]],
    fc500: [['flatten'], ['fc', 1], ['relu'], ['fc', 3], ['relu'], ['fc', 5]],
    cnn: [['conv', 0, 1, 2], ['relu'], ['pool', 2], ['conv', 3, 1, 2], ['relu'], ['pool', 2], ['flatten'],
          ['fc', 7], ['relu'], ['fc', 9]],
    small: [['conv', 0, 2, 1], ['relu'], ['conv', 2, 2, 1], ['relu'], ['flatten'], ['fc', 5], ['relu'], ['fc', 7]],
  };

  // safetensors: u64 LE header length, JSON header {name: {dtype, shape, data_offsets}}, data.
  function parseSafetensors(buf) {
    var dv = new DataView(buf);
    var n = dv.getUint32(0, true) + dv.getUint32(4, true) * 4294967296;
    var header = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 8, n)));
    var base = 8 + n, meta = header.__metadata__ || {}, tensors = {};
    Object.keys(header).forEach(function (k) {
      if (k === '__metadata__') return;
      var info = header[k];
      if (info.dtype !== 'F32') throw new Error(k + ': dtype ' + info.dtype + ' (only F32 is supported)');
      // slice(): the data may not be 4-byte aligned within the file.
      tensors[k] = { shape: info.shape, data: new Float32Array(buf.slice(base + info.data_offsets[0], base + info.data_offsets[1])) };
    });
    return { meta: meta, tensors: tensors };
  }

  function build(arch, tensors) {
    var spec = ARCHS[arch];
    if (!spec) throw new Error('unknown architecture ' + arch);
    var shape = [28, 28, 1];  // H, W, C of the current activation (per sample)
    var flat = null;          // [C, H, W] of the last Flatten, for the next linear layer
    var layers = [], params = 0;
    function get(name) {
      var t = tensors[name];
      if (!t) throw new Error('missing tensor ' + name);
      params += t.data.length;
      return t;
    }
    spec.forEach(function (l, i) {
      var kind = l[0];
      var reluNext = spec[i + 1] && spec[i + 1][0] === 'relu';
      if (kind === 'conv') {
        var w = get(l[1] + '.weight'), b = get(l[1] + '.bias');
        var out = w.shape[0], cin = w.shape[1], k = w.shape[2], s = l[2], p = l[3];
        if (cin !== shape[2]) throw new Error('conv ' + l[1] + ': ' + cin + ' input channels, activation has ' + shape[2]);
        var filter = tf.tidy(function () { return tf.tensor4d(w.data, w.shape).transpose([2, 3, 1, 0]); });
        layers.push({ kind: 'conv', filter: filter, bias: tf.tensor1d(b.data), stride: s, pad: p, relu: reluNext });
        var oh = Math.floor((shape[0] + 2 * p - k) / s) + 1, ow = Math.floor((shape[1] + 2 * p - k) / s) + 1;
        shape = [oh, ow, out];
      } else if (kind === 'pool') {
        layers.push({ kind: 'pool', k: l[1] });
        shape = [Math.floor((shape[0] - l[1]) / l[1]) + 1, Math.floor((shape[1] - l[1]) / l[1]) + 1, shape[2]];
      } else if (kind === 'flatten') {
        layers.push({ kind: 'flatten' });
        flat = [shape[2], shape[0], shape[1]];
        shape = [shape[0] * shape[1] * shape[2]];
      } else if (kind === 'fc') {
        var fw = get(l[1] + '.weight'), fb = get(l[1] + '.bias');
        var o = fw.shape[0], inn = fw.shape[1];
        if (inn !== shape[0]) throw new Error('linear ' + l[1] + ': ' + inn + ' inputs, activation has ' + shape[0]);
        var f = flat;
        var wt = tf.tidy(function () {
          if (f) return tf.tensor4d(fw.data, [o, f[0], f[1], f[2]]).transpose([2, 3, 1, 0]).reshape([inn, o]);
          return tf.tensor2d(fw.data, fw.shape).transpose();
        });
        flat = null;
        layers.push({ kind: 'fc', w: wt, bias: tf.tensor1d(fb.data), relu: reluNext });
        shape = [o];
      } else if (kind === 'relu') {
        // fused into the layer before
      }
    });
    if (shape.length !== 1 || shape[0] !== 10) throw new Error(arch + ' ends in ' + JSON.stringify(shape));
    return { arch: arch, layers: layers, params: params };
  }

  // Logits [N, 10] for x [N, 28, 28, 1]. Fused ops (bias + ReLU in the conv / matmul kernel) are
  // TF.js's fastest path; under tf.grad it falls back to the unfused ops by itself.
  function forward(m, x) {
    var h = x;
    m.layers.forEach(function (L) {
      if (L.kind === 'conv') {
        h = tf.fused.conv2d({ x: h, filter: L.filter, strides: L.stride, pad: L.pad, bias: L.bias,
                              activation: L.relu ? 'relu' : 'linear' });
      } else if (L.kind === 'pool') {
        h = tf.maxPool(h, L.k, L.k, 'valid');
      } else if (L.kind === 'flatten') {
        h = tf.reshape(h, [h.shape[0], -1]);
      } else if (L.kind === 'fc') {
        h = tf.fused.matMul({ a: h, b: L.w, bias: L.bias, activation: L.relu ? 'relu' : 'linear' });
      }
    });
    return h;
  }

  // Summed cross-entropy of one-hot labels y [N, 10] (as the engine's Reduction::Sum).
  function loss(m, x, y) {
    return tf.sum(tf.mul(y, tf.neg(tf.logSoftmax(forward(m, x)))));
  }

  var models = {};
  var state = { imgs: null, labels: null };

  function image(i) { return state.imgs[i % state.imgs.length]; }
  function label(i) { return state.labels[i % state.labels.length]; }

  // One call each, as a user of TF.js would write it: tensor in, Float32Array out (dataSync).
  function classify(m, px) {
    var p = tf.tidy(function () { return tf.softmax(forward(m, tf.tensor4d(px, [1, 28, 28, 1]))); });
    var out = p.dataSync();
    p.dispose();
    return out;
  }
  function inputGrad(m, px, lab) {
    var g = tf.tidy(function () {
      var x = tf.tensor4d(px, [1, 28, 28, 1]);
      var y = tf.oneHot(tf.tensor1d([lab], 'int32'), 10);
      return tf.grad(function (xx) { return loss(m, xx, y); })(x);
    });
    var out = g.dataSync();
    g.dispose();
    return out;
  }
  // FGSM step: clip(x + eps * sign(grad_x L(x, label)), 0, 1).
  function fgsm(m, px, lab, eps) {
    var a = tf.tidy(function () {
      var x = tf.tensor4d(px, [1, 28, 28, 1]);
      var y = tf.oneHot(tf.tensor1d([lab], 'int32'), 10);
      var g = tf.grad(function (xx) { return loss(m, xx, y); })(x);
      return tf.clipByValue(tf.add(x, tf.mul(tf.sign(g), eps)), 0, 1);
    });
    var out = a.dataSync();
    a.dispose();
    return out;
  }

  window.tfb = {
    _internals: { models: models, forward: forward, loss: loss, build: build, parse: parseSafetensors },
    // opts: {simd: bool, threads: bool, threadsCount: n}. Returns what TF.js actually uses.
    init: async function (opts) {
      opts = opts || {};
      tf.env().set('WASM_HAS_SIMD_SUPPORT', opts.simd !== false);
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', !!opts.threads);
      if (opts.threads && opts.threadsCount) tf.wasm.setThreadsCount(opts.threadsCount);
      tf.wasm.setWasmPaths('/tfjs-wasm/');
      var ok = await tf.setBackend('wasm');
      await tf.ready();
      var wasmFiles = performance.getEntriesByType('resource').map(function (e) { return e.name; })
        .filter(function (n) { return /\.wasm$/.test(n); });
      return {
        ok: ok, backend: tf.getBackend(), version: tf.version_core || (tf.version && tf.version['tfjs-core']),
        wasmVersion: tf.wasm.version_wasm,
        simd: await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'),
        threads: await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'),
        threadsCount: tf.wasm.getThreadsCount ? tf.wasm.getThreadsCount() : null,
        wasmFiles: wasmFiles, crossOriginIsolated: self.crossOriginIsolated,
        hardwareConcurrency: navigator.hardwareConcurrency,
      };
    },
    // Switches the backend ('cpu' for the reference check, back to 'wasm'); returns tf.getBackend().
    useBackend: async function (name) {
      await tf.setBackend(name);
      await tf.ready();
      return tf.getBackend();
    },
    load: async function (name, url) {
      var r = await fetch(url);
      if (!r.ok) throw new Error(url + ': HTTP ' + r.status);
      var st = parseSafetensors(await r.arrayBuffer());
      var arch = st.meta['advx.arch'] || name;
      models[name] = build(arch, st.tensors);
      return { arch: arch, params: models[name].params, meta: st.meta };
    },
    setImages: function (bytesB64, n, labels) {
      var bin = atob(bytesB64), imgs = [];
      for (var i = 0; i < n; ++i) {
        var a = new Float32Array(784);
        for (var j = 0; j < 784; ++j) a[j] = bin.charCodeAt(i * 784 + j) / 255;
        imgs.push(a);
      }
      state.imgs = imgs;
      state.labels = labels;
      return imgs.length;
    },
    // Softmax probabilities of images [0, n) as one flat array (one batch: correctness check).
    probs: function (name, n) {
      var m = models[name];
      var out = tf.tidy(function () {
        var flat = new Float32Array(n * 784);
        for (var i = 0; i < n; ++i) flat.set(image(i), i * 784);
        return tf.softmax(forward(m, tf.tensor4d(flat, [n, 28, 28, 1])));
      });
      var a = Array.from(out.dataSync());
      out.dispose();
      return a;
    },
    // FGSM images of [0, n), one call each (compared pixel by pixel with advx.fgsm).
    fgsmImages: function (name, n, eps) {
      var m = models[name], res = [];
      for (var i = 0; i < n; ++i) res.push(Array.from(fgsm(m, image(i), label(i), eps)));
      return res;
    },
    // kind: classify | grad | fgsm. `warmup` untimed calls, then `calls` timed one by one (ms).
    time: function (name, kind, calls, warmup, eps) {
      var m = models[name];
      var fn = kind === 'classify' ? function (i) { return classify(m, image(i)); }
        : kind === 'grad' ? function (i) { return inputGrad(m, image(i), label(i)); }
        : function (i) { return fgsm(m, image(i), label(i), eps); };
      var sink = 0, i;
      for (i = 0; i < warmup; ++i) sink += fn(i)[0];
      var before = tf.memory().numTensors, ts = [];
      for (i = 0; i < calls; ++i) {
        var t0 = performance.now();
        var out = fn(i);
        ts.push(performance.now() - t0);
        sink += out[0];
      }
      return { ms: ts, leakedTensors: tf.memory().numTensors - before, sink: sink };
    },
  };
})();
