// One local static server for the web benchmark (127.0.0.1, ephemeral port), so every page is
// same-origin and nothing comes from a CDN:
//
//   /web/...          build/web            the playground (SIMD build)
//   /web-nosimd/...   build/web-nosimd     the playground built with -DADVX_WASM_SIMD=OFF (if present)
//   /bench/...        benchmarks/web       the TF.js bench page (tfjs.html, tfjs_bench.js)
//   /tfjs/...         node_modules/@tensorflow/tfjs/dist
//   /tfjs-wasm/...    node_modules/@tensorflow/tfjs-backend-wasm/dist
//   /models/...       assets/models        our safetensors weights (for TF.js when the page's own
//                                          model URL is not known)
//
// Every response is `Cache-Control: no-store` (each fresh page load fetches everything) and carries
// COOP/COEP/CORP headers, so pages are cross-origin isolated: performance.now() then has 5 us
// resolution instead of 100 us (Chromium coarsens it otherwise), which single-call timings need.
// Side effect, stated in the results: TF.js could pick its threaded wasm there, so bench.js sets its
// threads flag explicitly for every TF.js configuration.
'use strict';
const fs = require('fs');
const http = require('http');
const path = require('path');

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm', '.json': 'application/json', '.data': 'application/octet-stream',
  '.safetensors': 'application/octet-stream', '.gz': 'application/octet-stream', '.png': 'image/png',
  '.ttf': 'font/ttf', '.css': 'text/css', '.map': 'application/json', '.ico': 'image/x-icon',
};

// mounts: {'/web/': '/abs/dir', ...}. Returns {server, base, resolve(urlPath) -> file or null, log}.
function start(mounts) {
  const log = [];  // {t, path, status, bytes}
  const prefixes = Object.keys(mounts).sort((a, b) => b.length - a.length);
  function resolve(urlPath) {
    let p;
    try { p = decodeURIComponent(urlPath.split('?')[0].split('#')[0]); } catch (e) { return null; }
    for (const pre of prefixes) {
      if (!p.startsWith(pre)) continue;
      const root = mounts[pre];
      let file = path.normalize(path.join(root, p.slice(pre.length)));
      if (file !== root && !file.startsWith(root + path.sep)) return null;  // no ../ escapes
      try {
        if (fs.statSync(file).isDirectory()) file = path.join(file, 'index.html');
      } catch (e) { return null; }
      return fs.existsSync(file) ? file : null;
    }
    return null;
  }
  const server = http.createServer((req, res) => {
    const headers = {
      'Cache-Control': 'no-store',
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cross-Origin-Resource-Policy': 'same-origin',
    };
    const file = req.method === 'GET' || req.method === 'HEAD' ? resolve(req.url) : null;
    if (!file) {
      log.push({ t: Date.now(), path: req.url, status: 404, bytes: 0 });
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain' });
      res.end('not found\n');
      return;
    }
    const size = fs.statSync(file).size;
    log.push({ t: Date.now(), path: req.url, status: 200, bytes: size });
    res.writeHead(200, { ...headers, 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream',
                         'Content-Length': size });
    if (req.method === 'HEAD') { res.end(); return; }
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolveP, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const base = `http://127.0.0.1:${server.address().port}`;
      resolveP({ server, base, resolve, log, close: () => new Promise((r) => server.close(r)) });
    });
  });
}

module.exports = { start };
