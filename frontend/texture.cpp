#include "frontend/texture.h"

#ifdef __EMSCRIPTEN__
#include <GLES3/gl3.h>
#else
#include <SDL_opengl.h>
#endif

namespace play {

Texture::~Texture() {
  if (tex_) {
    GLuint t = tex_;
    glDeleteTextures(1, &t);
  }
}

void Texture::upload(const std::vector<std::uint8_t>& rgba, int w, int h) {
  if (!tex_) {
    GLuint t = 0;
    glGenTextures(1, &t);
    tex_ = t;
  }
  glBindTexture(GL_TEXTURE_2D, tex_);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
  glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
  glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA, w, h, 0, GL_RGBA, GL_UNSIGNED_BYTE, rgba.data());
  w_ = w;
  h_ = h;
}

ImTextureID Texture::id() const {
  return reinterpret_cast<ImTextureID>(static_cast<std::uintptr_t>(tex_));
}

}  // namespace play
