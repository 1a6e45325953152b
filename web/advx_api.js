// window.advx: the playground's JavaScript API (appended to index.js with --post-js, so it shares
// the Emscripten module's scope: HEAPF32, _malloc, UTF8ToString, FS ...). See web/README.md.
(function () {
  'use strict';
  var resolveReady, rejectReady;
  var ready = new Promise(function (res, rej) { resolveReady = res; rejectReady = rej; });
  var previousAbort = Module['onAbort'];
  Module['onAbort'] = function (what) {
    rejectReady(new Error('advx failed to start: ' + what));
    if (previousAbort) previousAbort(what);
  };

  function lastError() { return UTF8ToString(_advx_last_error()); }
  function check(rc) {
    if (rc < 0) throw new Error('advx: ' + lastError());
    return rc;
  }
  function pixelsOf(p, what) {
    if (!p || p.length !== 784) throw new TypeError('advx: ' + (what || 'pixels') + ' must be 784 values (28x28, row-major, in [0, 1])');
    return p;
  }
  // Runs fn(ptr...) with malloc'd buffers of `sizes` floats; the first `inputs.length` are filled.
  function withFloats(inputs, sizes, fn) {
    var ptrs = sizes.map(function (n) { return _malloc(n * 4); });
    try {
      inputs.forEach(function (arr, i) { HEAPF32.set(arr, ptrs[i] >> 2); });
      return fn.apply(null, ptrs);
    } finally {
      ptrs.forEach(function (p) { _free(p); });
    }
  }
  function withString(s, fn) {
    var n = lengthBytesUTF8(s) + 1, p = _malloc(n);
    try { stringToUTF8(s, p, n); return fn(p); } finally { _free(p); }
  }
  function toQuery(obj) {
    return Object.keys(obj).map(function (k) {
      var v = obj[k];
      if (Array.isArray(v)) v = v.join(',');
      else if (v === null || v === undefined) v = k === 'target' ? -1 : '';
      return encodeURIComponent(k) + '=' + encodeURIComponent(String(v));
    }).join('&');
  }
  var IMAGES = { input: 0, adversarial: 1, perturbation: 2 };

  var api = {
    ready: ready,
    version: '0.1.0',
    // Probabilities (Float32Array, one per class) of the state's model for 784 pixels.
    classify: function (pixels) {
      pixelsOf(pixels);
      return withFloats([pixels], [784, 64], function (inp, out) {
        var n = check(_advx_classify(inp, out));
        return HEAPF32.slice(out >> 2, (out >> 2) + n);
      });
    },
    // Adversarial image (Float32Array(784)) for the state's model. opts: {target: class or -1,
    // steps: 1 = FGSM (default), > 1 = BIM with that many steps}.
    fgsm: function (pixels, label, eps, opts) {
      pixelsOf(pixels);
      opts = opts || {};
      var target = opts.target === undefined || opts.target === null ? -1 : opts.target | 0;
      var steps = opts.steps === undefined ? 1 : opts.steps | 0;
      return withFloats([pixels], [784, 784], function (inp, out) {
        check(_advx_attack(inp, label | 0, +eps, target, steps, out));
        return HEAPF32.slice(out >> 2, (out >> 2) + 784);
      });
    },
    // Shows these 784 pixels as the input (used as given, no preprocessing).
    setInput: function (pixels) {
      pixelsOf(pixels);
      withFloats([pixels], [784], function (inp) { check(_advx_set_input(inp)); });
    },
    state: function () { return JSON.parse(UTF8ToString(_advx_state_json())); },
    // Keys: model, attack (fgsm|bim|pgd), eps, target (-1 = none), steps, seed, test, img,
    // preprocess, brush, hide (array or comma list). Returns the new state.
    setState: function (obj) {
      withString(toQuery(obj || {}), function (p) { check(_advx_set_state(p)); });
      return api.state();
    },
    models: function () { return JSON.parse(UTF8ToString(_advx_models_json())); },
    // What the page shows: {pred, probs, label, exact, attack: {pred, probs, success, linf, l2, l0, ms}}.
    view: function () { return JSON.parse(UTF8ToString(_advx_view_json())); },
    // 'input' | 'adversarial' | 'perturbation' -> Float32Array(784).
    image: function (which) {
      var k = IMAGES[which || 'input'];
      if (k === undefined) throw new TypeError('advx.image: input, adversarial or perturbation');
      return withFloats([], [784], function (out) {
        check(_advx_view_image(k, out));
        return HEAPF32.slice(out >> 2, (out >> 2) + 784);
      });
    },
    // The drawing canvas's rectangle in CSS pixels inside the <canvas> element.
    layout: function () { return JSON.parse(UTF8ToString(_advx_layout_json())); },
    // The URL hash for the current view (what the address bar shows).
    hash: function () { return UTF8ToString(_advx_hash()); },
    // Loads a PNG (File, Blob, ArrayBuffer or Uint8Array) as the input.
    importPng: function (data, name) {
      var bytesP = data instanceof Uint8Array ? Promise.resolve(data)
        : data instanceof ArrayBuffer ? Promise.resolve(new Uint8Array(data))
        : data.arrayBuffer().then(function (b) { return new Uint8Array(b); });
      return bytesP.then(function (bytes) {
        FS.writeFile('/tmp/advx-import.png', bytes);
        withString('/tmp/advx-import.png', function (p) {
          withString(name || data.name || 'image.png', function (n) { check(_advx_import_file(p, n)); });
        });
      });
    },
    _resolveReady: function () { document.title = 'advx playground'; resolveReady(api); },
    _lastHash: '',
  };
  window.advx = api;

  window.addEventListener('hashchange', function () {
    if (location.hash === api._lastHash) return;
    withString(location.hash, function (p) { _advx_hashchange(p); });
  });
  var file = document.getElementById('advx-file');
  if (file) file.addEventListener('change', function () {
    if (file.files && file.files[0]) api.importPng(file.files[0]).catch(function (e) { console.warn(e.message); });
    file.value = '';
  });
  var canvas = Module['canvas'];
  if (canvas) {
    canvas.addEventListener('dragover', function (e) { e.preventDefault(); });
    canvas.addEventListener('drop', function (e) {
      e.preventDefault();
      var f = e.dataTransfer && e.dataTransfer.files[0];
      if (f) api.importPng(f).catch(function (err) { console.warn(err.message); });
    });
  }
})();
