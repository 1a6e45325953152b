// A GL texture holding a small image for ImGui::Image (nearest filtering: pixels stay crisp).
#pragma once
#include <cstdint>
#include <vector>

#include "imgui.h"

namespace play {

class Texture {
 public:
  Texture() = default;
  ~Texture();
  Texture(const Texture&) = delete;
  Texture& operator=(const Texture&) = delete;
  // RGBA8, w*h*4 bytes.
  void upload(const std::vector<std::uint8_t>& rgba, int w, int h);
  ImTextureID id() const;
  int width() const { return w_; }
  int height() const { return h_; }

 private:
  unsigned tex_ = 0;
  int w_ = 0, h_ = 0;
};

}  // namespace play
