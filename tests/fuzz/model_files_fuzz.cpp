// Fuzzes what `model pull` writes and the BERT embedder reads: the safetensors header and data,
// config.json, the tokenizer (tokenizer.json, vocab.txt, tokenizer_config.json,
// special_tokens_map.json) and the sentence-transformers files (modules.json, the pooling
// config, sentence_bert_config.json, config_sentence_transformers.json). Every round starts
// from a valid model (the tiny random BERT of tests/fixtures/bert-tiny dressed as a
// sentence-transformers directory), damages one file (byte edits, truncation, a JSON value
// replaced by one of another type, huge, negative or deep, a header offset moved), loads it and
// embeds a sentence. Loading must fail with an error or succeed and give finite vectors; it must
// never crash, leak, hit undefined behaviour or throw. Built with ASan + UBSan (fuzz/CMakeLists).
#include "model_files_fuzz.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "../temp_dir.h"
#include "embed/bert_embedder.h"

namespace mcpmem {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
}

// The valid model: file name -> bytes.
std::map<std::string, std::string> valid_model() {
  const fs::path tiny = fs::path(MCP_TEST_FIXTURES) / "bert-tiny";
  std::map<std::string, std::string> files;
  files["config.json"] = slurp(tiny / "config.json");
  files["model.safetensors"] = slurp(tiny / "model.safetensors");
  std::string vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";
  json vocab_map = {{"[PAD]", 0}, {"[UNK]", 1}, {"[CLS]", 2}, {"[SEP]", 3}, {"[MASK]", 4}};
  const char* words[] = {"hello", "world", "memory", "##s", "the", "a", ",", "."};
  int id = 5;
  for (const char* w : words) vocab += std::string(w) + "\n", vocab_map[w] = id++;
  for (; id < 96; ++id) {
    vocab += "w" + std::to_string(id) + "\n";
    vocab_map["w" + std::to_string(id)] = id;
  }
  files["vocab.txt"] = vocab;
  files["tokenizer.json"] = json{
      {"model",
       {{"type", "WordPiece"},
        {"vocab", vocab_map},
        {"unk_token", "[UNK]"},
        {"continuing_subword_prefix", "##"},
        {"max_input_chars_per_word", 100}}},
      {"normalizer",
       {{"type", "BertNormalizer"},
        {"lowercase", true},
        {"strip_accents", nullptr},
        {"handle_chinese_chars", true},
        {"clean_text", true}}},
      {"pre_tokenizer", {{"type", "BertPreTokenizer"}}},
      {"post_processor",
       {{"type", "BertProcessing"},
        {"sep", json::array({"[SEP]", 3})},
        {"cls", json::array({"[CLS]", 2})}}},
      {"truncation",
       {{"max_length", 32}}}}.dump();
  files["tokenizer_config.json"] =
      json{{"do_lower_case", true}, {"model_max_length", 32}, {"unk_token", "[UNK]"}}.dump();
  files["special_tokens_map.json"] =
      json{{"cls_token", "[CLS]"}, {"sep_token", "[SEP]"}, {"pad_token", "[PAD]"}}.dump();
  files["modules.json"] = json::array({{{"idx", 0},
                                        {"name", "0"},
                                        {"path", ""},
                                        {"type", "sentence_transformers.models.Transformer"}},
                                       {{"idx", 1},
                                        {"name", "1"},
                                        {"path", "1_Pooling"},
                                        {"type", "sentence_transformers.models.Pooling"}},
                                       {{"idx", 2},
                                        {"name", "2"},
                                        {"path", "2_Normalize"},
                                        {"type", "sentence_transformers.models.Normalize"}}})
                              .dump();
  files["1_Pooling/config.json"] =
      json{{"word_embedding_dimension", 32}, {"pooling_mode_mean_tokens", true}}.dump();
  files["sentence_bert_config.json"] =
      json{{"max_seq_length", 24}, {"do_lower_case", false}}.dump();
  files["config_sentence_transformers.json"] =
      json{{"prompts", {{"query", "query: "}, {"document", ""}}}}.dump();
  return files;
}

class Mutator {
 public:
  explicit Mutator(uint32_t seed) : rng_(seed) {}

  size_t pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }

  std::string bytes(std::string s) {
    if (s.empty()) return s;
    switch (pick(6)) {
      case 0:  // flip bytes
        for (size_t i = 0, n = 1 + pick(8); i < n; ++i) s[pick(s.size())] ^= 1 << pick(8);
        return s;
      case 1:  // truncate
        return s.substr(0, pick(s.size()));
      case 2:  // insert junk
        return s.insert(pick(s.size()), std::string(1 + pick(64), static_cast<char>(pick(256))));
      case 3:  // a digit run made huge or negative
        for (size_t i = pick(s.size()); i < s.size(); ++i) {
          if (std::isdigit(static_cast<unsigned char>(s[i]))) {
            return s.insert(i, pick(2) ? "-" : "99999999999999999999");
          }
        }
        return s;
      case 4:  // a safetensors header length or offset moved
        if (s.size() >= 8) {
          uint64_t n = 0;
          for (int b = 0; b < 8; ++b)
            n |= static_cast<uint64_t>(static_cast<unsigned char>(s[b])) << (8 * b);
          n += static_cast<uint64_t>(static_cast<int64_t>(pick(64)) - 32);
          for (int b = 0; b < 8; ++b) s[b] = static_cast<char>((n >> (8 * b)) & 0xff);
        }
        return s;
      default:  // a stretch duplicated
        return s + s.substr(pick(s.size()));
    }
  }

  json value() {
    switch (pick(9)) {
      case 0:
        return nullptr;
      case 1:
        return -1;
      case 2:
        return 1e300;
      case 3:
        return 9223372036854775807LL;
      case 4:
        return "";
      case 5:
        return std::string(100000, 'x');
      case 6:
        return json::array({1, "a", nullptr});
      case 7: {
        json deep = 1;
        for (int i = 0; i < 200; ++i) deep = json::array({deep});
        return deep;
      }
      default:
        return json::object({{"k", pick(100)}});
    }
  }

  // Replaces one value somewhere in `j` (or removes it).
  void structure(json& j) {
    json* at = &j;
    for (int depth = 0; depth < 6 && (at->is_object() || at->is_array()) && !at->empty(); ++depth) {
      auto it = at->begin();
      std::advance(it, static_cast<long>(pick(at->size())));
      if (pick(3) == 0) {
        if (at->is_object()) {
          at->erase(it.key());
        } else {
          *it = value();
        }
        return;
      }
      at = &*it;
    }
    *at = value();
  }

 private:
  std::mt19937 rng_;
};

}  // namespace

int run_model_files_fuzz(int seconds, uint32_t seed) {
  const auto files = valid_model();
  const TempDir temp_dir("modelfuzz");
  const fs::path dir = temp_dir.path();
  auto write_all = [&] {
    fs::create_directories(dir / "1_Pooling");
    fs::create_directories(dir / "2_Normalize");
    for (const auto& [name, bytes] : files) write(dir / name, bytes);
  };
  write_all();
  {  // The valid model loads and embeds: otherwise every round below tests nothing.
    auto e = make_bert_embedder(dir, "fuzz/valid", 1);
    if (!e.is_ok() || (*e)->embed("hello world").empty()) {
      std::fprintf(stderr, "model fuzz: the valid model does not load: %s\n",
                   e.is_ok() ? "empty vector" : e.status().message().c_str());
      return 1;
    }
  }
  Mutator mutate(seed);
  std::vector<std::string> names;
  for (const auto& [name, bytes] : files) names.push_back(name);
  size_t rounds = 0, loaded = 0, bad_vectors = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string& name = names[mutate.pick(names.size())];
    std::string bytes = files.at(name);
    const bool is_json = name.ends_with(".json");
    if (is_json && mutate.pick(2) == 0) {
      json j = json::parse(bytes);
      mutate.structure(j);
      bytes = j.dump();
    } else if (name == "model.safetensors" && mutate.pick(2) == 0) {
      // Edit inside the header (the JSON after the 8-byte length), where the offsets are.
      uint64_t n = 0;
      for (int b = 0; b < 8; ++b)
        n |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[b])) << (8 * b);
      std::string header = bytes.substr(8, n);
      json j = json::parse(header, nullptr, false);
      if (!j.is_discarded()) {
        mutate.structure(j);
        std::string edited = j.dump();
        edited.resize(std::max(edited.size(), header.size()), ' ');
        uint64_t m = edited.size();
        std::string out(8, '\0');
        for (int b = 0; b < 8; ++b) out[b] = static_cast<char>((m >> (8 * b)) & 0xff);
        bytes = out + edited + bytes.substr(8 + n);
      }
    } else {
      bytes = mutate.bytes(std::move(bytes));
    }
    if (mutate.pick(8) == 0) {
      fs::remove(dir / name);  // a missing file
    } else {
      write(dir / name, bytes);
    }
    auto embedder = make_bert_embedder(dir, "fuzz/model", 1 + static_cast<int>(mutate.pick(2)));
    if (embedder.is_ok()) {
      ++loaded;
      for (const char* text : {"hello world", "", "Memory, the WORLD. ♥ 東京 ##s"}) {
        std::vector<float> v = (*embedder)->embed(text);
        bool finite = true;
        for (float x : v) finite = finite && std::isfinite(x);
        // A damaged model may compute nonsense, but never non-finite numbers or a wrong size.
        if (!v.empty() && (v.size() != (*embedder)->dimension() || !finite)) ++bad_vectors;
      }
    }
    write(dir / name, files.at(name));  // back to valid for the next round
    ++rounds;
  }
  std::printf(
      "model fuzz: %zu damaged models in %d s (seed %u): %zu loaded anyway, %zu gave "
      "a vector of the wrong size or with non-finite values\n",
      rounds, seconds, seed, loaded, bad_vectors);
  return bad_vectors == 0 ? 0 : 1;
}

}  // namespace mcpmem
