// VectorIndex: exact top-k cosine search over L2-normalized float32 vectors.
//
// Rows live in two places: a mapped index file (IndexFileView, read-only, written by
// write_file()) and rows in RAM for what changed since (a float32 matrix plus its int8 copy).
// A file row that is replaced or removed is only marked dead. A search scans the int8 rows
// (AVX2 when the CPU has it, chosen at run time; scalar otherwise), bounds each row's error,
// and rescores in float32 every row whose upper bound reaches the k-th best lower bound, so the
// answer equals a full float32 scan (docs/index.md has the proof). Large scans are split across
// threads. A file row whose float32 checksum fails is left out and damaged() turns true: the
// owner then rebuilds from the database.
// Thread-safety: safe from many threads (searches share a lock, writes take it exclusively;
// a write holds it for one row's copy, so a search waits at most that long).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/thread_annotations.h"
#include "index/index_file.h"

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
  // The vector of `id`, if it is in the index.
  std::optional<std::vector<float>> get(int64_t id) const;
  void clear();  // also lets go of the file
  void reserve(size_t rows);

  // Rests the index on `file`: its rows become the index's rows; rows held in RAM are dropped.
  void adopt_file(std::shared_ptr<const IndexFileView> file);
  std::shared_ptr<const IndexFileView> file() const;
  size_t rows_in_memory() const;  // rows added or replaced since the file
  size_t dead_file_rows() const;  // file rows replaced or removed since
  // Writes every row to an index file at `path` (atomically: readers of `path` see the old file
  // or this one). Searches go on meanwhile; writes wait for it.
  Status write_file(const std::string& path, const IndexStamp& stamp) const;
  // Calls fn(id, vector) for every row (under the read lock: fn must not write to the index).
  void for_each(const std::function<void(int64_t, std::span<const float>)>& fn) const;
  // A file row failed its checksum during a search (it was left out of the answer).
  bool damaged() const { return damaged_.load(); }

  // Threads a large scan is split across (default: the machine's cores, at most 8).
  void set_threads(size_t threads);

  // The k best rows by cosine, best first (ties: smaller id first). When `candidates` is given,
  // only those ids are considered (ids not in the index are ignored): filters apply before
  // the top-k, never after.
  std::vector<Neighbor> search(std::span<const float> query, size_t k,
                               const std::vector<int64_t>* candidates = nullptr) const;

  // Forces an implementation (tests and benchmarks); the default is the best the CPU has.
  void set_simd_level(SimdLevel level);
  SimdLevel simd_level() const;
  static SimdLevel best_simd_level();

  // Bytes held in RAM by the matrices and maps (for stats); the mapped file is not counted.
  size_t memory_bytes() const;

 private:
  struct Impl;
  size_t dimension_;
  mutable std::atomic<bool> damaged_{false};
  mutable SharedMutex mu_;
  std::unique_ptr<Impl> impl_ MCP_PT_GUARDED_BY(mu_);  // the rows: read shared, written exclusive
};

}  // namespace mcpmem
