// Defence builds in steps (engine/defences/defence.h: DefenceBuild, engine/work.h: BatchedWork): a
// build spread over many small steps, as the playground runs it a slice per frame, gives the very
// defence of one uninterrupted build_defence() call (same features, bandwidth, threshold, logits and
// neighbours, bit for bit), survives "still loading" in the middle, and reuses the context's kept
// features for another k.
#include <catch2/catch.hpp>
#include <cstring>
#include <memory>
#include <string>

#include "engine/defences/defence.h"
#include "engine/detect/detector.h"
#include "engine/error.h"
#include "engine/features.h"
#include "engine/knn.h"
#include "engine/models.h"

using namespace advx;

namespace {

// The disk context with a smaller training split (the first 3,000 MNIST training images), so that
// k-NN's embedding takes many steps but little time; `loading` > 0: that many data() calls throw
// "still loading" first, as the playground's do while a file downloads.
struct SmallTrainContext {
  DefenceContext disk = disk_context("");
  Dataset train;
  int loading = 0;
  SmallTrainContext() {
    const Dataset& all = disk.data("mnist", "train");
    train = all;
    train.images = all.images.slice(0, 3000);
    train.labels.resize(3000);
  }
  DefenceContext context(bool keep) {
    DefenceContext c = disk;
    c.data = [this](const std::string& name, const std::string& split) -> const Dataset& {
      if (loading > 0) {
        --loading;
        throw Error("the " + name + "/" + split + " images are still loading");
      }
      return split == "train" ? train : disk.data(name, split);
    };
    c.kept = keep ? std::make_shared<std::map<std::string, std::shared_ptr<BatchedWork>>>() : nullptr;
    return c;
  }
};

// Steps `b` to the end, retrying a step that throws "still loading"; the number of steps.
int run_steps(DefenceBuild& b) {
  int steps = 0;
  for (bool done = false; !done;) {
    try {
      done = b.step();
    } catch (const Error& e) {
      REQUIRE(std::string(e.what()).find("still loading") != std::string::npos);
    }
    ++steps;
    REQUIRE(steps < 100000);
  }
  return steps;
}

void require_same_logits(Classifier& a, Classifier& b, const Tensor& x) {
  const Tensor za = a.logits(x);
  const Tensor zb = b.logits(x);
  REQUIRE(za.shape == zb.shape);
  REQUIRE(za.data == zb.data);
}

}  // namespace

TEST_CASE("defence builds in steps give the one-call defence bit for bit", "[knn][detect][shipped]") {
  SmallTrainContext sc;
  Sequential base = make_model("small", 3);
  const Tensor x = sc.disk.data("mnist", "validation").images.slice(0, 64);

  SECTION("k-NN over features: the same features, neighbours and votes") {
    const DefenceSpec& spec = get_defence("knn");
    ParamValues p = defaults(spec.params);
    p.set("space", 1);
    p.set("neighbours", 3);
    std::unique_ptr<Classifier> one = build_defence(spec, sc.context(false), base, p, true);
    sc.loading = 1;  // the first stage finds the training images still loading
    std::unique_ptr<DefenceBuild> b = start_defence(spec, sc.context(false), base, p, true);
    const int steps = run_steps(*b);
    // 3,000 images in batches of batch_for(small's 0.61 M MACs) = 26, and a few short steps.
    const int batch = batch_for(base.macs_per_sample());
    REQUIRE(batch == 26);
    REQUIRE(steps >= (3000 + batch - 1) / batch);
    std::unique_ptr<Classifier> sliced = b->result();
    auto& k1 = dynamic_cast<KNearestNeighbours&>(*one);
    auto& k2 = dynamic_cast<KNearestNeighbours&>(*sliced);
    REQUIRE(k1.index().size() == 3000);
    REQUIRE(k2.index().size() == 3000);
    REQUIRE(k1.index().dim() == k2.index().dim());
    REQUIRE(std::memcmp(k1.index().point(0), k2.index().point(0),
                        sizeof(float) * 3000 * static_cast<std::size_t>(k1.index().dim())) == 0);
    require_same_logits(*one, *sliced, x);
    for (int i = 0; i < 64; ++i) {
      const std::vector<Neighbour> a = k1.neighbours(i), c = k2.neighbours(i);
      REQUIRE(a.size() == c.size());
      for (std::size_t t = 0; t < a.size(); ++t) {
        REQUIRE(a[t].index == c[t].index);
        REQUIRE(a[t].distance == c[t].distance);
      }
    }
    // The surrogate's gradient too (it reads the same features).
    Tensor g1, g2, dz(Shape{64, 10}, 0.1f);
    one->logits(x);
    one->input_gradient(dz, g1);
    sliced->logits(x);
    sliced->input_gradient(dz, g2);
    REQUIRE(g1.data == g2.data);
  }

  SECTION("kde and squeeze_detect: the same bandwidth's scores, threshold and scale") {
    for (const char* name : {"kde", "squeeze_detect"}) {
      INFO(name);
      const DefenceSpec& spec = get_defence(name);
      ParamValues p = defaults(spec.params);
      std::unique_ptr<Classifier> one = build_defence(spec, sc.context(false), base, p, true);
      std::unique_ptr<DefenceBuild> b = start_defence(spec, sc.context(false), base, p, true);
      int steps = 0;
      bool saw_threshold = false;
      for (bool done = false; !done; ++steps) {
        done = b->step();
        saw_threshold |= b->progress().rfind("setting the threshold on validation images", 0) == 0;
      }
      REQUIRE(saw_threshold);
      // 1,000 validation images in batches of at most 26 (kde: 2,000 training images before them).
      REQUIRE(steps >= 1000 / 26);
      std::unique_ptr<Classifier> sliced = b->result();
      auto& d1 = dynamic_cast<DetectorDefence&>(*one);
      auto& d2 = dynamic_cast<DetectorDefence&>(*sliced);
      REQUIRE(d1.calibration().n == 1000);
      REQUIRE(d2.calibration().threshold == d1.calibration().threshold);
      REQUIRE(d2.calibration().scale == d1.calibration().scale);
      REQUIRE(d2.calibration().validation_fpr == d1.calibration().validation_fpr);
      std::vector<float> s1, s2;
      d1.scores(x, s1);
      d2.scores(x, s2);
      REQUIRE(s1 == s2);
      require_same_logits(*one, *sliced, x);
    }
  }

  SECTION("the context keeps the features: another k, or a build abandoned half way, continues from them") {
    const DefenceSpec& spec = get_defence("knn");
    ParamValues p = defaults(spec.params);
    p.set("space", 1);
    const DefenceContext ctx = sc.context(true);
    std::unique_ptr<DefenceBuild> first = start_defence(spec, ctx, base, p, true);
    for (int i = 0; i < 20; ++i) first->step();  // then abandoned (the user picked another k)
    REQUIRE(first->progress().rfind("embedding training images ", 0) == 0);
    REQUIRE_THAT(first->progress(), Catch::EndsWith(" of 3,000"));
    first.reset();
    p.set("neighbours", 5);
    std::unique_ptr<DefenceBuild> second = start_defence(spec, ctx, base, p, true);
    const int steps = run_steps(*second);
    REQUIRE(steps < (3000 + 25) / 26);  // fewer than all the batches: 18 of them were done already
    std::unique_ptr<Classifier> k5 = second->result();
    p.set("neighbours", 1);
    std::unique_ptr<DefenceBuild> third = start_defence(spec, ctx, base, p, true);
    // The stages (the training images, the finished features, the norms: one batch of 3,000 rows), then
    // the index: no embedding.
    REQUIRE(run_steps(*third) == 5);
    std::unique_ptr<Classifier> k1 = third->result();
    REQUIRE(dynamic_cast<KNearestNeighbours&>(*k1).index().point(0) ==
            dynamic_cast<KNearestNeighbours&>(*k5).index().point(0));  // one copy of the features
    // And they are the one-call features.
    std::unique_ptr<Classifier> one = build_defence(spec, sc.context(false), base, p, true);
    require_same_logits(*one, *k1, x);
  }

  SECTION("BatchedWork: batches from the cost, progress in words") {
    REQUIRE(batch_for(13.9e6) == 1);    // cnn
    REQUIRE(batch_for(7840.0) == 256);  // softmax
    REQUIRE(batch_for(0.0) == 256);
    FeatureWork w(base, sc.train, 100);
    REQUIRE(w.batch() == 26);
    REQUIRE(w.progress() == "embedding training images 0 of 100");
    REQUIRE(!w.step());
    REQUIRE(w.progress() == "embedding training images 26 of 100");
    w.finish();
    REQUIRE(w.done());
    REQUIRE(w.step());
    REQUIRE(w.features()->shape == (Shape{100, 100}));
    REQUIRE(thousands(60000) == "60,000");
    REQUIRE(thousands(12) == "12");
    REQUIRE(thousands(1234567) == "1,234,567");
  }
}
