// JSON nested `depth` levels deep, as arrays `[[[...]]]` and as objects `{"a":{"a":...}}`: the
// inputs of the depth-limit tests (issue 15), shared by the suites of every JSON entry point.
#pragma once

#include <string>
#include <vector>

namespace mcpmem::testing_json {

inline std::string deep_arrays(int depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

inline std::string deep_objects(int depth) {
  std::string s;
  s.reserve(static_cast<size_t>(depth) * 6 + 1);
  for (int i = 0; i < depth; ++i) s += "{\"a\":";
  s += "1";
  s += std::string(depth, '}');
  return s;
}

// Both shapes, 100,000 levels: 200 KB and 600 KB, inside every request size limit.
inline std::vector<std::string> hundred_thousand_deep() {
  return {deep_arrays(100'000), deep_objects(100'000)};
}

}  // namespace mcpmem::testing_json
