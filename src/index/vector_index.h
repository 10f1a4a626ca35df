// VectorIndex: exact top-k cosine search over L2-normalized float32 vectors held in RAM.
//
// Layout: vectors are rows of one contiguous 32-byte-aligned float32 matrix, plus an int8 copy
// (per-row scale) used to skip rows that cannot reach the top-k. A search scans the int8 rows
// (AVX2 when the CPU has it, chosen at run time; scalar otherwise), bounds each row's error,
// and rescores in float32 every row whose upper bound reaches the k-th best lower bound, so the
// answer equals a full float32 scan (docs/index.md has the proof). Removing swaps the last row
// into the hole.
// Thread-safety: safe from many threads (searches share a lock, writes take it exclusively).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/status.h"
#include "core/thread_annotations.h"

namespace mcpmem {

struct Neighbor {
  int64_t id = 0;
  float cosine = 0;  // dot product of unit vectors, in [-1, 1]
};

enum class SimdLevel { kScalar, kAvx2 };

class VectorIndex {
 public:
  explicit VectorIndex(size_t dimension);
  ~VectorIndex();
  VectorIndex(const VectorIndex&) = delete;
  VectorIndex& operator=(const VectorIndex&) = delete;

  size_t dimension() const { return dimension_; }
  size_t size() const;

  // Adds or replaces the vector of `id`. InvalidArgument if v.size() != dimension().
  Status upsert(int64_t id, std::span<const float> v);
  void remove(int64_t id);
  bool contains(int64_t id) const;
  void clear();
  void reserve(size_t rows);

  // The k best rows by cosine, best first (ties: smaller id first). When `candidates` is given,
  // only those ids are considered (ids not in the index are ignored): filters apply before
  // the top-k, never after.
  std::vector<Neighbor> search(std::span<const float> query, size_t k,
                               const std::vector<int64_t>* candidates = nullptr) const;

  // Forces an implementation (tests and benchmarks); the default is the best the CPU has.
  void set_simd_level(SimdLevel level);
  SimdLevel simd_level() const;
  static SimdLevel best_simd_level();

  // Bytes held by the matrices and maps (for stats).
  size_t memory_bytes() const;

 private:
  struct Impl;
  size_t dimension_;
  mutable SharedMutex mu_;
  std::unique_ptr<Impl> impl_ MCP_PT_GUARDED_BY(mu_);  // the rows: read shared, written exclusive
};

}  // namespace mcpmem
