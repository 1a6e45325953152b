// The few things that differ between the browser and the desktop: the URL, downloads, file
// pickers, the screen-reader live region. Web versions talk to web/shell.html and web/advx_api.js.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace play {

// Text for the ARIA live region (screen readers announce it). Native: no-op.
void announce(const std::string& text);
// Replaces the URL's hash without reloading or adding history. Native: no-op.
void set_url_hash(const std::string& hash);
// The URL's hash without '#' (web) or "" (native).
std::string url_hash();
// Web: the browser downloads the bytes as `name`. Native: writes `name` in the working directory.
// Returns a message for the UI.
std::string offer_download(const std::string& name, const std::vector<std::uint8_t>& bytes);
// Web: opens the browser's file picker; the chosen PNG arrives through advx_import_file (purpose
// "input") or advx_import_patch_file ("patch"). Native: returns false (the UI offers a path field
// and drag-and-drop instead).
bool open_file_picker(const char* purpose = "input");
// Native, with ADVX_PLAY_TRACE=1 in the environment: "advx-play: <what>" on stderr (the native UI
// test reads the startup milestones below). Web: no-op.
void trace(const std::string& what);
// Web: window.advx.firstFrameMs = performance.now() (call after the first frame). Native: trace().
void signal_first_frame();
// Web: the App exists; window.advx calls queued before this (advx.loadModel) may proceed. Native: trace().
void signal_started();
// Resolves window.advx.ready (web). Native: trace().
void signal_ready();
// Web: starts downloading a model file (URL relative to the page); the bytes arrive through
// advx_model_data(), a failure through advx_model_failed() (web_api.cpp). Native: not used.
void fetch_model(const std::string& name, const std::string& url);

}  // namespace play
