// The playground's test-sample files (frontend/samples.cpp decode_samples, linked from advx_app):
// gzip of records (a label byte, then the pixels), as the page fetches them. The first byte picks
// the dataset's shape (MNIST 1x28x28 or CIFAR-10 3x32x32), the rest is the file.
#include "frontend/samples.h"
#include "tests/fuzz/fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const bool cifar = data[0] & 1;
  const std::vector<std::string> classes = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
  advx::fuzz::refused_or_ok([&] {
    const play::Samples s =
        play::decode_samples(advx::fuzz::bytes_of(data + 1, size - 1), cifar ? "cifar10" : "mnist",
                             cifar ? advx::Shape{3, 32, 32} : advx::Shape{1, 28, 28}, classes, "fuzz");
    for (int y : s.set.labels)
      if (y < 0 || y >= 10) __builtin_trap();
  });
  return 0;
}
