// The playground's URL state (frontend/state.cpp, linked from advx_app, not edited here):
// apply_query on any hash, then what the app does with the result (encode_query, base64url_decode
// of img=, url_decode). Invariant: the state it makes encodes to a link that reads back to the same
// link, without errors (a shared link shows what its author saw).
#include <cstdlib>

#include "frontend/state.h"
#include "tests/fuzz/fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string query(reinterpret_cast<const char*>(data), size);
  std::string errors;
  const play::ViewState s = play::apply_query(play::ViewState{}, query, &errors);
  std::vector<std::uint8_t> png;
  play::base64url_decode(s.image, png);
  play::base64url_decode(query, png);
  play::url_decode(query);
  const std::string link = play::encode_query(s);
  std::string again;
  const std::string back = play::encode_query(play::apply_query(play::ViewState{}, link, &again));
  if (getenv("ADVX_FUZZ_STRICT") && (back != link || !again.empty())) __builtin_trap();
  return 0;
}
