// The playground's shareable state: what the URL hash (#model=cnn&attack=pgd&eps=0.1&...) and the JS
// API's state()/setState() carry. Plain data plus a query-string codec; no ImGui, no engine calls.
//
// The attack and defence parameters are not spelled here: their keys, ranges and defaults come from
// the engine's parameter tables (engine/attacks, engine/defences). `params` holds one value per key
// of every registered attack and defence (attacks that share a key, such as eps, share its value).
//
// Two views: images (the default) and sequences (view=seq: an SMS or an API-call trace). The
// sequence view has its own model, attack and defence, from the sequence registries
// (engine/seqattacks, engine/seqdefences) and their tables (`seq_params`); seed, adaptive and hide
// are shared. In the query, `view` decides what model, attack, defence, test and the parameter keys
// mean: view=seq&dataset=sms&text=Free+entry...&attack=substitute&budget=0.1&seed=0.
#pragma once
#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "engine/params.h"

namespace play {

struct ViewState {
  ViewState();                   // the tables' defaults; the first registered attack; no defence
  std::string model;             // shipped model name ("cnn"); "" = the first available
  std::string attack;            // a registered attack's name
  advx::ParamValues params;      // every attack's and defence's parameters, by key
  int target = -1;               // -1 untargeted, else the class to reach
  std::uint64_t seed = 0;        // every random choice of the attack
  std::string defence = "none";  // "none" or a registered defence's name
  bool adaptive = false;         // the attack goes through the defence (else: crafted on the bare model)
  bool bpda = true;              // the adaptive attacker's backward through non-differentiable steps
  int test_index = -1;           // input = test sample #i (when >= 0)
  std::string image;             // input = this PNG (base64url), when test_index < 0
  bool preprocess = true;        // MNIST-style preprocessing of drawings
  float brush = 4.5f;            // brush radius in canvas pixels
  std::set<std::string> hide;    // panels to hide: see panel_names()
  // The patch workbench (frontend/app_patch.cpp): a patch placed on the input, or none. The patch's
  // pixels travel as a base64url PNG at the model's scale (like a drawn digit's img=); its side
  // covers patch_size of the image area (the engine's convention: side = sqrt(size * H * W)),
  // centred at (patch_x, patch_y) image pixels (< 0: the image's centre), rotated by patch_angle
  // degrees; patch_target is the class it is trained towards.
  std::string patch;  // "" = no patch
  float patch_size = 0.1f;
  float patch_x = -1.0f, patch_y = -1.0f;
  float patch_angle = 0.0f;
  int patch_target = 0;

  std::string view = "image";        // "image" or "seq"
  std::string seq_dataset;           // a sequence dataset's short name ("sms", "malbehavd")
  std::string seq_model;             // a sequence model of that dataset; "" = its first
  int seq_test = -1;                 // the text is the dataset's test sample #i (when >= 0)
  std::string seq_text;              // the text (SMS, or API calls one per line) when seq_test < 0
  std::string seq_attack;            // a registered sequence attack; "" = the first the dataset allows
  advx::ParamValues seq_params;      // every sequence attack's and defence's parameters, by key
  std::string seq_defence = "none";  // "none" or a registered sequence defence
  bool seq() const { return view == "seq"; }
};

// The longest text the sequence view takes (bytes): a long trace is about 6,000.
constexpr size_t kMaxSeqText = 20000;

// Names accepted in `hide=` (comma separated).
const std::vector<std::string>& panel_names();
// The table of every attack's and defence's parameters (one spec per key, in registry order).
const std::vector<advx::ParamSpec>& all_params();
// The same for the sequence attacks and defences.
const std::vector<advx::ParamSpec>& seq_all_params();
// The dataset the sequence view starts with ("sms": typing a message is what it is for).
const std::string& default_seq_dataset();

// "model=cnn&attack=pgd&eps=0.1&steps=10&...": the chosen attack's parameters (and the defence's,
// when one is on), in table order, defaults included so links are explicit.
std::string encode_query(const ViewState& s);
// Applies "key=value&..." (an optional leading '#' or '?' is skipped) on top of `s`. Unknown keys and
// malformed values are reported in *errors (one line each) and otherwise ignored.
ViewState apply_query(const ViewState& s, const std::string& query, std::string* errors = nullptr);
// The state as a JSON object (for window.advx.state()): the same keys as the query.
std::string state_json(const ViewState& s);

std::string base64url_encode(const std::vector<std::uint8_t>& bytes);
// Returns false on characters outside the base64url alphabet.
bool base64url_decode(const std::string& text, std::vector<std::uint8_t>& out);
std::string url_decode(const std::string& s);  // %XX and '+'
std::string url_encode(const std::string& s);  // all but A-Z a-z 0-9 - _ . ~ / as %XX, space as '+'
// "k1=v1&k2&k3=v3" as decoded (key, value) pairs in order ("" for a key without '='; empty items skipped).
std::vector<std::pair<std::string, std::string>> query_pairs(const std::string& q);

}  // namespace play
