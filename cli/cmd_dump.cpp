// advx dump: the engine's logits and input gradients on the first N test images, as safetensors,
// for independent checks (tests/reference/check_torch.py compares them with PyTorch's).
#include <cstdio>
#include <utility>

#include "cli/command.h"
#include "engine/data/dataset.h"
#include "engine/io/model_io.h"
#include "engine/io/safetensors.h"

namespace advx::cli {

void setup_dump(Command& c) {
  c.option("model", "a shipped model or a .safetensors file", "NAME|FILE");
  c.option("out", "the safetensors file to write", "FILE");
  c.option("n", "the first N test images (default 1000)", "N");
  c.option("dataset", "test set (default: the model's own, from its metadata; else mnist)", "NAME");
  c.option("data", "the data folder (default $ADVX_DATA, else ../shared/data)", "DIR");
  c.flag("pool-inputs", "also write what each MaxPool2d layer saw (pool_input.<layer index>)");
}

int run_dump(const Command& a) {
  ADVX_REQUIRE(a.has("out"), "dump needs --out FILE (.safetensors)");
  std::map<std::string, std::string> meta;
  Sequential m = load_model(model_path(a.str("model")), &meta);
  const std::string dataset = a.str("dataset", meta.count("advx.dataset") ? meta["advx.dataset"] : "mnist");
  const Dataset test = load_dataset(resolve_data_dir(a.str("data")), dataset, "test");
  const int n = a.integer("n", std::min(1000, test.size()), 1, test.size());
  const Dataset d = test.head(n);
  TensorFile f;
  Tensor dx;
  // dL/dx of the summed cross-entropy of the true labels: each image's gradient is its own loss's.
  f.tensors["logits"] = m.loss_input_gradient(d.images, d.labels, dx);
  f.tensors["input_grad"] = dx;
  if (a.has("pool-inputs")) {
    // What each MaxPool2d layer saw ("pool_input.<layer index>"), by the same layer calls on the same
    // batch as the forward above: the reference check finds the windows whose top two values are
    // a rounding error apart in the engine's own float32 numbers (there the gradient may go to
    // either element). Float rounding in a product depends on where a column falls in Eigen's
    // blocking, so two equal image patches may come out a few ulps apart here and exactly equal in
    // PyTorch.
    Tensor act = d.images, next;
    for (size_t i = 0; i < m.layers.size(); ++i) {
      if (m.layers[i]->kind() == "MaxPool2d") f.tensors["pool_input." + std::to_string(i)] = act;
      m.layers[i]->forward(act, next, false);
      std::swap(act, next);
    }
  }
  f.metadata["advx.arch"] = m.arch;
  f.metadata["n"] = std::to_string(n);
  f.metadata["dataset"] = test.name;
  safetensors_save(f, a.str("out"));
  std::printf("wrote logits %s and input_grad %s to %s\n", shape_str(f.tensors["logits"].shape).c_str(),
              shape_str(dx.shape).c_str(), a.str("out").c_str());
  return 0;
}

}  // namespace advx::cli
