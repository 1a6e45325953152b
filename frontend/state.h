// The playground's shareable state: what the URL hash (#model=cnn&eps=0.1&...) and the JS API's
// state()/setState() carry. Plain data plus a query-string codec; no ImGui, no engine calls.
#pragma once
#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace play {

struct ViewState {
  std::string model;            // shipped model name ("cnn"); "" = the first available
  std::string attack = "fgsm";  // "fgsm", "bim" or "pgd"
  float eps = 0.1f;             // L-infinity budget in pixel units [0, 1]
  int target = -1;              // -1 untargeted, else the class to reach
  int steps = 10;               // BIM / PGD iterations
  std::uint64_t seed = 0;       // PGD random start
  int test_index = -1;          // input = MNIST test sample #i (when >= 0)
  std::string image;            // input = this 28x28 PNG (base64url), when test_index < 0
  bool preprocess = true;       // MNIST-style preprocessing of drawings
  float brush = 4.5f;           // brush radius in canvas pixels
  std::set<std::string> hide;   // panels to hide: input, prediction, model, attack, robustness, timing, help
};

// Names accepted in `hide=` (comma separated).
const std::vector<std::string>& panel_names();

// "model=cnn&attack=fgsm&eps=0.1&..." (keys in a fixed order; defaults included so links are explicit).
std::string encode_query(const ViewState& s);
// Applies "key=value&..." (an optional leading '#' or '?' is skipped) on top of `s`. Unknown keys and
// malformed values are reported in *errors (one line each) and otherwise ignored.
ViewState apply_query(const ViewState& s, const std::string& query, std::string* errors = nullptr);
// The state as a JSON object (for window.advx.state()).
std::string state_json(const ViewState& s);

std::string base64url_encode(const std::vector<std::uint8_t>& bytes);
// Returns false on characters outside the base64url alphabet.
bool base64url_decode(const std::string& text, std::vector<std::uint8_t>& out);
std::string url_decode(const std::string& s);  // %XX and '+'

}  // namespace play
