#!/usr/bin/env node
// Checks the deploy folder (what a server publishes) holds the page's files and nothing else:
// index.{html,js,wasm,data}, the threaded build's mt/index.{js,wasm,worker.js}, models/**/*.safetensors (sub-folders: sequence/, ...), samples/*.bin.gz
// (image samples) and samples/*.txt.gz (sequence datasets). A build file there
// (CMakeCache.txt, compile_commands.json, a static library) would show the build machine's paths to
// anyone. Usage: node web/check_deploy.js DEPLOY_DIR; exit 1 with the offending paths.
'use strict';
const fs = require('fs');
const path = require('path');
const dir = process.argv[2];
if (!dir) {
  console.error('usage: check_deploy.js DEPLOY_DIR');
  process.exit(2);
}
const allowed = (rel) => /^index\.(html|js|wasm|data)$/.test(rel) || /^mt\/index\.(js|wasm|worker\.js)$/.test(rel) ||
                         /^models\/([A-Za-z0-9_-]+\/)*[A-Za-z0-9_.-]+\.safetensors$/.test(rel) ||
                         /^samples\/[A-Za-z0-9_.-]+\.(bin|txt)\.gz$/.test(rel);
const bad = [];
const walk = (d) => {
  for (const e of fs.readdirSync(d, { withFileTypes: true })) {
    const full = path.join(d, e.name), rel = path.relative(dir, full).split(path.sep).join('/');
    if (e.isDirectory()) {
      if (rel === 'models' || rel.startsWith('models/') || rel === 'samples' || rel === 'mt') walk(full);
      else bad.push(rel + '/');
    } else if (!allowed(rel)) {
      bad.push(rel);
    }
  }
};
walk(dir);
if (bad.length) {
  console.error(`check_deploy: ${dir} must hold only the page's files; remove: ${bad.join(', ')} (or rebuild into a clean folder)`);
  process.exit(1);
}
