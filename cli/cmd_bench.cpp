// advx bench: engine throughput next to the raw Eigen GEMM rate measured in the same run.
#include <algorithm>
#include <chrono>
#include <cstdio>

#include "cli/command.h"
#include "engine/kernels/eigen_gemm.h"
#include "engine/models.h"
#include "engine/parallel.h"
#include "engine/rng.h"
#include "engine/timing.h"

namespace advx::cli {

void setup_bench(Command& c) {
  c.flag("json", "one JSON object instead of a table");
  c.option("reps", "timing repetitions, best kept (default 3)", "R");
}

int run_bench(const Command& a) {
  const int reps = a.integer("reps", 3, 1, 100);
  const bool json = a.has("json");
  std::vector<std::pair<std::string, double>> out;
  // Eigen GEMM reference (the engine's one Eigen product, kernels/eigen_gemm.h): 1024^3
  // single-precision product, 2 flops per multiply-add, on every thread (row blocks, as the engine's
  // layers split their work).
  {
    const int s = 1024;
    MatR A = MatR::Random(s, s), B = MatR::Random(s, s), C(s, s);
    const double t = time_per_call(
        [&] {
          parallel_rows(s, static_cast<double>(s) * s, [&](int r0, int r1) {
            kernels::matmul(kernels::N(A.middleRows(r0, r1 - r0)), kernels::N(B), C.middleRows(r0, r1 - r0));
          });
        },
        reps);
    out.emplace_back("gemm_gflops", 2.0 * s * s * s / t / 1e9);
  }
  Rng rng(7);
  for (const std::string arch : {"cnn", "small"}) {
    Sequential m = make_model(arch, 1);
    const double flops_fwd = 2.0 * m.macs_per_sample();
    for (int b : {1, 64, 256}) {
      Shape shape = m.input_shape();
      shape.insert(shape.begin(), b);
      Tensor x(shape);
      for (float& v : x.data) v = rng.uniform();
      std::vector<int> y(static_cast<size_t>(b));
      for (int& l : y) l = static_cast<int>(rng.below(10));
      Tensor dx;
      const double tf = time_per_call([&] { m.forward(x); }, reps);
      const double tg = time_per_call([&] { m.loss_input_gradient(x, y, dx); }, reps);
      const std::string k = arch + "_b" + std::to_string(b);
      out.emplace_back(k + "_fwd_img_s", b / tf);
      out.emplace_back(k + "_fwdgrad_img_s", b / tg);
      out.emplace_back(k + "_fwd_gflops", flops_fwd * b / tf / 1e9);
      // The input gradient (dL/dx through every layer, no dL/dW) costs about one more forward pass:
      // counted as 2x the forward FLOPs.
      out.emplace_back(k + "_fwdgrad_gflops", 2.0 * flops_fwd * b / tg / 1e9);
    }
  }
  out.emplace_back("threads", max_threads());
  if (json) {
    std::printf("{");
    for (size_t i = 0; i < out.size(); ++i)
      std::printf("%s\"%s\": %.3f", i ? ", " : "", out[i].first.c_str(), out[i].second);
    std::printf("}\n");
  } else {
    for (const auto& kv : out) std::printf("%-28s %12.1f\n", kv.first.c_str(), kv.second);
  }
  return 0;
}

}  // namespace advx::cli
