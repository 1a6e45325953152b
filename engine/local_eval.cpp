// Exact local evaluation of few-pixel candidates (engine/local_eval.h): the math and the layout.
//
// Notation: a_0 is the input, a_{i+1} = layer_i(a_i). For a candidate c of base image b, its
// change at activation l is D_l = a_l(c) - a_l(b), zero outside a few positions. The base's
// activations are computed once (one forward pass of the B base images, not counted as queries by
// the attack: they are not candidates). Per candidate, layer by layer (ours, not Su et al.'s: they
// run a forward pass per candidate; the same logits up to float summation order):
//
//   input      D_0[p] = v_p - a_0(b)[p] for each written pixel p (in order: the last write wins)
//   Conv2d     D_out = W * D_in (the convolution is linear: the bias cancels), scattered from
//              each changed input position q: the outputs whose window holds q are those at
//              kernel offsets ki = ry, ry + s, ... (ry = (y_q + p) mod s; likewise kj), so
//              u = sum over q's nonzero channels ic of D_in[q][ic] W[:, ic, those offsets] is
//              one product with rows of taps(ry) * taps(rx) * C_out values, and each of those
//              outputs gets its C_out values of u added. A changed pixel reaches ceil(k / s)^2
//              outputs per layer (2 x 2 for `small`'s 4 x 4 stride-2 kernels, 5 x 5 for a 5 x 5
//              stride-1 kernel).
//   f elementwise (ReLU, Sigmoid, Dropout at inference; Layer::elementwise)
//              D_out = f(a_in(b) + D_in) - a_out(b) at the changed positions
//   MaxPool2d  every output whose window holds a changed position is recomputed:
//              D_out = max over the window of (a_in(b) + D_in) - a_out(b)
//   Flatten    nothing: the change keeps its positions (a flat index is c * H * W + y * W + x)
//   Linear     the first one (after Flatten) ends the local part: its output is dense,
//              z(c) = z(b) + W[:, changed] D_in   (only the columns of W of D's nonzero entries)
// and the rest of the network runs densely on the batch of candidates, through the layers' own
// forward (small: fc2 on 100 features). A layer of any other kind ends the local part before it:
// its input a_l(c) = a_l(b) + D_l is materialised for every candidate and the rest runs densely, so
// every Sequential gets exact results, the gain shrinking with the layers left local. Exact means
// the same real-number result; the float sums run in another order (and a_l(b) + D_l may differ
// from a_l(c) in the last bit), so the logits agree to about 1e-6 of their size
// (tests/unit/test_local_eval.cpp).
//
// Layout: within the local part an activation [C, H, W] is kept position-major (HWC: position
// y * W + x, then its C channels), base and change alike, so the C values of a position are
// contiguous: the products above run over long contiguous rows (a Conv2d's W rearranged per
// residue class as [ic][a][b][oc], the first Linear's W^T with rows in the order position * C + c),
// four rows per pass (add_rows). Each thread has its own scratch per activation: the change (dense,
// [H * W * C]), the list of positions changed and a stamp per position (the candidate that last
// touched it; a first touch writes the position's values, later ones add), so a candidate starts
// with no clearing and no allocation. Candidates are independent: the batch is split over the
// threads (engine/parallel.h), and when the dense layers are Linear or elementwise only (every
// shipped model) each thread also runs them on its own rows: one parallel region per call.
#include "engine/local_eval.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "engine/error.h"
#include "engine/layers/layers.h"
#include "engine/model.h"
#include "engine/parallel.h"

namespace advx {
namespace {

// y[0, n) += sum over t < k of v[t] w[row[t] * n, row[t] * n + n): a change's few nonzero values
// times their rows of a weight matrix, four rows per pass over y (one load and store of y per four
// multiply-adds; the loops are vectorised by the compiler: AVX2 natively, SIMD128 in the browser).
inline void add_rows(float* __restrict y, const float* __restrict w, const int* row, const float* v, int k, int n) {
  int t = 0;
  for (; t + 4 <= k; t += 4) {
    const float *w0 = w + static_cast<std::int64_t>(row[t]) * n, *w1 = w + static_cast<std::int64_t>(row[t + 1]) * n,
                *w2 = w + static_cast<std::int64_t>(row[t + 2]) * n,
                *w3 = w + static_cast<std::int64_t>(row[t + 3]) * n;
    const float a0 = v[t], a1 = v[t + 1], a2 = v[t + 2], a3 = v[t + 3];
    for (int i = 0; i < n; ++i) y[i] += (a0 * w0[i] + a1 * w1[i]) + (a2 * w2[i] + a3 * w3[i]);
  }
  for (; t < k; ++t) {
    const float* wt = w + static_cast<std::int64_t>(row[t]) * n;
    const float a = v[t];
    for (int i = 0; i < n; ++i) y[i] += a * wt[i];
  }
}

// The nonzero values of d[0, c): their indices into nz, values into nzv; returns how many.
inline int nonzeros(const float* d, int c, int* nz, float* nzv) {
  int k = 0;
  for (int i = 0; i < c; ++i)
    if (d[i] != 0.0f) nz[k] = i, nzv[k++] = d[i];
  return k;
}

void check_edits(const PixelEdits& e, int bases, int plane, int channels) {
  ADVX_REQUIRE(e.rows >= 0 && e.writes >= 0, "pixel edits: rows and writes must be >= 0, got " +
                                                 std::to_string(e.rows) + " and " + std::to_string(e.writes));
  if (e.rows == 0) return;
  ADVX_REQUIRE(e.base && (e.writes == 0 || (e.pixel && e.value)), "pixel edits: missing arrays");
  for (int r = 0; r < e.rows; ++r)
    ADVX_REQUIRE(e.base[r] >= 0 && e.base[r] < bases, "pixel edits: candidate " + std::to_string(r) +
                                                          " starts from base image " + std::to_string(e.base[r]) +
                                                          "; there are " + std::to_string(bases));
  const std::int64_t writes = static_cast<std::int64_t>(e.rows) * e.writes;
  for (std::int64_t i = 0; i < writes; ++i)
    ADVX_REQUIRE(e.pixel[i] >= 0 && e.pixel[i] < plane, "pixel edits: pixel " + std::to_string(e.pixel[i]) +
                                                            " is outside the image (0.." + std::to_string(plane - 1) +
                                                            ")");
  for (std::int64_t i = 0; i < writes * channels; ++i)
    ADVX_REQUIRE(std::isfinite(e.value[i]), "pixel edits: a new pixel value is not finite");
}

// ---- the materialising evaluator: any Classifier -------------------------------------------------

class Materialising : public LocalEvaluator {
 public:
  Materialising(Classifier& m, const Tensor& base) : m_(m), base_(base) {
    ADVX_REQUIRE(m.input_shape().size() == 3,
                 "pixel edits need an image model [C, H, W]; '" + m.name() + "' takes " + shape_str(m.input_shape()));
    check_input(m, base, false);
  }

  const Tensor& logits(const PixelEdits& e) override {
    const int c = base_.dim(1), plane = base_.dim(2) * base_.dim(3);
    check_edits(e, base_.dim(0), plane, c);
    if (e.rows == 0) {
      empty_.resize({0, m_.num_classes()});
      return empty_;
    }
    Shape s = base_.shape;
    s[0] = e.rows;
    batch_.resize(s);  // keeps its capacity: no allocation once the largest batch has been seen
    const std::int64_t per = base_.sample_size();
    // Each row: the base image, then the candidate's writes in order (rows in parallel: memory-bound).
    parallel_rows(e.rows, static_cast<double>(per), [&](int r0, int r1) {
      for (int r = r0; r < r1; ++r) {
        float* img = batch_.ptr() + r * per;
        std::copy_n(base_.ptr() + e.base[r] * per, per, img);
        for (int p = 0; p < e.writes; ++p) {
          const std::int64_t w = static_cast<std::int64_t>(r) * e.writes + p;
          for (int ch = 0; ch < c; ++ch) img[ch * plane + e.pixel[w]] = e.value[w * c + ch];
        }
      }
    });
    return m_.logits(batch_);
  }
  int bases() const override { return base_.dim(0); }
  int local_layers() const override { return 0; }
  std::string describe() const override { return "materialised: a full forward pass per candidate"; }

 private:
  Classifier& m_;
  const Tensor base_;
  Tensor batch_, empty_;
};

// ---- the Sequential's local evaluator --------------------------------------------------------------

struct Grid {  // an activation [C, H, W] of the local part
  int c = 0, h = 0, w = 0;
  int plane() const { return h * w; }
  int size() const { return c * h * w; }
};

enum class Op { Conv, MaxPool, Elementwise, Flatten };

// The outputs o in [0, n) whose window [o s - p, o s - p + k) holds input coordinate v: [lo, hi).
struct Range {
  int lo, hi;
};
inline Range reach(int v, int k, int s, int p, int n) {
  const int a = v + p - k + 1;  // o s >= a
  const int lo = a <= 0 ? 0 : (a + s - 1) / s;
  const int hi = std::min(n, (v + p) / s + 1);
  return {lo, std::max(lo, hi)};
}

struct Step {
  Op op;
  std::string kind;
  int in = 0, out = 0;  // slots of its input and output (Flatten: the same)
  int k = 0, s = 0, p = 0;
  // Conv2d: the kernel offsets ki with (ki mod s) = r, for each residue r, are taps[r] in number
  // (ki = r, r + s, ...); w[ry * s + rx] is W restricted to the offsets of residues (ry, rx), as
  // [ic][a][b][oc] for ki = ry + a s, kj = rx + b s (see conv()).
  std::vector<int> taps;
  std::vector<FloatVec> w;
  // Per input coordinate v (tables: no integer division per use): Conv2d: residue[v] = (v + p) mod s
  // and top[v] = floor((v + p) / s), the last output whose window holds v (before clipping to the
  // output); MaxPool2d: the outputs whose window holds row v (reach_y) or column v (reach_x).
  std::vector<int> residue, top;
  std::vector<Range> reach_y, reach_x;
  Layer::ElementwiseFn fn = nullptr;
};

// One candidate's change of one activation (a slot), in one thread's scratch.
struct Change {
  FloatVec delta;                    // [H * W * C], position-major; valid at `touched` positions only
  std::vector<std::uint32_t> stamp;  // per position: the stamp of the candidate that last touched it
  std::vector<int> touched;          // positions changed by this candidate, in first-touch order
};

struct Scratch {
  std::vector<Change> slots;
  FloatVec a, b;        // elementwise inputs and outputs; a max-pool output's maxima
  std::vector<int> nz;  // nonzero entries of a change (indices, values)
  FloatVec nzv;
  FloatVec u;                // a Conv2d's contributions of one input position
  std::vector<Tensor> tail;  // the dense layers' activations of this thread's rows (fused tail)
  std::uint32_t stamp = 0;
};

// Marks position `pos` of a change as changed by the candidate with stamp `st`, listing it on the
// first touch. Returns true on the first touch: the position's values are then stale (a previous
// candidate's), and the caller writes all of them rather than adding to them.
inline bool touch(Change& c, int pos, std::uint32_t st) {
  if (c.stamp[static_cast<size_t>(pos)] == st) return false;
  c.stamp[static_cast<size_t>(pos)] = st;
  c.touched.push_back(pos);
  return true;
}

class SequentialLocal : public LocalEvaluator {
 public:
  // The plan: which layers take the change, their weights rearranged. load() adds the base images.
  explicit SequentialLocal(Sequential& m) : m_(m) {
    const Shape& in = m.input_shape();
    grids_.push_back({in[0], in[1], in[2]});
    act_of_slot_.push_back(0);
    bool flat = false;
    size_t i = 0;
    const size_t n = m.layers.size();
    for (; i < n; ++i) {
      Layer& l = *m.layers[i];
      const Grid g = grids_[static_cast<size_t>(slot_)];
      Step st;
      st.kind = l.kind();
      st.in = slot_;
      if (auto* cv = dynamic_cast<Conv2d*>(&l); cv && !flat) {
        st.op = Op::Conv, st.k = cv->kernel, st.s = cv->stride, st.p = cv->padding;
        const int ic = cv->in_ch, oc = cv->out_ch, k = cv->kernel, str = cv->stride;
        st.taps.assign(static_cast<size_t>(str), 0);
        for (int t = 0; t < k; ++t) ++st.taps[static_cast<size_t>(t % str)];
        for (int ry = 0; ry < str; ++ry)
          for (int rx = 0; rx < str; ++rx) {
            const int na = st.taps[static_cast<size_t>(ry)], nb = st.taps[static_cast<size_t>(rx)];
            FloatVec w(static_cast<size_t>(ic) * na * nb * oc);
            for (int c = 0; c < ic; ++c)
              for (int a = 0; a < na; ++a)
                for (int b = 0; b < nb; ++b)
                  for (int o = 0; o < oc; ++o)
                    w[static_cast<size_t>(((c * na + a) * nb + b) * oc + o)] =
                        cv->weight.data[static_cast<size_t>(((o * ic + c) * k + ry + a * str) * k + rx + b * str)];
            st.w.push_back(std::move(w));
          }
        for (int v = 0; v < std::max(g.h, g.w); ++v)
          st.residue.push_back((v + st.p) % str), st.top.push_back((v + st.p) / str);
      } else if (auto* mp = dynamic_cast<MaxPool2d*>(&l); mp && !flat) {
        st.op = Op::MaxPool, st.k = mp->kernel, st.s = mp->stride;
        const Shape o = mp->output_shape({g.c, g.h, g.w});
        for (int v = 0; v < g.h; ++v) st.reach_y.push_back(reach(v, st.k, st.s, 0, o[1]));
        for (int v = 0; v < g.w; ++v) st.reach_x.push_back(reach(v, st.k, st.s, 0, o[2]));
      } else if (Layer::ElementwiseFn fn = l.elementwise()) {
        st.op = Op::Elementwise, st.fn = fn;
      } else if (dynamic_cast<Flatten*>(&l)) {
        st.op = Op::Flatten;
      } else {
        break;
      }
      if (st.op == Op::Flatten) {
        flat = true;
        st.out = slot_;  // the same change, read through flat indices c * H * W + position
      } else {
        Grid o = g;
        if (st.op != Op::Elementwise) {
          const Shape s = l.output_shape({g.c, g.h, g.w});
          o = {s[0], s[1], s[2]};
        }
        grids_.push_back(o);
        act_of_slot_.push_back(static_cast<int>(i) + 1);
        st.out = slot_ = static_cast<int>(grids_.size()) - 1;
      }
      steps_.push_back(std::move(st));
    }
    local_end_ = i;
    const Grid g = grids_[static_cast<size_t>(slot_)];
    if (i < n && flat)
      if (auto* lin = dynamic_cast<Linear*>(m.layers[i].get())) {
        // W^T in the local part's order: row (position * C + c) = W[:, c * H * W + position].
        ADVX_REQUIRE(lin->in_features == g.size(), "model '" + m.arch + "': Linear(" +
                                                       std::to_string(lin->in_features) +
                                                       ", ...) after an activation of " + std::to_string(g.size()));
        linear_ = true;
        lin_out_ = lin->out_features;
        const int plane = g.plane();
        lin_w_.resize(static_cast<size_t>(g.size()) * lin_out_);
        for (int o = 0; o < lin_out_; ++o)
          for (int c = 0; c < g.c; ++c)
            for (int q = 0; q < plane; ++q)
              lin_w_[static_cast<size_t>((q * g.c + c)) * lin_out_ + o] =
                  lin->weight.data[static_cast<size_t>(o) * g.size() + c * plane + q];
      }
    dense_from_ = local_end_ + (linear_ ? 1 : 0);
    Shape per = m.input_shape();
    for (size_t l = 0; l < dense_from_; ++l) per = m.layers[l]->output_shape(per);
    dense_shape_ = per;
    dense_per_ = shape_size(per);
    for (size_t l = dense_from_; l < n; ++l) per = m.layers[l]->output_shape(per);
    ADVX_REQUIRE(shape_size(per) == m.num_classes(), "model '" + m.arch + "' ends in " + shape_str(per) + ", not its " +
                                                         std::to_string(m.num_classes()) + " classes");
    tail_.resize(m.layers.size() - dense_from_ + 1);
    // The dense layers can run in each thread on its own rows when none keeps state in forward:
    // Linear (its product splits no further inside a parallel region) and elementwise layers.
    fused_tail_ = true;
    for (size_t l = dense_from_; l < n; ++l)
      if (!m.layers[l]->elementwise() && !dynamic_cast<Linear*>(m.layers[l].get())) fused_tail_ = false;
    for (const Grid& gs : grids_) {
      row_.emplace_back(), col_.emplace_back();
      for (int q = 0; q < gs.plane(); ++q) row_.back().push_back(q / gs.w), col_.back().push_back(q % gs.w);
    }
  }

  // The base images' activations (one forward pass of them): the local part's position-major, the
  // first dense one as it is.
  void load(const Tensor& base) {
    Sequential& m = m_;
    bases_ = base.dim(0);
    base_.resize(grids_.size());
    for (size_t s = 0; s < grids_.size(); ++s) base_[s].resize(static_cast<size_t>(bases_) * grids_[s].size());
    base_dense_.resize(static_cast<size_t>(bases_ * dense_per_));
    const int chunk = 256;  // bounds the memory of the one forward pass over the bases
    for (int b0 = 0; b0 < bases_; b0 += chunk) {
      const int nb = std::min(chunk, bases_ - b0);
      m.forward(base.slice(b0, nb));
      for (size_t s = 0; s < grids_.size(); ++s) {
        const Grid& gs = grids_[s];
        const Tensor& a = m.activation(static_cast<size_t>(act_of_slot_[s]));
        for (int b = 0; b < nb; ++b) {
          const float* src = a.ptr() + static_cast<std::int64_t>(b) * gs.size();
          float* dst = base_[s].data() + static_cast<std::int64_t>(b0 + b) * gs.size();
          for (int c = 0; c < gs.c; ++c)
            for (int q = 0; q < gs.plane(); ++q) dst[q * gs.c + c] = src[c * gs.plane() + q];
        }
      }
      const Tensor& d = m.activation(dense_from_);
      std::copy_n(d.ptr(), static_cast<std::int64_t>(nb) * dense_per_, base_dense_.data() + b0 * dense_per_);
    }
  }

  int bases() const override { return bases_; }
  int local_layers() const override { return static_cast<int>(dense_from_); }
  std::string describe() const override {
    std::string s = "local:";
    for (const Step& st : steps_) s += " " + st.kind;
    if (linear_) s += " Linear (base + W[:, changed] change)";
    s += "; dense:";
    if (dense_from_ == m_.layers.size()) s += " (none)";
    for (size_t l = dense_from_; l < m_.layers.size(); ++l) s += " " + m_.layers[l]->kind();
    return s;
  }

  // Tensors keep their capacity (Tensor::resize): once the largest batch has been seen, a call
  // allocates nothing.
  const Tensor& logits(const PixelEdits& e) override {
    const Grid& g0 = grids_[0];
    check_edits(e, bases_, g0.plane(), g0.c);
    const auto threads = static_cast<size_t>(max_threads());
    if (scratch_.size() < threads) scratch_.resize(threads);
    if (fused_tail_) {
      // Each thread runs its block of candidates through the local part and the dense layers:
      // one parallel region per call (each is a wait for both cores on a busy machine).
      out_.resize({e.rows, m_.num_classes()});
      parallel_rows(
          e.rows, 2e4,
          [&](int r0, int r1) {
            Scratch& sc = scratch_[static_cast<size_t>(thread_id())];
            prepare(sc);
            sc.tail.resize(tail_.size());
            sc.tail[0].resize(with_rows(r1 - r0));
            for (int r = r0; r < r1; ++r) candidate(e, r, sc, sc.tail[0].ptr() + (r - r0) * dense_per_);
            dense(sc.tail);
            std::copy_n(sc.tail.back().ptr(), sc.tail.back().size(), out_.ptr() + r0 * out_.sample_size());
          },
          1 << 16);
      return out_;
    }
    tail_[0].resize(with_rows(e.rows));
    parallel_rows(
        e.rows, 2e4,
        [&](int r0, int r1) {
          Scratch& sc = scratch_[static_cast<size_t>(thread_id())];
          prepare(sc);
          for (int r = r0; r < r1; ++r) candidate(e, r, sc, tail_[0].ptr() + r * dense_per_);
        },
        1 << 16);
    dense(tail_);
    return tail_.back();
  }

 private:
  Shape with_rows(int rows) const {
    Shape s = dense_shape_;
    s.insert(s.begin(), rows);
    return s;
  }

  // The dense layers on t[0] (activation dense_from_ of a batch): t[i + 1] = layer dense_from_ + i (t[i]).
  void dense(std::vector<Tensor>& t) const {
    for (size_t l = dense_from_; l < m_.layers.size(); ++l) {
      Tensor &x = t[l - dense_from_], &y = t[l - dense_from_ + 1];
      if (Layer::ElementwiseFn fn = m_.layers[l]->elementwise()) {  // stateless: also from several threads
        y.resize(x.shape);
        fn(x.ptr(), y.ptr(), x.size());
      } else {
        m_.layers[l]->forward(x, y, false);
      }
    }
  }

  // Sizes a thread's scratch on its first use (the only allocation).
  void prepare(Scratch& sc) const {
    if (sc.slots.size() == grids_.size()) return;
    sc.slots.resize(grids_.size());
    size_t most = 0;
    for (size_t s = 0; s < grids_.size(); ++s) {
      const Grid& g = grids_[s];
      sc.slots[s].delta.assign(static_cast<size_t>(g.size()), 0.0f);
      sc.slots[s].stamp.assign(static_cast<size_t>(g.plane()), 0);
      sc.slots[s].touched.reserve(static_cast<size_t>(g.plane()));
      most = std::max(most, static_cast<size_t>(g.size()));
    }
    sc.a.assign(most, 0.0f);
    sc.b.assign(most, 0.0f);
    sc.nz.assign(most, 0);
    sc.nzv.assign(most, 0.0f);
    size_t conv_out = 0;
    for (const Step& st : steps_)
      if (st.op == Op::Conv)
        conv_out = std::max(conv_out, static_cast<size_t>(st.k * st.k * grids_[static_cast<size_t>(st.out)].c));
    sc.u.assign(conv_out, 0.0f);
    sc.stamp = 0;
  }

  const float* base_of(int slot, int b) const {
    return base_[static_cast<size_t>(slot)].data() +
           static_cast<std::int64_t>(b) * grids_[static_cast<size_t>(slot)].size();
  }

  // Candidate r: its change through the local part, then row `out` of the first dense activation.
  void candidate(const PixelEdits& e, int r, Scratch& sc, float* out) const {
    if (++sc.stamp == 0) {  // the stamps wrapped around (after 2^32 candidates): start afresh
      for (Change& c : sc.slots) std::fill(c.stamp.begin(), c.stamp.end(), 0u);
      sc.stamp = 1;
    }
    const std::uint32_t st = sc.stamp;
    for (Change& c : sc.slots) c.touched.clear();
    const int b = e.base[r], ch = grids_[0].c;
    const float* base0 = base_of(0, b);
    for (int p = 0; p < e.writes; ++p) {
      const std::int64_t w = static_cast<std::int64_t>(r) * e.writes + p;
      const int pos = e.pixel[w];
      touch(sc.slots[0], pos, st);
      float* d = sc.slots[0].delta.data() + static_cast<std::int64_t>(pos) * ch;
      for (int c = 0; c < ch; ++c) d[c] = e.value[w * ch + c] - base0[pos * ch + c];  // the last write wins
    }
    for (const Step& s : steps_) {
      const Change& a = sc.slots[static_cast<size_t>(s.in)];
      Change& o = sc.slots[static_cast<size_t>(s.out)];
      if (s.op == Op::Conv) conv(s, a, o, sc, st);
      if (s.op == Op::Elementwise) elementwise(s, a, o, sc, st, b);
      if (s.op == Op::MaxPool) maxpool(s, a, o, st, b);
    }
    const Change& a = sc.slots[static_cast<size_t>(slot_)];
    const Grid& g = grids_[static_cast<size_t>(slot_)];
    std::copy_n(base_dense_.data() + b * dense_per_, dense_per_, out);
    if (linear_) {  // z = z(b) + W[:, changed] D: the nonzero entries of D, then one product
      int k = 0;
      for (int pos : a.touched) {
        const int n =
            nonzeros(a.delta.data() + static_cast<std::int64_t>(pos) * g.c, g.c, sc.nz.data() + k, sc.nzv.data() + k);
        for (int t = k; t < k + n; ++t) sc.nz[static_cast<size_t>(t)] += pos * g.c;  // the row of W^T
        k += n;
      }
      add_rows(out, lin_w_.data(), sc.nz.data(), sc.nzv.data(), k, lin_out_);
    } else {  // a(c) = a(b) + D, back in the [C, H, W] layout
      for (int pos : a.touched) {
        const float* d = a.delta.data() + static_cast<std::int64_t>(pos) * g.c;
        for (int c = 0; c < g.c; ++c) out[c * g.plane() + pos] += d[c];
      }
    }
  }

  // For each changed input position q = (y, x): the outputs that read it are those whose window
  // offset (ki, kj) = (y + p - oy s, x + p - ox s) lies in the kernel, i.e. ki = ry, ry + s, ...
  // with ry = (y + p) mod s (likewise kj). First u = sum over q's nonzero channels ic of
  // D[q][ic] W[:, ic, ki, kj] for all those offsets at once (one product with rows of
  // taps[ry] * taps[rx] * oc values: long vectors even for a few channels), then each output in the
  // map gets its oc values of u added.
  void conv(const Step& s, const Change& a, Change& o, Scratch& sc, std::uint32_t st) const {
    const Grid &gi = grids_[static_cast<size_t>(s.in)], &go = grids_[static_cast<size_t>(s.out)];
    const int ic = gi.c, oc = go.c;
    float* u = sc.u.data();
    for (int pos : a.touched) {
      const int nnz = nonzeros(a.delta.data() + static_cast<std::int64_t>(pos) * ic, ic, sc.nz.data(), sc.nzv.data());
      if (nnz == 0) continue;
      const int y = row_[static_cast<size_t>(s.in)][static_cast<size_t>(pos)],
                x = col_[static_cast<size_t>(s.in)][static_cast<size_t>(pos)];
      const int ry = s.residue[static_cast<size_t>(y)], rx = s.residue[static_cast<size_t>(x)];
      const int na = s.taps[static_cast<size_t>(ry)], nb = s.taps[static_cast<size_t>(rx)], len = na * nb * oc;
      std::fill_n(u, len, 0.0f);
      add_rows(u, s.w[static_cast<size_t>(ry * s.s + rx)].data(), sc.nz.data(), sc.nzv.data(), nnz, len);
      const int oy0 = s.top[static_cast<size_t>(y)], ox0 = s.top[static_cast<size_t>(x)];
      for (int ta = 0; ta < na; ++ta) {
        const int oy = oy0 - ta;  // the output whose window holds y at offset ki = ry + ta s
        if (oy < 0 || oy >= go.h) continue;
        for (int tb = 0; tb < nb; ++tb) {
          const int ox = ox0 - tb;
          if (ox < 0 || ox >= go.w) continue;
          const int opos = oy * go.w + ox;
          float* __restrict acc = o.delta.data() + static_cast<std::int64_t>(opos) * oc;
          const float* __restrict ut = u + (ta * nb + tb) * oc;
          if (touch(o, opos, st))
            std::copy_n(ut, oc, acc);
          else
            for (int t = 0; t < oc; ++t) acc[t] += ut[t];
        }
      }
    }
  }

  void elementwise(const Step& s, const Change& a, Change& o, Scratch& sc, std::uint32_t st, int b) const {
    const int ch = grids_[static_cast<size_t>(s.in)].c;
    const float *bin = base_of(s.in, b), *bout = base_of(s.out, b);
    std::int64_t n = 0;
    for (int pos : a.touched) {
      const std::int64_t q = static_cast<std::int64_t>(pos) * ch;
      for (int c = 0; c < ch; ++c) sc.a[static_cast<size_t>(n++)] = bin[q + c] + a.delta[static_cast<size_t>(q + c)];
    }
    s.fn(sc.a.data(), sc.b.data(), n);
    n = 0;
    for (int pos : a.touched) {
      const std::int64_t q = static_cast<std::int64_t>(pos) * ch;
      touch(o, pos, st);
      float* d = o.delta.data() + q;
      for (int c = 0; c < ch; ++c) d[c] = sc.b[static_cast<size_t>(n++)] - bout[q + c];
    }
  }

  void maxpool(const Step& s, const Change& a, Change& o, std::uint32_t st, int b) const {
    const Grid &gi = grids_[static_cast<size_t>(s.in)], &go = grids_[static_cast<size_t>(s.out)];
    const int ch = gi.c;
    for (int pos : a.touched) {  // the outputs whose window holds a changed input
      const float* d = a.delta.data() + static_cast<std::int64_t>(pos) * ch;
      if (std::all_of(d, d + ch, [](float v) { return v == 0.0f; })) continue;
      const Range ry = s.reach_y[static_cast<size_t>(row_[static_cast<size_t>(s.in)][static_cast<size_t>(pos)])],
                  rx = s.reach_x[static_cast<size_t>(col_[static_cast<size_t>(s.in)][static_cast<size_t>(pos)])];
      for (int oy = ry.lo; oy < ry.hi; ++oy)
        for (int ox = rx.lo; ox < rx.hi; ++ox) touch(o, oy * go.w + ox, st);
    }
    const float *bin = base_of(s.in, b), *bout = base_of(s.out, b);
    for (int opos : o.touched) {  // each one's maximum over the changed window, in o's change
      const int oy = row_[static_cast<size_t>(s.out)][static_cast<size_t>(opos)],
                ox = col_[static_cast<size_t>(s.out)][static_cast<size_t>(opos)];
      float* __restrict mx = o.delta.data() + static_cast<std::int64_t>(opos) * ch;
      for (int i = 0; i < s.k; ++i)
        for (int j = 0; j < s.k; ++j) {
          const int ip = (oy * s.s + i) * gi.w + ox * s.s + j;
          const float* __restrict v = bin + static_cast<std::int64_t>(ip) * ch;
          const float* __restrict dv = a.delta.data() + static_cast<std::int64_t>(ip) * ch;
          const bool changed = a.stamp[static_cast<size_t>(ip)] == st, first = i == 0 && j == 0;
          if (changed && first)
            for (int c = 0; c < ch; ++c) mx[c] = v[c] + dv[c];
          else if (changed)
            for (int c = 0; c < ch; ++c) mx[c] = std::max(mx[c], v[c] + dv[c]);
          else if (first)
            for (int c = 0; c < ch; ++c) mx[c] = v[c];
          else
            for (int c = 0; c < ch; ++c) mx[c] = std::max(mx[c], v[c]);
        }
      const float* bo = bout + static_cast<std::int64_t>(opos) * ch;
      for (int c = 0; c < ch; ++c) mx[c] -= bo[c];
    }
  }

  Sequential& m_;
  int bases_ = 0;
  std::vector<Grid> grids_;                  // per slot (an activation of the local part; Flatten adds none)
  std::vector<std::vector<int>> row_, col_;  // per slot: y and x of each position (no division per use)
  std::vector<int> act_of_slot_;             // the activation index (Sequential::activation) of each slot
  std::vector<Step> steps_;
  int slot_ = 0;          // the slot of the local part's last activation
  size_t local_end_ = 0;  // layers [0, local_end_) propagate the change
  bool linear_ = false;   // layer local_end_ is a Linear evaluated on the change
  int lin_out_ = 0;
  FloatVec lin_w_;         // its W^T, rows in the local part's order (position * C + c)
  size_t dense_from_ = 0;  // layers [dense_from_, end) run densely on the batch
  Shape dense_shape_;      // per-sample shape of activation dense_from_
  std::int64_t dense_per_ = 0;
  std::vector<FloatVec> base_;  // per slot: [B][H * W * C] position-major base activations
  FloatVec base_dense_;         // [B][dense_per_]: the base images' activation dense_from_
  std::vector<Tensor> tail_;    // the dense activations of the batch, dense_from_ .. end
  bool fused_tail_ = false;     // each thread runs the dense layers on its rows (into out_)
  Tensor out_;
  std::vector<Scratch> scratch_;  // per thread
};

}  // namespace

std::unique_ptr<LocalEvaluator> make_materialising_evaluator(Classifier& m, const Tensor& base) {
  return std::make_unique<Materialising>(m, base);
}

std::unique_ptr<LocalEvaluator> make_sequential_local_evaluator(Sequential& m, const Tensor& base) {
  if (m.input_shape().size() != 3 || m.layers.empty()) return nullptr;
  check_input(m, base, false);
  auto e = std::make_unique<SequentialLocal>(m);
  if (e->local_layers() == 0) return nullptr;  // nothing to gain: the first layer takes no local change
  e->load(base);
  return e;
}

std::unique_ptr<LocalEvaluator> make_local_evaluator(Classifier& m, const Tensor& base) {
  std::unique_ptr<LocalEvaluator> e = m.local_evaluator(base);
  if (e) return e;
  return make_materialising_evaluator(m, base);
}

}  // namespace advx
