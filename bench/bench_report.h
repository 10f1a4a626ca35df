// How every benchmark of `make bench` prints and summarises: one line per figure,
// `BENCH <name> <value> <unit>`, flushed at once so a figure survives a later crash.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

namespace mcpmem::bench {

using Clock = std::chrono::steady_clock;

inline double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

inline void report(const char* name, double value, const char* unit) {
  std::printf("BENCH %s %.3f %s\n", name, value, unit);
  std::fflush(stdout);
}

// The value at fraction `p` of the sorted samples (0.5: the median); `v` must not be empty.
inline double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace mcpmem::bench
