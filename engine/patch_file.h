// The adversarial patch as a file (Brown et al. 2017, arXiv:1712.09665, trained by
// engine/attacks/patch_trainer.h): a PNG at the model's pixel scale (one PNG pixel per patch pixel)
// whose text chunks say what it is, so `advx patch eval` and the playground read back its target
// and size. The printable copy is the same PNG upscaled by nearest neighbour, with its scale
// recorded (advx.print_scale), so it can be read back too.
//
// Text chunks: advx.kind ("adversarial patch"), advx.target, advx.size (share of the image area),
// advx.rotation (the EOT's largest angle, degrees), advx.model, advx.dataset, and whatever else the
// writer adds (the CLI: the recipe and the training success).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/eval/evaluate.h"
#include "engine/patch.h"
#include "engine/tensor.h"

namespace advx {

struct PatchFile {
  Tensor patch;                             // [C, S, S] in [0, 1] at the model's scale
  std::map<std::string, std::string> text;  // every tEXt chunk
  int target = -1;                          // advx.target, -1 when not recorded
  double size = 0.0;                        // advx.size, 0 when not recorded
  int print_scale = 1;                      // advx.print_scale of a printable copy, else 1
};

// A [C, S, S] patch (pixels in [0, 1]) as PNG, upscaled `scale` times by nearest neighbour (1: the
// model's scale), with `text` as tEXt chunks (advx.print_scale added when scale > 1).
std::vector<std::uint8_t> encode_patch_png(const Tensor& patch, std::map<std::string, std::string> text, int scale = 1);
// Reads a patch PNG with `channels` channels (1 grey, 3 RGB). A printable copy is scaled back down by
// its recorded scale (every scale-th pixel: it was upscaled by nearest neighbour). Throws
// advx::Error naming `source` for a bad PNG, a non-square image, or recorded values out of range.
PatchFile decode_patch_png(const std::vector<std::uint8_t>& bytes, int channels, const std::string& source);

// A number recorded in a patch PNG's text chunk `key` (which must be present), in [lo, hi]; throws
// advx::Error naming the chunk and `source` otherwise.
double patch_text_number(const std::map<std::string, std::string>& text, const std::string& key, double lo, double hi,
                         const std::string& source);

// The held-out evaluation of a fixed patch (what `advx patch eval` and the playground's "drop it on
// test images" run, through advx::Evaluation): the patch placed at a seeded random placement from
// `eot` on every test image, success = the model takes a correctly classified image not of the
// target class for the target.
EvalConfig patch_eval_config(const Tensor& patch, const PatchEot& eot, int target, std::uint64_t seed, int batch);

}  // namespace advx
