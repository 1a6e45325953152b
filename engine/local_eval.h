// Few-pixel candidates of an image, evaluated exactly as the image's activations plus the local
// change their pixels make: the evaluator behind the one-pixel attack (engine/attacks/pixel.cpp).
//
// A candidate is a base image [C, H, W] with a short list of pixels replaced (each write: a pixel
// y * W + x and its C new channel values, applied in order, so the last write to a pixel wins, as
// it would in the materialised image). A differential-evolution generation is hundreds of them per
// image; a full forward pass of each costs as much as classifying a new image, although a changed
// pixel reaches only a few outputs of each convolution (2 x 2 of `small`'s first layer's 14 x 14,
// 3 x 3 of the second's 7 x 7, so 288 of the first Linear's 1568 inputs).
//
// This is our implementation choice, not part of Su, Vargas, Sakurai 2019 (arXiv:1710.08864), whose
// attack evaluates every candidate with a forward pass; the logits are the same up to float summation
// order (tests/unit/test_local_eval.cpp checks them against the full forward of the materialised
// candidates on every shipped model), so the attack's choices are the paper's (a seeded run may
// still differ in the last bits, and so in a close selection, from a run on full forward passes).
// It reads the model's weights and hidden activations: the attack stays black-box in what it may
// use (the logits of each candidate, one query each); the evaluator only computes those logits
// faster than a forward pass would.
//
//   LocalEvaluator   logits(edits) -> [R, K]: row r = the classifier's logits of candidate r
//   make_local_evaluator(m, base)   m's own (Classifier::local_evaluator; Sequential has one) when it
//                    has one, else one that materialises the candidates and calls m.logits(): the
//                    same results on every Classifier (a Pipeline, an Ensemble, ...), only slower.
#pragma once
#include <memory>
#include <string>

#include "engine/classifier.h"
#include "engine/tensor.h"

namespace advx {

// R candidates, each P pixel writes on one of the evaluator's base images (the arrays are the
// caller's; nothing is kept after the call).
struct PixelEdits {
  int rows = 0;                  // R
  int writes = 0;                // P writes per candidate (>= 0)
  const int* base = nullptr;     // [R]: the base image of candidate r, 0 .. bases - 1
  const int* pixel = nullptr;    // [R * P]: write p of candidate r sets pixel pixel[r * P + p] = y * W + x
  const float* value = nullptr;  // [R * P * C]: to these channel values, value[(r * P + p) * C + c]
};

// Contract:
//   requires: the classifier it was made from outlives it and its weights do not change while it lives;
//             pixel indices in [0, H * W), base indices in [0, bases), values finite.
//   ensures:  logits() returns [R, K] logits valid until the next logits() call on this evaluator;
//             each row equals the classifier's logits() of the materialised candidate up to float
//             summation order. A call counts as a forward pass of the classifier for its state: the
//             classifier's last logits() result and input_gradient() state are not kept.
class LocalEvaluator {
 public:
  virtual ~LocalEvaluator() = default;
  virtual const Tensor& logits(const PixelEdits& e) = 0;
  virtual int bases() const = 0;
  // Layers evaluated on the local change (0: every candidate is a full forward pass), and a line
  // that says how ("Conv2d ReLU ... | Linear (delta) | ReLU Linear (dense)").
  virtual int local_layers() const = 0;
  virtual std::string describe() const = 0;
};

// The evaluator for candidates on the base images `base` [B, C, H, W] (checked: m's input shape,
// finite): m's own local one if it has one, else the materialising one.
std::unique_ptr<LocalEvaluator> make_local_evaluator(Classifier& m, const Tensor& base);
// The materialising one alone: every candidate copied into a batch and sent through m.logits().
std::unique_ptr<LocalEvaluator> make_materialising_evaluator(Classifier& m, const Tensor& base);

class Sequential;
// Sequential's local evaluator (Sequential::local_evaluator): nullptr when its input is not an image
// [C, H, W] or its first layer cannot take a local change.
std::unique_ptr<LocalEvaluator> make_sequential_local_evaluator(Sequential& m, const Tensor& base);

}  // namespace advx
