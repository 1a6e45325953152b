#include "engine/eval/evaluate.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "engine/error.h"

namespace advx {

double accuracy(Sequential& m, const Tensor& images, const std::vector<int>& labels, int batch) {
  const int n = images.dim(0);
  if (n == 0) return 0.0;
  long correct = 0;
  for (int b = 0; b < n; b += batch) {
    const int count = std::min(batch, n - b);
    const std::vector<int> pred = m.predict(images.slice(b, count));
    for (int k = 0; k < count; ++k) correct += pred[static_cast<size_t>(k)] == labels[static_cast<size_t>(b + k)];
  }
  return static_cast<double>(correct) / n;
}

EvalResult evaluate(Sequential& m, const Dataset& d, const std::optional<LinfAttack>& attack, int target, int batch) {
  ADVX_REQUIRE(batch >= 1, "batch must be >= 1");
  ADVX_REQUIRE(target < m.num_classes, "target class " + std::to_string(target) + " is out of range: classes are 0.." +
                                           std::to_string(m.num_classes - 1));
  const auto t0 = std::chrono::steady_clock::now();
  EvalResult r;
  r.n = d.size();
  r.adv = d.images;
  const std::int64_t per = d.images.sample_size();
  long clean_ok = 0, adv_ok = 0, succeeded = 0;
  double linf_sum = 0.0;
  for (int b = 0; b < r.n; b += batch) {
    const int count = std::min(batch, r.n - b);
    const Tensor x = d.images.slice(b, count);
    const std::vector<int> pred = m.predict(x);
    // Attack only what the model gets right (and, targeted, whose label is not the target).
    std::vector<int> idx, ys, ts;
    for (int k = 0; k < count; ++k) {
      const int y = d.labels[static_cast<size_t>(b + k)];
      const bool ok = pred[static_cast<size_t>(k)] == y;
      clean_ok += ok;
      if (ok && attack && y != target) idx.push_back(k), ys.push_back(y), ts.push_back(target);
      if (ok && !(attack && y != target)) ++adv_ok;  // left as it is, still right
    }
    if (idx.empty()) continue;
    Tensor xa({static_cast<int>(idx.size()), x.dim(1), x.dim(2), x.dim(3)});
    for (size_t k = 0; k < idx.size(); ++k)
      std::copy_n(x.ptr() + idx[k] * per, per, xa.ptr() + static_cast<std::int64_t>(k) * per);
    const AttackResult ar = linf_attack(m, xa, ys, target >= 0 ? ts : std::vector<int>{}, *attack);
    r.gradient_calls += ar.gradient_calls;
    r.attacked += static_cast<int>(idx.size());
    for (size_t k = 0; k < idx.size(); ++k) {
      const std::int64_t dst = static_cast<std::int64_t>(b + idx[k]) * per;
      std::copy_n(ar.adv.ptr() + static_cast<std::int64_t>(k) * per, per, r.adv.ptr() + dst);
      succeeded += ar.success[k];
      adv_ok += ar.pred[k] == ys[k];
      double linf = 0.0;
      for (std::int64_t j = 0; j < per; ++j)
        linf = std::max(linf, static_cast<double>(std::fabs(r.adv.data[static_cast<size_t>(dst + j)] -
                                                            d.images.data[static_cast<size_t>(dst + j)])));
      linf_sum += linf;
      r.linf_max = std::max(r.linf_max, linf);
    }
  }
  r.clean_acc = r.n ? static_cast<double>(clean_ok) / r.n : 0.0;
  r.adv_acc = r.n ? static_cast<double>(attack ? adv_ok : clean_ok) / r.n : 0.0;
  r.success_rate = r.attacked ? static_cast<double>(succeeded) / r.attacked : 0.0;
  r.linf_mean = r.n ? linf_sum / r.n : 0.0;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace advx
