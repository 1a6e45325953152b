// The playground's state and actions. Panels (panel_*.cpp) draw it with ImGui and call these
// actions; the JS API (web_api.cpp) calls the same actions. All ML work is done by the engine.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/preprocess.h"
#include "engine/tensor.h"
#include "frontend/canvas.h"
#include "frontend/model_store.h"
#include "frontend/samples.h"
#include "frontend/state.h"

namespace play {

struct Prediction {
  std::vector<float> probs;  // num_classes
  int top = -1;
};

struct AttackView {
  bool valid = false;
  advx::Tensor adv;    // [1, 1, 28, 28]
  advx::Tensor delta;  // adv - input
  Prediction pred;
  int label = -1;  // the class attacked (true label if known, else the clean prediction)
  bool success = false;
  float linf = 0, l2 = 0;
  int l0 = 0;
  double ms = 0;  // engine time of the attack
};

struct RobustnessCurve {
  std::string key;           // model/attack/steps/count it was computed for
  std::vector<float> eps;    // grid
  std::vector<float> acc;    // accuracy per eps (filled progressively)
  std::vector<int> correct;  // per eps, samples done so far
  int count = 100;           // test images used
  int next_eps = 0, next_sample = 0;
  int batch = 2;  // images per engine call, adapted so a frame's slice stays short
  bool done() const { return next_eps >= static_cast<int>(eps.size()); }
  double ms = 0;  // engine time spent so far
};

struct Timing {
  double preprocess_ms = 0, classify_ms = 0, attack_ms = 0, robustness_ms = 0;
};

class App {
 public:
  explicit App(const std::string& asset_dir);

  // ---- state ----
  ViewState state;
  ModelStore models;
  Samples samples;
  Canvas canvas;
  bool exact_input = false;  // input came from a test image / PNG / setInput: no preprocessing
  bool erase = false;
  advx::Tensor input;  // [1, 1, 28, 28] what the model sees (quantised to k/255)
  advx::PreprocessInfo prep;
  Prediction clean;
  int true_label = -1;  // known for test images
  AttackView attack;
  RobustnessCurve robust;
  Timing timing;
  std::string error;       // last error, shown in the UI
  std::string notice;      // last info message (export done, ...)
  int announced_top = -2;  // last prediction announced to screen readers
  int view_version = 0;    // bumps whenever input, prediction or attack change (views re-upload)

  // ---- actions ----
  void set_state(const ViewState& s);          // applies everything (model, input, attack)
  bool apply_query(const std::string& query);  // setState / URL hash; false (and error set) on bad keys
  void canvas_changed();                       // after strokes: re-derive input from the canvas
  void clear_input();
  void load_test_image(int index);
  void random_test_image();
  void set_exact_input(const advx::Tensor& x28);  // any [.., 28, 28] tensor with values in [0, 1]
  bool import_png(const std::vector<std::uint8_t>& bytes, const std::string& name);
  std::vector<std::uint8_t> adversarial_png() const;  // 28x28 grey PNG of the adversarial
  std::vector<std::uint8_t> input_png() const;

  // Recomputes what changed (classification, attack); runs a slice of the robustness curve.
  // Call once per frame. While a stroke is being drawn (`drawing`) only the prediction follows the
  // pen; the attack and the robustness curve wait until the stroke ends.
  void update(bool run_robustness, bool drawing = false);

  // Engine calls on the state's model (throw advx::Error).
  Prediction classify(const advx::Tensor& x);  // x [1, 1, 28, 28]
  // Returns the adversarial; *pred (if not null) gets the model's prediction on it, taken from the
  // attack's own last forward pass (no second forward). With eps <= 0 the adversarial is x and *pred
  // is left alone.
  advx::Tensor run_attack(const advx::Tensor& x, int label, float eps, int target, int steps, const std::string& kind,
                          std::uint64_t seed, double* ms = nullptr, Prediction* pred = nullptr);
  advx::Sequential& model();  // the state's model; throws advx::Error if unknown, loading or broken
  const ModelEntry* model_entry() const { return models.find(state.model); }  // nullptr if unknown
  ModelStatus model_status() const;  // of the state's model (kError if unknown)

  std::string hash() const;                                       // encode_query(state)
  bool pending() const { return input_dirty_ || attack_dirty_; }  // results not computed yet (model loading)
  bool hidden(const std::string& panel) const { return state.hide.count(panel) > 0; }

 private:
  void input_changed();
  void attack_changed() { attack_dirty_ = shown_dirty_ = true; }
  void update_image_state();  // keep state.image / test_index in sync with the input
  void models_changed();      // a model finished loading or failed
  bool input_dirty_ = true, attack_dirty_ = true;
  bool shown_dirty_ = true;  // input changed: views re-upload even while the model loads
  int models_seen_ = -1;
  std::string model_error_shown_;
  std::uint64_t random_draws_ = 0;
  std::string robust_key() const;
};

// Rounds to k/255 so that a PNG or a URL round trip reproduces the input exactly.
void quantize(advx::Tensor& t);

}  // namespace play
