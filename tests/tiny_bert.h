// The tiny random BERT of tests/fixtures/bert-tiny as a model directory `bert:<dir>` loads:
// its config and weights, and the whole-word vocabulary of tests/fixtures/python-vec.
#pragma once

#include <filesystem>
#include <string>

namespace mcpmem::testing_util {

// Makes <parent>/tiny and returns its path.
inline std::string make_tiny_bert(const std::string& parent) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(parent) / "tiny";
  fs::create_directories(dir);
  for (const char* f :
       {"bert-tiny/config.json", "bert-tiny/model.safetensors", "python-vec/vocab.txt"}) {
    fs::copy_file(fs::path(MCP_TEST_FIXTURES) / f, dir / fs::path(f).filename(),
                  fs::copy_options::overwrite_existing);
  }
  return dir.string();
}

}  // namespace mcpmem::testing_util
