// CIFAR-10 (Krizhevsky 2009, "Learning Multiple Layers of Features from Tiny Images") from the
// shared data folder; shared/data/cifar-10/README.md says where each file comes from.
//
//   "cifar10"        jpeg/cifar10_{train,test}_jpg.zip with jpeg/{train,test}_index.csv: all 50,000
//                    training and 10,000 test images in the original order, but JPEG-compressed
//                    (mean absolute error about 5.8/255 against the exact pixels).
//   "cifar10-exact"  lossless/data_batch_1_first4000.bin.gz and lossless/test_batch_first1000.bin.gz:
//                    the exact pixels of training images 0-3999 and test images 0-999, as records of
//                    the official binary version (1 label byte, then 1024 R, 1024 G, 1024 B bytes).
//
// Both give images [N, 3, 32, 32]: channel planes R, G, B, each 32 rows of 32 pixels (CHW, as the
// binary records and PyTorch store them), value / 255 in [0, 1]; labels 0-9 in the class order
// below. Image i is image i of the original dataset in both, so cifar10-exact is the first 1000 /
// 4000 images of cifar10 without the JPEG loss. Every file's sha256 is checked before it is parsed.
#pragma once
#include <string>
#include <vector>

#include "engine/data/dataset.h"

namespace advx {

// airplane, automobile, bird, cat, deer, dog, frog, horse, ship, truck (labels 0-9).
const std::vector<std::string>& cifar10_class_names();

// split "train" or "test"; normally reached through load_dataset(dir, "cifar10" / "cifar10-exact", split).
Dataset load_cifar10(const std::string& data_dir, const std::string& split);
Dataset load_cifar10_exact(const std::string& data_dir, const std::string& split);

}  // namespace advx
