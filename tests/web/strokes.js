// Turns a real MNIST digit into pen strokes, the way a person would trace it: the digit's
// centreline (Zhang-Suen thinning of the inked pixels, on a 2x upsampled image for smoother
// lines) traced into polylines. tests/web/run.js draws them on the playground's canvas with
// page.mouse down/move/up.
'use strict';

// 28x28 grey (0..1) -> S x S (S = 28 * up), bilinear.
function upsample(img, up) {
  const S = 28 * up, out = new Float32Array(S * S);
  const at = (x, y) => (x < 0 || y < 0 || x > 27 || y > 27 ? 0 : img[y * 28 + x]);
  for (let y = 0; y < S; ++y) {
    for (let x = 0; x < S; ++x) {
      const fx = (x + 0.5) / up - 0.5, fy = (y + 0.5) / up - 0.5;
      const x0 = Math.floor(fx), y0 = Math.floor(fy), ax = fx - x0, ay = fy - y0;
      out[y * S + x] = (1 - ay) * ((1 - ax) * at(x0, y0) + ax * at(x0 + 1, y0)) +
                       ay * ((1 - ax) * at(x0, y0 + 1) + ax * at(x0 + 1, y0 + 1));
    }
  }
  return out;
}

// Zhang & Suen (1984) thinning of a binary S x S image (Uint8Array, 1 = ink), in place.
function thin(b, S) {
  const get = (x, y) => (x < 0 || y < 0 || x >= S || y >= S ? 0 : b[y * S + x]);
  let changed = true;
  while (changed) {
    changed = false;
    for (let pass = 0; pass < 2; ++pass) {
      const del = [];
      for (let y = 0; y < S; ++y) {
        for (let x = 0; x < S; ++x) {
          if (!b[y * S + x]) continue;
          // P2..P9: N, NE, E, SE, S, SW, W, NW
          const p = [get(x, y - 1), get(x + 1, y - 1), get(x + 1, y), get(x + 1, y + 1), get(x, y + 1),
                     get(x - 1, y + 1), get(x - 1, y), get(x - 1, y - 1)];
          const n = p.reduce((a, v) => a + v, 0);
          if (n < 2 || n > 6) continue;
          let transitions = 0;
          for (let i = 0; i < 8; ++i) if (!p[i] && p[(i + 1) % 8]) ++transitions;
          if (transitions !== 1) continue;
          const [p2, , p4, , p6, , p8] = p;
          if (pass === 0 ? (p2 && p4 && p6) || (p4 && p6 && p8) : (p2 && p4 && p8) || (p2 && p6 && p8)) continue;
          del.push(y * S + x);
        }
      }
      for (const i of del) b[i] = 0;
      if (del.length) changed = true;
    }
  }
}

// Skeleton pixels -> polylines (8-connected), each edge drawn once, going straight on at junctions.
function trace(b, S) {
  const on = (x, y) => x >= 0 && y >= 0 && x < S && y < S && b[y * S + x] === 1;
  const nbrs = (x, y) => {
    const r = [];
    for (let dy = -1; dy <= 1; ++dy)
      for (let dx = -1; dx <= 1; ++dx)
        if ((dx || dy) && on(x + dx, y + dy)) r.push([x + dx, y + dy]);
    return r;
  };
  const key = (a, c) => (a[1] * S + a[0] < c[1] * S + c[0] ? `${a}|${c}` : `${c}|${a}`);
  const used = new Set(), seen = new Set(), paths = [];
  const pixels = [];
  for (let y = 0; y < S; ++y) for (let x = 0; x < S; ++x) if (on(x, y)) pixels.push([x, y]);
  // Endpoints first, then junctions, then whatever is left (loops such as a 0).
  const deg = (p) => nbrs(p[0], p[1]).length;
  const order = [...pixels.filter((p) => deg(p) === 1), ...pixels.filter((p) => deg(p) >= 3), ...pixels];
  for (const start of order) {
    for (;;) {
      const next = nbrs(start[0], start[1]).find((q) => !used.has(key(start, q)));
      if (!next) break;
      const path = [start];
      let cur = start, nxt = next;
      for (;;) {
        used.add(key(cur, nxt));
        seen.add(`${cur}`).add(`${nxt}`);
        path.push(nxt);
        const dir = [nxt[0] - cur[0], nxt[1] - cur[1]];
        cur = nxt;
        const cand = nbrs(cur[0], cur[1]).filter((q) => !used.has(key(cur, q)));
        if (!cand.length) break;
        // The straightest continuation.
        cand.sort((a, c) => (c[0] - cur[0]) * dir[0] + (c[1] - cur[1]) * dir[1] -
                            ((a[0] - cur[0]) * dir[0] + (a[1] - cur[1]) * dir[1]));
        nxt = cand[0];
      }
      paths.push(path);
    }
    if (!seen.has(`${start}`)) {  // an isolated dot
      seen.add(`${start}`);
      paths.push([start]);
    }
  }
  return paths;
}

function segDist([px, py], [ax, ay], [bx, by]) {
  const dx = bx - ax, dy = by - ay, l2 = dx * dx + dy * dy;
  const t = l2 > 0 ? Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / l2)) : 0;
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
}

function simplify(pts, tol) {
  if (pts.length <= 2) return pts;
  const [ax, ay] = pts[0], [bx, by] = pts[pts.length - 1];
  const dx = bx - ax, dy = by - ay, len = Math.hypot(dx, dy);
  let worst = -1, at = 0;
  for (let i = 1; i < pts.length - 1; ++i) {
    const [px, py] = pts[i];
    const d = len > 0 ? Math.abs(dy * (px - ax) - dx * (py - ay)) / len : Math.hypot(px - ax, py - ay);
    if (d > worst) (worst = d), (at = i);
  }
  if (worst <= tol) return [pts[0], pts[pts.length - 1]];
  return [...simplify(pts.slice(0, at + 1), tol).slice(0, -1), ...simplify(pts.slice(at), tol)];
}

// A 28x28 digit (values 0..1) -> strokes: arrays of [x, y] in MNIST pixel units (0..28), plus the
// digit's mean stroke width (ink area / centreline length), in MNIST pixels.
function digitStrokes(img, { up = 2, threshold = 0.4, tolerance = 0.5 } = {}) {
  const S = 28 * up, big = upsample(img, up), b = new Uint8Array(S * S);
  let ink = 0;
  for (let i = 0; i < S * S; ++i) if (big[i] > threshold) (b[i] = 1), ++ink;
  thin(b, S);
  let length = 0;
  for (let i = 0; i < S * S; ++i) length += b[i];
  // Drop the 2-pixel strokes that only retrace corners of longer ones (thinning leaves small
  // triangles at diagonal steps).
  const paths = trace(b, S), covered = new Set();
  for (const p of paths) if (p.length > 2) for (const q of p) covered.add(`${q}`);
  const kept = paths.filter((p) => p.length > 2 || !p.every((q) => covered.has(`${q}`)));
  // The brush joins successive points with straight capsules: keep the points a straight line
  // would miss by more than `tolerance` MNIST pixels (Ramer-Douglas-Peucker).
  const all = kept.map((path) => simplify(path.map(([x, y]) => [(x + 0.5) / up, (y + 0.5) / up]), tolerance));
  // Short spurs (< 1.5 px) lying within the brush's reach of a longer stroke add nothing.
  const strokeLength = (st) => st.slice(1).reduce((a, q, i) => a + Math.hypot(q[0] - st[i][0], q[1] - st[i][1]), 0);
  const long = all.filter((st) => strokeLength(st) >= 1.5);
  const near = (q) => long.some((st) => st.some((r, i) => i > 0 && segDist(q, st[i - 1], r) <= 1.0));
  const strokes = [...long, ...all.filter((st) => strokeLength(st) < 1.5 && !st.every(near))];
  return { strokes, width: length ? ink / length / up : 0 };
}

module.exports = { digitStrokes };
