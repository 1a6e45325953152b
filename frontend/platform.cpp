#include "frontend/platform.h"

#include <cstdio>
#include <cstdlib>

#include "engine/error.h"
#include "engine/io/file.h"

#ifdef __EMSCRIPTEN__
#include <emscripten.h>

// clang-format off
EM_JS(void, advx_js_announce, (const char* text), {
  const el = document.getElementById('advx-live');
  if (el) el.textContent = UTF8ToString(text);
});
EM_JS(void, advx_js_set_hash, (const char* hash), {
  const h = '#' + UTF8ToString(hash);
  if (location.hash !== h) { history.replaceState(null, "", h); }
  if (window.advx) window.advx._lastHash = h;
});
EM_JS(char*, advx_js_get_hash, (), {
  const h = location.hash.substring(1);
  const n = lengthBytesUTF8(h) + 1;
  const p = _malloc(n);
  stringToUTF8(h, p, n);
  return p;
});
EM_JS(void, advx_js_download, (const char* name, const std::uint8_t* data, int size), {
  const bytes = HEAPU8.slice(data, data + size);
  const url = URL.createObjectURL(new Blob([bytes], {type: 'image/png'}));
  const a = document.createElement('a');
  a.href = url; a.download = UTF8ToString(name);
  document.body.appendChild(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
});
EM_JS(void, advx_js_open_picker, (const char* purpose), {
  if (window.advx) window.advx._pickFor = UTF8ToString(purpose);
  const input = document.getElementById('advx-file');
  if (input) input.click();
});
EM_JS(void, advx_js_ready, (), {
  if (window.advx && window.advx._resolveReady) window.advx._resolveReady();
});
EM_JS(void, advx_js_first_frame, (), {
  if (window.advx) window.advx.firstFrameMs = performance.now();
});
EM_JS(void, advx_js_started, (), {
  if (window.advx && window.advx._started) window.advx._started();
});
EM_JS(void, advx_js_fetch_model, (const char* name, const char* url), {
  window.advx._fetchModel(UTF8ToString(name), UTF8ToString(url));
});
// clang-format on
#endif

namespace play {

#ifdef __EMSCRIPTEN__
void announce(const std::string& text) {
  advx_js_announce(text.c_str());
}
void set_url_hash(const std::string& hash) {
  advx_js_set_hash(hash.c_str());
}
std::string url_hash() {
  char* p = advx_js_get_hash();
  std::string h(p);
  free(p);
  return h;
}
std::string offer_download(const std::string& name, const std::vector<std::uint8_t>& bytes) {
  advx_js_download(name.c_str(), bytes.data(), static_cast<int>(bytes.size()));
  return "downloaded " + name;
}
bool open_file_picker(const char* purpose) {
  advx_js_open_picker(purpose);
  return true;
}
void signal_ready() {
  advx_js_ready();
}
void signal_first_frame() {
  advx_js_first_frame();
}
void signal_started() {
  advx_js_started();
}
void trace(const std::string&) {}
void fetch_model(const std::string& name, const std::string& url) {
  advx_js_fetch_model(name.c_str(), url.c_str());
}
#else
void announce(const std::string&) {}
void set_url_hash(const std::string&) {}
std::string url_hash() {
  return {};
}
std::string offer_download(const std::string& name, const std::vector<std::uint8_t>& bytes) {
  try {
    advx::write_file(name, bytes);
    return "saved " + name;
  } catch (const advx::Error& e) {
    return e.what();
  }
}
bool open_file_picker(const char*) {
  return false;
}
// The native UI test reads these to tell a window that never drew from one that drew but did not
// reach the screen.
void trace(const std::string& what) {
  if (const char* t = std::getenv("ADVX_PLAY_TRACE"); t && *t && *t != '0')
    std::fprintf(stderr, "advx-play: %s\n", what.c_str());
}
void signal_ready() {
  trace("ready (first frame drawn, startup model loaded)");
}
void signal_first_frame() {
  trace("first frame drawn");
}
void signal_started() {
  trace("started (window, GL context and app created)");
}
void fetch_model(const std::string&, const std::string&) {}
#endif

}  // namespace play
