// CI's fuzzing suite without libFuzzer: every harness of tests/fuzz on its seed corpus, then on seeded
// random mutations of it, in the ASan + UBSan build (gcc; the `asan` preset), one process for all
// harnesses. It has no coverage feedback: it is a regression check of the decoders that costs no
// extra engine build (the clang build of tests/fuzz/run.sh, the coverage-guided search, costs as much
// as the rest of the CI suite's builds together; run it by hand, tests/fuzz/README.md).
//
//   advx_fuzz_replay [--seconds S] [--seed N] [--only h1,h2] [--findings DIR] [--corpus DIR] [--dict DIR]
//
// The mutations are those of AFL / libFuzzer's mutation stage, stacked 1-8 per input: bit flips,
// random bytes, "interesting" integers (0, -1, 0x7f.., 0x80..) of 1, 2 and 4 bytes, chunk insert,
// erase, copy and truncate, dictionary tokens (tests/fuzz/dict) and splicing two corpus inputs.
// Input i of harness h comes from mix_seed(seed + hash(h), i): a run is reproducible. On a finding
// (an ASan / UBSan report, an exception other than advx::Error, a trap, an input slower than 10 s)
// the input is written to DIR/<harness>/crash-<i> (default: <build>/fuzz-findings) before the process dies; replay it
// with build/fuzz/fuzz_<harness> FILE (tests/fuzz/run.sh builds those) or with --only and the same seed.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "engine/rng.h"

// The harnesses, each compiled with LLVMFuzzerTestOneInput renamed to advx_fuzz_<name>
// (tests/fuzz/CMakeLists.txt writes replay_table.h: one ADVX_HARNESS(name, max_len, dict) per line).
#define ADVX_HARNESS(name, max_len, dict) extern "C" int advx_fuzz_##name(const std::uint8_t*, std::size_t);
#include "replay_table.h"
#undef ADVX_HARNESS

extern "C" void __sanitizer_set_death_callback(void (*callback)());

namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

struct Harness {
  const char* name;
  int (*run)(const std::uint8_t*, std::size_t);
  std::size_t max_len;
  const char* dict;  // tests/fuzz/dict/<dict>.dict, or ""
};

const Harness kHarnesses[] = {
#define ADVX_HARNESS(name, max_len, dict) {#name, advx_fuzz_##name, max_len, dict},
#include "replay_table.h"
#undef ADVX_HARNESS
};

// What a crash handler writes: the input being run (plain globals: the handlers only read them).
const Bytes* g_input = nullptr;
char g_crash_path[4096] = "";

void write_current_input() {
  if (!g_input || !g_crash_path[0]) return;
  const int fd = open(g_crash_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return;
  std::size_t done = 0;
  while (done < g_input->size()) {
    const ssize_t w = write(fd, g_input->data() + done, g_input->size() - done);
    if (w <= 0) break;
    done += static_cast<std::size_t>(w);
  }
  close(fd);
  const char msg[] = "\nadvx_fuzz_replay: the input is kept in ";
  (void)!write(2, msg, sizeof msg - 1);
  (void)!write(2, g_crash_path, strlen(g_crash_path));
  (void)!write(2, "\n", 1);
}

extern "C" void on_signal(int sig) {
  write_current_input();
  if (sig == SIGALRM) {
    const char msg[] = "advx_fuzz_replay: an input ran longer than 10 s (a hang or a bomb)\n";
    (void)!write(2, msg, sizeof msg - 1);
  }
  _exit(128 + sig);
}

void on_terminate() {
  std::fprintf(stderr, "advx_fuzz_replay: an exception other than advx::Error escaped the decoder\n");
  write_current_input();
  std::_Exit(134);
}

// Tokens of a libFuzzer / AFL dictionary: the quoted part of each line, with \\, \" and \xHH escapes.
std::vector<Bytes> read_dict(const fs::path& file) {
  std::vector<Bytes> out;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    const auto q0 = line.find('"'), q1 = line.rfind('"');
    if (line.empty() || line[0] == '#' || q0 == std::string::npos || q1 <= q0) continue;
    Bytes t;
    for (std::size_t i = q0 + 1; i < q1; ++i) {
      if (line[i] == '\\' && i + 1 < q1) {
        if (line[i + 1] == 'x' && i + 3 < q1) {
          t.push_back(static_cast<std::uint8_t>(std::stoi(line.substr(i + 2, 2), nullptr, 16)));
          i += 3;
        } else {
          t.push_back(static_cast<std::uint8_t>(line[++i]));
        }
      } else {
        t.push_back(static_cast<std::uint8_t>(line[i]));
      }
    }
    if (!t.empty()) out.push_back(std::move(t));
  }
  return out;
}

std::vector<Bytes> read_corpus(const fs::path& dir) {
  std::vector<fs::path> files;
  if (fs::is_directory(dir))
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_regular_file()) files.push_back(e.path());
  std::sort(files.begin(), files.end());  // directory order is not reproducible
  std::vector<Bytes> out;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    out.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return out;
}

// One stacked mutation of a corpus input (never longer than max_len).
Bytes mutate(const std::vector<Bytes>& corpus, const std::vector<Bytes>& dict, std::size_t max_len, advx::Rng& rng) {
  Bytes b = corpus[rng.below(corpus.size())];
  const auto pos = [&](std::size_t n) { return n == 0 ? std::size_t{0} : static_cast<std::size_t>(rng.below(n)); };
  const int stack = 1 + static_cast<int>(rng.below(8));
  for (int s = 0; s < stack; ++s) {
    switch (rng.below(b.empty() ? 3 : 10)) {
      case 0: {  // insert random bytes
        const std::size_t n = 1 + rng.below(16), at = pos(b.size() + 1);
        Bytes chunk(n);
        for (auto& c : chunk) c = static_cast<std::uint8_t>(rng.below(256));
        b.insert(b.begin() + static_cast<std::ptrdiff_t>(at), chunk.begin(), chunk.end());
        break;
      }
      case 1: {  // insert a dictionary token (nothing without a dictionary)
        if (dict.empty()) break;
        const Bytes& t = dict[rng.below(dict.size())];
        b.insert(b.begin() + static_cast<std::ptrdiff_t>(pos(b.size() + 1)), t.begin(), t.end());
        break;
      }
      case 2: {  // splice: this input's head, another's tail
        const Bytes& o = corpus[rng.below(corpus.size())];
        b.resize(pos(b.size() + 1));
        b.insert(b.end(), o.begin() + static_cast<std::ptrdiff_t>(pos(o.size() + 1)), o.end());
        break;
      }
      case 3:  // flip a bit
        b[pos(b.size())] ^= static_cast<std::uint8_t>(1u << rng.below(8));
        break;
      case 4:  // a random byte
        b[pos(b.size())] = static_cast<std::uint8_t>(rng.below(256));
        break;
      case 5: {  // an interesting integer, 1, 2 or 4 bytes, either byte order
        static const std::uint32_t kInteresting[] = {
            0u,  1u,  0x7fu, 0x80u, 0xffu, 0x7fffu, 0x8000u, 0xffffu, 0x7fffffffu, 0x80000000u, 0xffffffffu,
            16u, 32u, 64u,   100u,  255u,  256u,    1000u,   1024u,   4096u,       65536u};
        const std::uint32_t v = kInteresting[rng.below(std::size(kInteresting))];
        const std::size_t w = std::size_t{1} << rng.below(3), at = pos(b.size());
        const bool big = rng.below(2) == 1;
        for (std::size_t i = 0; i < w && at + i < b.size(); ++i)
          b[at + i] = static_cast<std::uint8_t>(v >> (8 * (big ? w - 1 - i : i)));
        break;
      }
      case 6: {  // erase a chunk
        const std::size_t at = pos(b.size()), n = 1 + pos(std::min<std::size_t>(b.size() - at, 64));
        b.erase(b.begin() + static_cast<std::ptrdiff_t>(at), b.begin() + static_cast<std::ptrdiff_t>(at + n));
        break;
      }
      case 7: {  // copy a chunk over another place
        const std::size_t from = pos(b.size()), to = pos(b.size());
        const std::size_t n = 1 + pos(std::min(b.size() - from, b.size() - to));
        std::memmove(b.data() + to, b.data() + from, n);
        break;
      }
      case 8:  // truncate
        b.resize(pos(b.size()));
        break;
      default: {  // add or subtract a small number to a byte
        const std::size_t at = pos(b.size());
        b[at] = static_cast<std::uint8_t>(b[at] + static_cast<int>(rng.below(35)) - 17);
        break;
      }
    }
  }
  if (b.size() > max_len) b.resize(max_len);
  return b;
}

std::uint64_t name_hash(const char* s) {
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (; *s; ++s) h = (h ^ static_cast<unsigned char>(*s)) * 1099511628211ull;
  return h;
}

void run_input(const Harness& h, const Bytes& input, const fs::path& crash) {
  g_input = &input;
  std::snprintf(g_crash_path, sizeof g_crash_path, "%s", crash.c_str());
  alarm(10);
  h.run(input.data(), input.size());
  alarm(0);
  g_input = nullptr;
}

int usage(const char* why) {
  std::fprintf(stderr,
               "advx_fuzz_replay: %s\nusage: advx_fuzz_replay [--seconds S] [--seed N] [--only h1,h2] "
               "[--findings DIR] [--corpus DIR] [--dict DIR]\n",
               why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 3.0;
  std::uint64_t seed = 1;
  std::string only;
  fs::path findings = ADVX_BINARY_DIR "/fuzz-findings", corpus_dir = "tests/fuzz/corpus", dict_dir = "tests/fuzz/dict";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) return usage(("missing the value of " + a).c_str());
    const std::string v = argv[++i];
    try {
      if (a == "--seconds")
        seconds = std::stod(v);
      else if (a == "--seed")
        seed = std::stoull(v);
      else if (a == "--only")
        only = "," + v + ",";
      else if (a == "--findings")
        findings = v;
      else if (a == "--corpus")
        corpus_dir = v;
      else if (a == "--dict")
        dict_dir = v;
      else
        return usage(("unknown option " + a).c_str());
    } catch (const std::exception&) {
      return usage(("not a number: " + a + " " + v).c_str());
    }
  }
  __sanitizer_set_death_callback(write_current_input);
  std::set_terminate(on_terminate);
  for (int sig : {SIGILL, SIGALRM, SIGFPE}) std::signal(sig, on_signal);

  int ran = 0;
  for (const Harness& h : kHarnesses) {
    if (!only.empty() && only.find("," + std::string(h.name) + ",") == std::string::npos) continue;
    ++ran;
    const std::vector<Bytes> corpus = read_corpus(corpus_dir / h.name);
    if (corpus.empty()) {
      std::fprintf(stderr, "advx_fuzz_replay: no seed inputs in %s (run from the repository root)\n",
                   (corpus_dir / h.name).c_str());
      return 1;
    }
    const std::vector<Bytes> dict =
        h.dict[0] ? read_dict(dict_dir / (std::string(h.dict) + ".dict")) : std::vector<Bytes>{};
    const fs::path dir = findings / h.name;
    fs::create_directories(dir);
    const auto t0 = std::chrono::steady_clock::now();
    const auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
    for (std::size_t i = 0; i < corpus.size(); ++i) run_input(h, corpus[i], dir / ("crash-seed-" + std::to_string(i)));
    std::uint64_t n = 0;
    const std::uint64_t stream = seed + name_hash(h.name);
    while (elapsed() < seconds) {
      advx::Rng rng(advx::mix_seed(stream, n));
      const Bytes input = mutate(corpus, dict, h.max_len, rng);
      run_input(h, input, dir / ("crash-" + std::to_string(n)));
      ++n;
    }
    std::printf("ok    %-12s %zu seeds + %llu mutations in %.1f s (seed %llu)\n", h.name, corpus.size(),
                static_cast<unsigned long long>(n), elapsed(), static_cast<unsigned long long>(seed));
    std::fflush(stdout);
  }
  if (ran == 0) return usage(("no harness named in --only " + only).c_str());
  return 0;
}
