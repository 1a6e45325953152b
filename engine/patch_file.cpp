#include "engine/patch_file.h"

#include <cstdlib>
#include <string>

#include "engine/attacks/patch_trainer.h"
#include "engine/error.h"
#include "engine/io/image.h"

namespace advx {

double patch_text_number(const std::map<std::string, std::string>& text, const std::string& key, double lo, double hi,
                         const std::string& source) {
  const std::string& v = text.at(key);
  char* end = nullptr;
  const double d = std::strtod(v.c_str(), &end);
  ADVX_REQUIRE(!v.empty() && end == v.c_str() + v.size() && d >= lo && d <= hi,
               source + ": its text chunk " + key + " must be a number in [" + std::to_string(lo) + ", " +
                   std::to_string(hi) + "], got '" + v + "'");
  return d;
}

std::vector<std::uint8_t> encode_patch_png(const Tensor& patch, std::map<std::string, std::string> text, int scale) {
  ADVX_REQUIRE(patch.rank() == 3 && patch.dim(1) == patch.dim(2) && (patch.dim(0) == 1 || patch.dim(0) == 3),
               "a patch must be [C, S, S] with C = 1 or 3, got " + shape_str(patch.shape));
  ADVX_REQUIRE(scale >= 1 && scale <= 64, "the patch's print scale must be in 1..64, got " + std::to_string(scale));
  text["advx.kind"] = "adversarial patch";
  if (scale > 1) text["advx.print_scale"] = std::to_string(scale);
  return add_png_text(encode_png(patch, scale), text);
}

PatchFile decode_patch_png(const std::vector<std::uint8_t>& bytes, int channels, const std::string& source) {
  PatchFile f;
  f.text = png_text(bytes, source);  // errors on a damaged chunk structure
  Tensor img = decode_image(bytes, channels, source);
  ADVX_REQUIRE(img.dim(1) == img.dim(2), source + " is " + std::to_string(img.dim(2)) + "x" +
                                             std::to_string(img.dim(1)) + " pixels: a patch must be square");
  if (f.text.count("advx.print_scale"))
    f.print_scale = static_cast<int>(patch_text_number(f.text, "advx.print_scale", 1, 64, source));
  const int k = f.print_scale, s = img.dim(1) / k;
  ADVX_REQUIRE(s >= 1 && s * k == img.dim(1), source + " is " + std::to_string(img.dim(1)) +
                                                  " pixels square, not a multiple of its print scale " +
                                                  std::to_string(k));
  // The printable copy was upscaled by nearest neighbour: every k-th pixel is the patch's own.
  f.patch = Tensor({channels, s, s});
  for (int c = 0; c < channels; ++c)
    for (int a = 0; a < s; ++a)
      for (int b = 0; b < s; ++b)
        f.patch.data[(static_cast<size_t>(c) * s + a) * s + b] =
            img.data[(static_cast<size_t>(c) * img.dim(1) + a * k) * img.dim(2) + b * k];
  if (f.text.count("advx.target"))
    f.target = static_cast<int>(patch_text_number(f.text, "advx.target", 0, 999, source));
  if (f.text.count("advx.size")) f.size = patch_text_number(f.text, "advx.size", 1e-4, 1.0, source);
  return f;
}

EvalConfig patch_eval_config(const Tensor& patch, const PatchEot& eot, int target, std::uint64_t seed, int batch) {
  EvalConfig cfg;
  cfg.attack = patch_crafter(patch, eot, seed);
  cfg.target = target;
  cfg.batch = batch;
  cfg.keep_adv = false;
  return cfg;
}

}  // namespace advx
