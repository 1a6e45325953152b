// Build step (frontend/CMakeLists.txt), before index.* are copied into the served folder:
// 1. checks that index.js and index.wasm come from the same emcc run, i.e. that every module the
//    wasm imports from is one the JS provides. At -O2+ emcc minifies the import module names
//    ("env" -> "a") in both files; a wasm from a failed or interrupted run keeps "env" and fails
//    in the browser with "Import #0 env: module is not an object or function";
// 2. stamps index.html with a hash of index.js + index.wasm + index.data (ADVX_BUILD in
//    web/shell.html), which the page appends to every URL it fetches (?v=HASH), so a browser's
//    cache never pairs an old index.wasm with a new index.js after a rebuild.
// 3. with the threaded build's link (ADVX_WASM_THREADS): checks its index.js + index.wasm the same
//    way, that its index.worker.js is there and that its index.data is byte for byte the
//    single-thread build's (the page serves one index.data to both), and stamps index.html with a
//    hash of its files too (ADVX_BUILD_MT; empty: no threaded build, the page never loads mt/).
//   node check_bundle.js <path/to/index> [<path/to/threaded/index>]   (without extension)
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
// Checks that base.js provides every module base.wasm imports from; returns a hash of the files.
function checkPair(base, exts) {
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
  for (const ext of exts) if (fs.existsSync(base + ext)) hash.update(fs.readFileSync(base + ext));
  return hash.digest('hex').slice(0, 12);
}

const stamp = checkPair(base, ['.js', '.wasm', '.data']);
const mtBase = process.argv[3];
let stampMt = '';
if (mtBase) {
  if (!fs.existsSync(mtBase + '.worker.js')) fail(`${mtBase}.worker.js is missing (not a -pthread link?)`);
  const data = fs.readFileSync(base + '.data'), dataMt = fs.readFileSync(mtBase + '.data');
  if (!data.equals(dataMt)) fail(`${mtBase}.data differs from ${base}.data: the two builds must pack the same files`);
  stampMt = checkPair(mtBase, ['.js', '.wasm', '.worker.js']);
}
let html;
try {
  html = fs.readFileSync(base + '.html', 'utf8');
} catch (e) {
  fail(e.message);
}
const stamped = html.replace(/var ADVX_BUILD = '[0-9a-f]*';/, `var ADVX_BUILD = '${stamp}';`)
  .replace(/var ADVX_BUILD_MT = '[0-9a-f]*';/, `var ADVX_BUILD_MT = '${stampMt}';`)
  .replace(/src="index\.js(\?v=[0-9a-f]*)?"/, `src="index.js?v=${stamp}"`);
if (!stamped.includes(`ADVX_BUILD = '${stamp}'`) || !stamped.includes(`ADVX_BUILD_MT = '${stampMt}'`) ||
    !stamped.includes(`index.js?v=${stamp}`)) {
  fail(`${base}.html: could not stamp the build hash (ADVX_BUILD, ADVX_BUILD_MT or the index.js script tag not found)`);
}
if (stamped !== html) fs.writeFileSync(base + '.html', stamped);
