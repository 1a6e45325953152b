// window.advx: the playground's JavaScript API (appended to index.js with --post-js, so it shares
// the Emscripten module's scope: HEAPF32, HEAPU8, _malloc, UTF8ToString, FS ...). See web/README.md.
// Models are separate static files (models/NAME.safetensors next to index.html), downloaded when
// first needed: the startup model before advx.ready resolves, others by advx.loadModel(name) or
// when selected (UI, setState, URL).
(function () {
  'use strict';
  // The threaded build's Web Workers (pthreads) run this file too: the API lives on the page only.
  if (typeof ENVIRONMENT_IS_PTHREAD !== 'undefined' && ENVIRONMENT_IS_PTHREAD) return;
  var resolveReady, rejectReady, resolveStarted;
  var ready = new Promise(function (res, rej) { resolveReady = res; rejectReady = rej; });
  var started = new Promise(function (res) { resolveStarted = res; });  // the C++ App exists
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
  // An advx Error: what is wrong and how to fix it, naming the argument.
  function fail(msg) { throw new Error('advx: ' + msg); }
  function inputSize() { return check(_advx_input_size()); }
  // pixels: 784 values for one 28x28 image, or N times the model's input size for a batch. Returns N.
  function countOf(p, what) {
    var size = inputSize();
    if (!p || typeof p.length !== 'number' || p.length === 0 || p.length % size !== 0)
      fail((what || 'pixels') + ' must be an array of N x ' + size + ' numbers in [0, 1] (the model\'s input, row-major), got ' +
           (p && typeof p.length === 'number' ? p.length + ' values' : typeof p));
    return p.length / size;
  }
  function integer(v, what, lo, hi) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi)
      fail(what + ' must be an integer in [' + lo + ', ' + hi + '], got ' + (typeof v === 'number' ? v : JSON.stringify(v)));
    return v;
  }
  // _malloc, or an advx Error when the wasm heap cannot grow (instead of writing at address 0).
  function alloc(bytes) {
    var p = _malloc(Math.max(1, bytes));
    if (!p) fail('out of memory: cannot allocate ' + (bytes / 1048576).toFixed(1) + ' MB in the WebAssembly heap (use smaller batches, or reload the page)');
    return p;
  }
  // Runs fn(ptr...) with malloc'd buffers of `sizes` floats; the first `inputs.length` are filled.
  function withFloats(inputs, sizes, fn) {
    var ptrs = [];
    try {
      sizes.forEach(function (n) { ptrs.push(alloc(n * 4)); });
      inputs.forEach(function (arr, i) { HEAPF32.set(arr, ptrs[i] >> 2); });
      return fn.apply(null, ptrs);
    } finally {
      ptrs.forEach(function (p) { _free(p); });
    }
  }
  function withString(s, fn) {
    var n = lengthBytesUTF8(s) + 1, p = alloc(n);
    try { stringToUTF8(s, p, n); return fn(p); } finally { _free(p); }
  }
  // {key: value} -> "key=value&..." for the C side, which checks every value against its table.
  // Values must be numbers (finite), booleans, strings, or arrays of strings (hide); anything else
  // is an error that names the key (NaN would otherwise become the text "NaN", an object "[object
  // Object]").
  function toQuery(obj, what) {
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) fail(what + ' must be an object such as {eps: 0.3}, got ' + (Array.isArray(obj) ? 'an array' : JSON.stringify(obj)));
    return Object.keys(obj).map(function (k) {
      var v = obj[k];
      if (Array.isArray(v)) {
        if (!v.every(function (e) { return typeof e === 'string'; })) fail(what + '.' + k + ' must be an array of strings');
        v = v.join(',');
      } else if (v === null || v === undefined) {
        if (k !== 'target') fail(what + '.' + k + ' is ' + v + '; give a value or leave the key out');
        v = -1;
      } else if (typeof v === 'number') {
        if (!isFinite(v)) fail(what + '.' + k + ' must be a finite number, got ' + v);
      } else if (typeof v !== 'boolean' && typeof v !== 'string') {
        fail(what + '.' + k + ' must be a number, a boolean or a string, got ' + typeof v);
      }
      return encodeURIComponent(k) + '=' + encodeURIComponent(String(v));
    }).join('&');
  }
  var IMAGES = { input: 0, adversarial: 1, perturbation: 2, seen: 3 };
  function describe(v) { return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v; }
  // A sequence attack: advx.attack({text, attack, <its parameters>, seed, adaptive, model, label}).
  function seqAttack(o) {
    if (typeof o.text !== 'string') fail('advx.attack on a sequence takes {text: \'...\', attack, ...}: text must be a string (an SMS, or API calls separated by spaces or newlines), got ' + describe(o.text));
    var rest = {};
    Object.keys(o).forEach(function (k) { if (k !== 'text') rest[k] = o[k]; });
    if (rest.label !== undefined) integer(rest.label, 'label', 0, 999);
    var query = toQuery(rest, 'the attack\'s options');
    withString(o.text, function (t) { withString(query, function (q) { check(_advx_seq_attack(t, q)); }); });
    return JSON.parse(UTF8ToString(_advx_text()));
  }
  var STATUS = ['not loaded', 'loading', 'ready', 'error'];
  // Bytes (File, Blob, ArrayBuffer, Uint8Array) -> a Promise of a Uint8Array, written to the in-memory
  // file system for fn(path, name) (importPng, importPatch).
  function importFile(data, name, what, fn) {
    if (name !== undefined && typeof name !== 'string') return Promise.reject(new Error('advx: ' + what + '\'s name must be a string, got ' + typeof name));
    var bytesP = data instanceof Uint8Array ? Promise.resolve(data)
      : data instanceof ArrayBuffer ? Promise.resolve(new Uint8Array(data))
      : data && typeof data.arrayBuffer === 'function' ? data.arrayBuffer().then(function (b) { return new Uint8Array(b); })
      : Promise.reject(new Error('advx: ' + what + ' takes a File, Blob, ArrayBuffer or Uint8Array with a PNG, got ' +
                                 (data === null ? 'null' : typeof data)));
    return bytesP.then(function (bytes) {
      if (bytes.length > 64 * 1048576) fail(what + ': the file is ' + (bytes.length / 1048576).toFixed(0) + ' MB; PNGs up to 64 MB are read');
      FS.writeFile('/tmp/advx-import.png', bytes);
      withString('/tmp/advx-import.png', function (p) {
        withString(name || data.name || 'image.png', function (n) { check(fn(p, n)); });
      });
    });
  }

  // ---- lazy model loading ----------------------------------------------------------------------
  var waiters = {};  // model name -> [{resolve, reject}] (advx.loadModel calls in flight)
  function modelInfo(name) {
    var s = withString(name, function (p) { return UTF8ToString(_advx_model_json(p)); });
    if (!s) throw new Error('advx: ' + lastError());
    return JSON.parse(s);
  }
  function settle(name) {
    var list = waiters[name] || [];
    delete waiters[name];
    if (!list.length) return;
    var info = modelInfo(name);
    list.forEach(function (w) {
      if (info.status === 'ready') w.resolve(info);
      else w.reject(new Error("advx: model '" + name + "' failed to load: " + info.error));
    });
  }
  // Called by the C++ side (platform.cpp) when a model's file is needed.
  function fetchModel(name, url) {
    var failed = function (why) {
      withString(name, function (n) { withString(why, function (w) { _advx_model_failed(n, w); }); });
      settle(name);
    };
    // Relative to index.js (like index.wasm and index.data), or wherever Module.locateFile says.
    var where = typeof locateFile === 'function' ? locateFile(url) : url;
    fetch(where).then(function (r) {
      if (!r.ok) throw new Error('HTTP ' + r.status + (r.statusText ? ' ' + r.statusText : ''));
      // Progress for the model panel; Content-Length is the compressed size if the server compresses.
      var total = r.headers.get('Content-Encoding') ? 0 : +(r.headers.get('Content-Length') || 0);
      if (!r.body || !r.body.getReader) return r.arrayBuffer().then(function (b) { return new Uint8Array(b); });
      var reader = r.body.getReader(), chunks = [], got = 0;
      var pump = function () {
        return reader.read().then(function (step) {
          if (step.done) {
            var all = new Uint8Array(got), at = 0;
            chunks.forEach(function (c) { all.set(c, at); at += c.length; });
            return all;
          }
          chunks.push(step.value);
          got += step.value.length;
          withString(name, function (n) { _advx_model_progress(n, got, total); });
          return pump();
        });
      };
      return pump();
    }).then(function (bytes) {
      var p;
      try {
        p = alloc(bytes.length);
      } catch (e) {
        failed(e.message);
        return;
      }
      try {
        HEAPU8.set(bytes, p);
        withString(name, function (n) { _advx_model_data(n, p, bytes.length); });  // errors end up in the model's entry
      } finally {
        _free(p);
      }
      settle(name);
    }, function (e) {
      failed('cannot download ' + url + ': ' + (e && e.message ? e.message : String(e)));
    });
  }

  var api = {
    // Resolves (with this object) after the first frame, once the startup model (URL or default)
    // has loaded or failed to; rejects if the page cannot start (no WebGL2 / WebAssembly).
    ready: ready,
    version: '0.2.0',
    // performance.now() when the first frame was drawn (null until then).
    firstFrameMs: null,
    // Threads the engine's batched work runs on: 1 in the single-thread build, 2 or more in the
    // threaded one (build/web/mt), which the page loads when it is cross-origin isolated.
    threads: function () { return _advx_threads(); },
    // Probabilities of the state's model: a Float32Array of K values (one per class) for one image,
    // or N x K (row-major) for a batch of N images given as one array of N x input-size values.
    // Throws if that model is not loaded (await advx.loadModel(name) first).
    classify: function (pixels) {
      var n = countOf(pixels), size = pixels.length / n;
      return withFloats([pixels], [n * size, n * 1000], function (inp, out) {
        var k = check(_advx_classify(inp, n, out));
        return HEAPF32.slice(out >> 2, (out >> 2) + n * k);
      });
    },
    // Any registered attack (advx.registry().attacks) on one image or a batch, on the state's model:
    //   advx.attack(pixels, labels, {attack: 'name', <its parameters>, target, seed, adaptive})
    // labels: a class, or an array of N classes. Options not given keep the playground's current
    // values. Returns {adv: Float32Array(N x input size), pred, success, linf, l2, l0 (arrays of N),
    // queries, gradientCalls}. adaptive: true attacks the defended model (setState({defence}) first).
    // Or a sequence attack on text, in one object:
    //   advx.attack({text: 'WINNER! ...', attack: 'substitute', budget: 0.1, seed: 0, model, label, adaptive})
    // (advx.registry().sequenceAttacks; the attack must fit the model's dataset; options not given keep
    // the sequence view's values) returning {attack, model, original: {tokens, ids, unknown, dropped},
    // tokens, ids, text, changed (positions in tokens the attack put in), pred, label, probs, attacked,
    // success, edits, budget, [defendedPred, defendedProbs, scores, votes], craftedOn, queries,
    // gradientCalls, ms}.
    attack: function (pixels, labels, opts) {
      if (pixels !== null && typeof pixels === 'object' && !Array.isArray(pixels) && !ArrayBuffer.isView(pixels) &&
          typeof pixels.length !== 'number') {
        if (labels !== undefined || opts !== undefined) fail('advx.attack({text, ...}) takes one argument: the object holds the text and the options');
        return seqAttack(pixels);
      }
      var n = countOf(pixels), size = pixels.length / n;
      var ys = Array.isArray(labels) ? labels : [labels];
      if (ys.length !== n) fail('labels must give one class per image: ' + n + ' images, ' + ys.length + ' labels');
      ys.forEach(function (y, i) { integer(y, 'labels[' + i + ']', 0, 999); });
      var query = opts === undefined ? '' : toQuery(opts, 'opts');
      var yp = alloc(n * 4);
      try {
        HEAP32.set(ys, yp >> 2);
        return withFloats([pixels], [n * size, n * size], function (inp, out) {
          withString(query, function (q) { check(_advx_attack(inp, n, yp, q, out)); });
          var r = JSON.parse(UTF8ToString(_advx_text()));
          r.adv = HEAPF32.slice(out >> 2, (out >> 2) + n * size);
          return r;
        });
      } finally {
        _free(yp);
      }
    },
    // The classic call: the adversarial image (Float32Array) for one image of the state's model by
    // the gradient-sign method, FGSM (steps 1, the default) or BIM (steps > 1), with the current seed.
    // opts: {target: class or -1, steps}.
    fgsm: function (pixels, label, eps, opts) {
      if (countOf(pixels) !== 1) fail('fgsm takes one image; advx.attack takes a batch');
      integer(label, 'label', 0, 999);
      if (typeof eps !== 'number' || !isFinite(eps) || eps < 0 || eps > 1) fail('eps must be a number in [0, 1], got ' + eps);
      if (opts !== undefined && (opts === null || typeof opts !== 'object')) fail('opts must be an object such as {target: 3, steps: 10}');
      opts = opts || {};
      var target = opts.target === undefined || opts.target === null ? -1 : integer(opts.target, 'opts.target', -1, 999);
      var steps = opts.steps === undefined ? 1 : integer(opts.steps, 'opts.steps', 1, 1000);
      return withFloats([pixels], [pixels.length, pixels.length], function (inp, out) {
        check(_advx_fgsm(inp, label, eps, target, steps, out));
        return HEAPF32.slice(out >> 2, (out >> 2) + pixels.length);
      });
    },
    // The registered attacks and defences with their parameter tables: {attacks: [{name, title,
    // summary, citation, norm, budget, gradient, params: [{key, type, min, max, default, help}]}],
    // defences: [...], sequenceAttacks: [{name, title, summary, citation, edit, budget, gradient,
    // params}], sequenceDefences: [...], sequenceDatasets: [{name, dataset, edit}]}.
    registry: function () { return JSON.parse(UTF8ToString(_advx_registry_json())); },
    // A sequence model's prediction for text (an SMS; or API calls separated by spaces or newlines):
    // {model, dataset, pred, label (the class name), probs, classes, tokens (what the model reads),
    // ids, unknown (positions of tokens outside the vocabulary, read as <unk>), dropped (tokens past
    // the model's length)}. opts.model: a sequence model (advx.models(), domain 'sequences'); default
    // the sequence view's. Throws if that model is not loaded (await advx.loadModel(name)).
    classifyText: function (text, opts) {
      if (typeof text !== 'string') fail('classifyText takes a string (an SMS, or API calls separated by spaces or newlines), got ' + describe(text));
      if (opts !== undefined && (opts === null || typeof opts !== 'object' || Array.isArray(opts))) fail("classifyText's opts must be an object such as {model: 'sequence/sms_lstm'}, got " + describe(opts));
      var model = '';
      Object.keys(opts || {}).forEach(function (k) {
        if (k !== 'model') fail("classifyText's opts take only model, got '" + k + "'");
        if (typeof opts.model !== 'string' || !opts.model) fail('opts.model must be a model name (a string; see advx.models()), got ' + JSON.stringify(opts.model));
        model = opts.model;
      });
      withString(text, function (t) { withString(model, function (m) { check(_advx_classify_text(t, m)); }); });
      return JSON.parse(UTF8ToString(_advx_text()));
    },
    // A sequence dataset's test split ('sms' or 'malbehavd'; downloaded once): a Promise of {dataset,
    // name, classes, texts, labels}; the sequence view's test=i is texts[i].
    sequenceSamples: function (dataset) {
      return started.then(function () {
        if (typeof dataset !== 'string' || !dataset) fail('sequenceSamples takes a dataset name (advx.registry().sequenceDatasets), got ' + JSON.stringify(dataset));
        return new Promise(function (resolve, reject) {
          var poll = function () {
            var rc;
            try {
              rc = withString(dataset, function (p) { return check(_advx_seq_samples(p)); });
            } catch (e) {
              reject(e);
              return;
            }
            if (STATUS[rc] === 'ready') resolve(JSON.parse(UTF8ToString(_advx_text())));
            else setTimeout(poll, 50);
          };
          poll();
        });
      });
    },
    // Shows these pixels (one image of the model's input size) as the input, used as given.
    setInput: function (pixels) {
      if (countOf(pixels) !== 1) fail('setInput takes one image (' + inputSize() + ' values)');
      withFloats([pixels], [pixels.length], function (inp) { check(_advx_set_input(inp)); });
    },
    state: function () { return JSON.parse(UTF8ToString(_advx_state_json())); },
    // Keys: model, attack (a registered attack) and its parameters (advx.registry()), target (-1 =
    // none), seed, defence ('none' or a registered defence) and its parameters, adaptive, bpda, test,
    // img, preprocess, brush, hide (array or comma list). Returns the new state. A model that is not
    // loaded yet starts loading; await advx.loadModel(name) before classify/attack with it.
    // "Train robustly": starts a training run in the page (a few batches per frame; follow it in
    // view().training, or the panel). opts: arch (an MNIST architecture), recipe (natural,
    // goodfellow, fgsm_rs, madry: engine/train/recipes.h), train_eps, train_epochs, train_images,
    // train_eval, train_seed; keys not given keep the panel's values. {stop: true} stops the run.
    train: function (opts) {
      withString(toQuery(opts === undefined ? {} : opts, 'train\'s argument'), function (p) { check(_advx_train(p)); });
      return api.view().training;
    },
    // view: 'image' or 'seq'; with view 'seq' (given or current) model, attack, defence, test and the
    // parameters are the sequence view's, plus dataset ('sms', 'malbehavd') and text.
    setState: function (obj) {
      withString(toQuery(obj, 'setState\'s argument'), function (p) { check(_advx_set_state(p)); });
      return api.state();
    },
    // Every shipped model (from the build's manifest; listing downloads nothing):
    // [{name, arch, params, bytes, test_acc, url, status, received, error, default, selected}].
    models: function () { return JSON.parse(UTF8ToString(_advx_models_json())); },
    // Downloads and builds a model (once; again after a failure). Resolves with its models() entry
    // when it is usable; rejects with an Error for an unknown name, a failed download (HTTP 404,
    // offline) or a corrupt file. Does not change the state's model (setState({model}) does).
    loadModel: function (name) {
      return started.then(function () {
        if (typeof name !== 'string' || !name) fail('loadModel takes a model name (a string; see advx.models()), got ' + JSON.stringify(name));
        var rc = withString(name, function (p) { return _advx_request_model(p, 1); });
        if (rc < 0) throw new Error('advx.loadModel: ' + lastError());
        if (STATUS[rc] === 'ready' || STATUS[rc] === 'error') {
          var info = modelInfo(name);
          if (info.status === 'ready') return info;
          throw new Error("advx: model '" + name + "' failed to load: " + info.error);
        }
        return new Promise(function (resolve, reject) {
          (waiters[name] = waiters[name] || []).push({ resolve: resolve, reject: reject });
        });
      });
    },
    // What the page shows: {model, modelStatus, pred, probs, label, exact, defence: {name, pred,
    // probs, gradient, waiting ('' or what it still downloads; pred -1 until then), scores: [{name,
    // value, threshold, flagged}], votes: [{member, pred, probs}], neighbours: [{index, label,
    // distance}], ms} or null, attack: {attack, pred, probs, defendedPred, defendedProbs, label,
    // success, craftedOn, linf, l2, l0, queries, gradientCalls, ms} or null, robustness: {done,
    // budget, eps, acc, curves: [{name, acc}]}, training: {arch, recipe, running, paused, waiting,
    // error, adopted, ms, and once a run exists: done, phase, progress, epoch, epochs, batch, batches,
    // loss, imagesPerSecond, history: [{epoch, loss, seconds, evalN, clean, robust}]}, error, timing}.
    view: function () { return JSON.parse(UTF8ToString(_advx_view_json())); },
    // 'input' | 'adversarial' | 'perturbation' | 'seen' (what the model sees: the input with the patch
    // placed, if any) -> Float32Array of the input size (784 for MNIST).
    image: function (which) {
      var k = IMAGES[which === undefined ? 'input' : which];
      if (typeof which !== 'undefined' && typeof which !== 'string' || k === undefined) fail("image takes 'input', 'adversarial', 'perturbation' or 'seen', got " + JSON.stringify(which));
      var size = inputSize();
      return withFloats([], [size], function (out) {
        check(_advx_view_image(k, out));
        return HEAPF32.slice(out >> 2, (out >> 2) + size);
      });
    },
    // Where things are, in CSS pixels inside the <canvas> element: {canvas, frames, display,
    // panels: {name: {x, y, w, h}}, widgets: {name: {x, y, w, h}}} (for tests and embedders).
    layout: function () { return JSON.parse(UTF8ToString(_advx_layout_json())); },
    // The URL hash for the current view (what the address bar shows).
    hash: function () { return UTF8ToString(_advx_hash()); },
    // Loads a PNG (File, Blob, ArrayBuffer or Uint8Array) as the input.
    importPng: function (data, name) { return importFile(data, name, 'importPng', _advx_import_file); },
    // The patch workbench (an adversarial patch, Brown et al. 2017). advx.patch() returns
    // view().patch: {size, side, channels, pixels (C x side x side, row-major), x, y, angle, placedSide,
    // target, covered, running, paused, waiting, error, step, goal, ms, stepMs, loss: [per step],
    // success: [per step, targeted success of the step's batch], heldOut: {n, success, attacked, step,
    // running}}, or null without a patch. advx.patch(opts) sets and returns it; opts: pixels (an array
    // of C x side x side values in [0, 1] for the size given or current), size (share of the image
    // area, 0.01-0.5), x, y (centre in image pixels), angle (degrees), target (class), fill ('random' or
    // 'clear'), train (steps to train, from the current patch, a few per frame), pause (bool), stop,
    // remove. Setting a placement or training with no patch starts from a random one.
    patch: function (opts) {
      if (opts === undefined) return api.view().patch;
      if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) fail('patch takes an object such as {size: 0.1, x: 14, y: 14, target: 3}, got ' + describe(opts));
      var rest = {}, pixels = null;
      Object.keys(opts).forEach(function (k) { if (k === 'pixels') pixels = opts[k]; else rest[k] = opts[k]; });
      var query = toQuery(rest, 'patch\'s options');
      if (pixels !== null) {
        if (!pixels || typeof pixels.length !== 'number' || pixels.length === 0) fail('patch.pixels must be an array of C x side x side numbers in [0, 1], got ' + describe(pixels));
        withFloats([pixels], [pixels.length], function (p) {
          withString(query, function (q) { check(_advx_patch(p, pixels.length, q)); });
        });
      } else {
        withString(query, function (q) { check(_advx_patch(0, 0, q)); });
      }
      return api.view().patch;
    },
    // The patch as PNG bytes (Uint8Array): at the model's scale, the format of `advx patch train --out`
    // (text chunks: target, size, model); {print: true} the printable copy upscaled by nearest
    // neighbour (scale: 1-64, default 8). The panel's buttons download the same bytes.
    patchPng: function (opts) {
      if (opts !== undefined && (opts === null || typeof opts !== 'object')) fail('patchPng takes {print: true, scale: 8} or nothing');
      opts = opts || {};
      var scale = opts.print ? (opts.scale === undefined ? 8 : integer(opts.scale, 'patchPng\'s scale', 1, 64)) : 1;
      var n = check(_advx_patch_png(scale)), p = _advx_patch_png_data();
      return HEAPU8.slice(p, p + n);
    },
    // Loads a patch PNG (File, Blob, ArrayBuffer or Uint8Array; the model-scale or the printable copy)
    // into the patch workbench; its recorded size and target come with it.
    importPatch: function (data, name) { return importFile(data, name, 'importPatch', _advx_import_patch_file); },
    _resolveReady: function () {
      document.title = 'advx playground';
      var status = document.getElementById('status');
      if (status && !status.classList.contains('error')) status.textContent = '';
      resolveReady(api);
    },
    _started: function () { resolveStarted(); },
    // The WebAssembly heap's size in bytes (for the soak test's memory check).
    _memoryBytes: function () { return HEAP8.length; },
    _fetchModel: fetchModel,
    _pickFor: 'input',  // what the file picker's PNG is for: 'input' or 'patch' (platform.cpp sets it)
    _lastHash: '',
  };
  window.advx = api;

  window.addEventListener('hashchange', function () {
    if (location.hash === api._lastHash) return;
    withString(location.hash, function (p) { _advx_hashchange(p); });
  });
  var file = document.getElementById('advx-file');
  if (file) file.addEventListener('change', function () {
    var into = api._pickFor === 'patch' ? api.importPatch : api.importPng;
    api._pickFor = 'input';
    if (file.files && file.files[0]) into(file.files[0]).catch(function (e) { console.warn(e.message); });
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
