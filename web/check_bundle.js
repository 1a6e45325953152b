// Build step (frontend/CMakeLists.txt), before index.* are copied into the served folder:
// 1. checks that index.js and index.wasm come from the same emcc run, i.e. that every module the
//    wasm imports from is one the JS provides. At -O2+ emcc minifies the import module names
//    ("env" -> "a") in both files; a wasm from a failed or interrupted run keeps "env" and fails
//    in the browser with "Import #0 env: module is not an object or function";
// 2. stamps index.html with a hash of index.js + index.wasm + index.data (ADVX_BUILD in
//    web/shell.html), which the page appends to every URL it fetches (?v=HASH), so a browser's
//    cache never pairs an old index.wasm with a new index.js after a rebuild.
//   node check_bundle.js <path/to/index>   (without extension)
'use strict';
const fs = require('fs');
const crypto = require('crypto');

const base = process.argv[2];
if (!base) {
  console.error('usage: node check_bundle.js <path/to/index> (checks index.js + index.wasm)');
  process.exit(2);
}
const fail = (msg) => {
  console.error('check_bundle: ' + msg);
  process.exit(1);
};
let js, wasm;
try {
  js = fs.readFileSync(base + '.js', 'utf8');
  wasm = fs.readFileSync(base + '.wasm');
} catch (e) {
  fail(e.message);
}
let modules;
try {
  const m = new WebAssembly.Module(wasm);
  modules = [...new Set(WebAssembly.Module.imports(m).map((i) => i.module))];
} catch (e) {
  fail(base + '.wasm is not a valid WebAssembly module: ' + e.message);
}
// Emscripten 3.1.x builds the import object as `var info = {"a": asmLibraryArg}` (minified) or
// `{"env": asmLibraryArg, "wasi_snapshot_preview1": asmLibraryArg}`.
const info = js.match(/var info\s*=\s*\{([^}]*)\}/);
if (!info) {
  console.warn('check_bundle: import object not found in ' + base + '.js (new Emscripten?); not checked');
} else {
  const provided = [...info[1].matchAll(/["']?([A-Za-z_$][\w$]*)["']?\s*:/g)].map((x) => x[1]);
  const missing = modules.filter((m) => !provided.includes(m));
  if (missing.length) {
    fail(`${base}.wasm imports from module(s) ${missing.join(', ')} but ${base}.js provides only ` +
         `${provided.join(', ')}: the two files come from different emcc runs. Relink (delete ${base}.wasm).`);
  }
}

const hash = crypto.createHash('sha256');
for (const ext of ['.js', '.wasm', '.data']) if (fs.existsSync(base + ext)) hash.update(fs.readFileSync(base + ext));
const stamp = hash.digest('hex').slice(0, 12);
let html;
try {
  html = fs.readFileSync(base + '.html', 'utf8');
} catch (e) {
  fail(e.message);
}
const stamped = html.replace(/var ADVX_BUILD = '[0-9a-f]*';/, `var ADVX_BUILD = '${stamp}';`)
  .replace(/src="index\.js(\?v=[0-9a-f]*)?"/, `src="index.js?v=${stamp}"`);
if (!stamped.includes(`ADVX_BUILD = '${stamp}'`) || !stamped.includes(`index.js?v=${stamp}`)) {
  fail(`${base}.html: could not stamp the build hash (ADVX_BUILD or the index.js script tag not found)`);
}
if (stamped !== html) fs.writeFileSync(base + '.html', stamped);
