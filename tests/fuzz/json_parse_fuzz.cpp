// Fuzzes parse_json, the depth-limited parser every JSON entry point uses (core/json_parse.h),
// built with ASan + UBSan, for a bounded time from a fixed seed. Inputs are JSON documents
// mutated by byte edits and by splicing runs of `[`, `{"a":`, `]`, `}` thousands deep anywhere.
// Every input must be answered (never a throw or crash); an accepted value must nest at most
// kMaxJsonDepth levels and survive what the front ends do with it (copy, dump, parse again);
// a refusal must be InvalidArgument.
// Usage: json_parse_fuzz [--seconds N] [--seed S]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/json_parse.h"

namespace mcpmem {
namespace {

using Json = nlohmann::json;

const std::vector<std::string> kSeeds = {
    R"({"jsonrpc":"2.0","id":1,"method":"ping","params":{}})",
    R"({"content":"x","tags":["a","b"],"metadata":{"k":[1,2,{"n":null}]},"memory_type":"note"})",
    R"({"node":"laptop","versions":[{"content":"c","fields":{"tags":"0001"}}]})",
    R"([[1,2],[3,[4,[5]]],{"a":{"b":{"c":[true,false,null,-1.5e300,"\u00e9"]}}}])",
    R"({"embeddings":[[0.1,0.2,0.3]],"data":[{"embedding":[1,2],"index":0}]})",
    "\"just a string\"",
    "12345678901234567890123",
};

// Nesting depth of a parsed value, without recursion (the tree may be as deep as the limit).
int depth_of(const Json& root) {
  int deepest = 0;
  std::vector<std::pair<const Json*, int>> todo = {{&root, 0}};
  while (!todo.empty()) {
    auto [j, d] = todo.back();
    todo.pop_back();
    if (!j->is_structured()) continue;
    deepest = std::max(deepest, d + 1);
    for (const Json& child : *j) todo.push_back({&child, d + 1});
  }
  return deepest;
}

class Fuzzer {
 public:
  explicit Fuzzer(uint32_t seed) : rng_(seed) {}

  std::string next() {
    std::string m = kSeeds[rng_() % kSeeds.size()];
    const int edits = static_cast<int>(rng_() % 5);
    for (int e = 0; e < edits; ++e) mutate(m);
    return m;
  }

 private:
  // Run lengths around the limit and far past it.
  size_t run_length() {
    switch (rng_() % 4) {
      case 0:
        return kMaxJsonDepth - 2 + rng_() % 4;
      case 1:
        return rng_() % 200;
      default:
        return 1000 + rng_() % 100'000;
    }
  }

  void mutate(std::string& m) {
    const size_t at = m.empty() ? 0 : rng_() % (m.size() + 1);
    static const char* const kRuns[] = {"[", "{\"a\":", "]", "}", "[{\"k\":[", ",", "\""};
    switch (rng_() % 5) {
      case 0: {  // a deep run spliced in, sometimes closed again
        const std::string unit = kRuns[rng_() % 5];
        const size_t n = run_length();
        std::string run;
        run.reserve(unit.size() * n);
        for (size_t i = 0; i < n; ++i) run += unit;
        if (rng_() % 2 && (unit == "[" || unit == "{\"a\":")) {
          run += "0" + std::string(n, unit == "[" ? ']' : '}');
        }
        m.insert(at, run);
        break;
      }
      case 1: {  // the whole document wrapped
        const size_t n = run_length();
        m = std::string(n, '[') + m + std::string(n, ']');
        break;
      }
      case 2:
        if (!m.empty()) m[at % m.size()] = kRuns[rng_() % 7][0];
        break;
      case 3:
        if (!m.empty()) m.erase(at % m.size(), 1 + rng_() % 8);
        break;
      default:
        m.resize(at);  // truncated
    }
  }

  std::mt19937 rng_;
};

int run(int seconds, uint32_t seed) {
  Fuzzer fuzz(seed);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  size_t inputs = 0, accepted = 0, too_deep = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    for (int i = 0; i < 20; ++i, ++inputs) {
      const std::string text = fuzz.next();
      auto j = parse_json(text, "the input");
      auto o = parse_ordered_json(text, "the input");
      if (j.is_ok() != o.is_ok()) {
        std::fprintf(stderr, "fuzz: json and ordered_json disagree on %.200s\n", text.c_str());
        return 1;
      }
      if (!j.is_ok()) {
        if (j.status().code() != StatusCode::kInvalidArgument) {
          std::fprintf(stderr, "fuzz: refusal is not InvalidArgument: %s\n",
                       j.status().message().c_str());
          return 1;
        }
        too_deep += is_json_too_deep(j.status());
        continue;
      }
      ++accepted;
      if (depth_of(*j) > kMaxJsonDepth) {
        std::fprintf(stderr, "fuzz: accepted a value %d deep\n", depth_of(*j));
        return 1;
      }
      // What the front ends do with a request: copy it, print it, and read the print back.
      const Json copy = *j;
      const std::string printed = copy.dump(-1, ' ', false, Json::error_handler_t::replace);
      if (!parse_json(printed, "the print").is_ok()) {
        std::fprintf(stderr, "fuzz: a printed value does not parse: %.200s\n", printed.c_str());
        return 1;
      }
    }
  }
  std::printf("fuzz: %zu inputs in %d s (seed %u): %zu accepted, %zu too deep\n", inputs, seconds,
              seed, accepted, too_deep);
  return too_deep > 0 && accepted > 0 ? 0 : 1;  // both paths were exercised
}

}  // namespace
}  // namespace mcpmem

int main(int argc, char** argv) {
  int seconds = 10;
  uint32_t seed = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--seconds") == 0) seconds = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--seed") == 0) seed = static_cast<uint32_t>(std::atoll(argv[i + 1]));
  }
  return mcpmem::run(seconds, seed);
}
