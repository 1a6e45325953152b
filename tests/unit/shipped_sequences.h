// The shipped sequence models of assets/models/sequence for the [shipped] tests: each with its
// metadata, its dataset (the split its recipe used), the validation half of the test split and its
// text codec, loaded once per test run.
#pragma once
#include <map>
#include <memory>
#include <string>

#include "engine/data/sequences.h"
#include "engine/sequence_model.h"
#include "engine/sequence_text.h"

namespace advx::test {

struct ShippedSequence {
  SequenceModel model;
  std::map<std::string, std::string> meta;
  SequenceDataset data;
  SequenceSplit validation;  // sequence_validation_split(data.test)
  TextCodec codec;
};

// `name`: the file under assets/models/sequence without ".safetensors"; `task`: its dataset's task.
inline ShippedSequence& shipped_sequence(const std::string& name, const std::string& task) {
  static std::map<std::string, std::unique_ptr<ShippedSequence>> cache;
  auto it = cache.find(name);
  if (it == cache.end()) {
    const std::string path = std::string(ADVX_SOURCE_DIR) + "/assets/models/sequence/" + name + ".safetensors";
    std::map<std::string, std::string> meta;
    SequenceModel m = load_sequence_model(path, &meta);
    SequenceDataset d = load_dataset_for(*find_sequence_task(task), resolve_data_dir(""), meta, path);
    SequenceSplit v = sequence_validation_split(d.test);
    TextCodec c(meta, name);
    it = cache
             .emplace(name, std::make_unique<ShippedSequence>(
                                ShippedSequence{std::move(m), meta, std::move(d), std::move(v), std::move(c)}))
             .first;
  }
  return *it->second;
}

}  // namespace advx::test
