// Random unit vectors for the index tests: gaussian coordinates, normalized (in double).
#pragma once

#include <cmath>
#include <random>
#include <vector>

namespace mcpmem::testing_util {

inline std::vector<float> random_unit(std::mt19937& rng, size_t dim = 384) {
  std::normal_distribution<float> n(0, 1);
  std::vector<float> v(dim);
  double s = 0;
  for (float& x : v) {
    x = n(rng);
    s += static_cast<double>(x) * x;
  }
  for (float& x : v) x = static_cast<float>(x / std::sqrt(s));
  return v;
}

}  // namespace mcpmem::testing_util
