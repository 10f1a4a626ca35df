// HnswIndex: approximate nearest neighbours (hnswlib 0.6.2's HNSW graph) for stores too large to
// scan. It only proposes candidates: the caller re-ranks them exactly in float32
// (VectorIndex::search with `candidates`), so the graph keeps no float32 vectors. Each element
// holds an int8 copy of its unit vector (per-vector scale s = max|v|/127, q = round(v/s), padded
// to a multiple of 32 bytes) and s; the distance is 1 - sa*sb*dot_i8(qa, qb), an integer dot
// (AVX2 when the CPU has it, chosen at run time; scalar otherwise; both give the same integer).
// At 384 dimensions and M = 16 an element costs ~655 bytes in all (memory_bytes(): the 528-byte
// hnswlib element, its lock, upper links, id map), ~650 MB per million.
//
// Defaults, measured by tests/index/hnsw_index_test.cpp (recall@10 after exact re-ranking, 100k
// vectors, 200 queries): M = 16, ef_construction = 200, ef_search = 1280, and
// hnsw_candidate_count(k) candidates. Clustered gaussians reach 1.00 already at ef 128; hash-384
// embeddings of generated text have near-tied neighbours with little structure (the true top 10
// spans cosines 0.41-0.37 above a sea at 0.36) and reach 0.97 only at ef 1280 (0.63 at ef 128,
// 0.96 at ef 1024; ef_construction 100 costs ~0.01). The int8 order is not the limit: its
// top 32 (brute force) re-ranked holds the exact top 10 of every text query; the graph walk is.
//
// Persistence: hnswlib's own saveIndex/loadIndex trust the file (loadIndex does not check link
// ids, so one flipped byte becomes an out-of-bounds read), so save() writes the graph in our
// container (the format is in hnsw_index.cpp) and load() checks the header, the IndexStamp, the
// length and an XXH3 checksum of every byte, then every level and link id, before it builds a
// graph: a damaged or foreign file is an error, never a crash or a trusted bad graph.
//
// Thread-safety: safe from many threads. search() and the accessors share a lock; add, remove
// and add_many take it exclusively (hnswlib 0.6.2 cannot mark deletions or update points while
// it searches), so a long add_many blocks searches: build a fresh index aside and swap it in.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "core/thread_annotations.h"
#include "index/index_stamp.h"
#include "index/vector_index.h"  // SimdLevel

namespace mcpmem {

inline constexpr size_t kHnswDefaultEfSearch = 1280;
// Candidates to ask for a top-k that is then re-ranked exactly: a few times k, never fewer
// than kHnswMinCandidates (the int8 distance reorders near-ties; re-ranking puts them back;
// 32 already suffice for k = 10 on the text set).
inline constexpr size_t kHnswMinCandidates = 64;
inline size_t hnsw_candidate_count(size_t k) {
  return k * 4 > kHnswMinCandidates ? k * 4 : kHnswMinCandidates;
}

struct HnswParams {
  size_t m = 16;                 // links per element and level (2*m on level 0): memory vs recall
  size_t ef_construction = 200;  // breadth of the search that links a new element
  size_t ef_search = kHnswDefaultEfSearch;  // breadth of a query (at least the count asked)
};

class HnswIndex {
 public:
  explicit HnswIndex(size_t dimension, HnswParams params = {});
  ~HnswIndex();
  HnswIndex(const HnswIndex&) = delete;
  HnswIndex& operator=(const HnswIndex&) = delete;

  size_t dimension() const { return dimension_; }
  const HnswParams& params() const { return params_; }
  size_t size() const;     // live elements
  size_t deleted() const;  // elements marked deleted (they stay in the graph as waypoints)

  // Inserts `id`, or replaces the vector of an existing id (un-deleting it). Capacity grows by
  // an eighth (at least 1024) when full. InvalidArgument if v.size() != dimension().
  Status add(int64_t id, std::span<const float> v);
  // Marks `id` deleted: searches never return it again until it is added back. Unknown ids
  // and ids already removed are ignored.
  void remove(int64_t id);

  // Adds every (id, vector) `next` yields (it returns false at the end) on `threads` threads.
  // `next` is called from one thread at a time, so it need not be thread-safe. An id seen twice
  // (or already in the index) is replaced, as by add(). Holds the lock exclusively throughout.
  // InvalidArgument for a vector of another dimension (the vectors before it are in).
  Status add_many(const std::function<bool(int64_t& id, std::vector<float>& v)>& next,
                  size_t threads);

  // Up to `count` live ids, best first (ef = max(ef_search, count)). Empty for a query of
  // another dimension.
  std::vector<int64_t> search(std::span<const float> query, size_t count) const;

  // Writes the graph to `path` atomically (temporary file beside it, fsync, rename, fsync of
  // the directory), mode 0600. IoError when the file cannot be written.
  Status save(const std::string& path, const IndexStamp& stamp) const;
  // Reads a graph written by save() and the stamp stored with it (the caller checks it against
  // the database). NotFound when there is no file, IoError when it cannot be read, Corruption
  // for a damaged or foreign file, FailedPrecondition for a graph of another dimension.
  static Result<std::pair<std::unique_ptr<HnswIndex>, IndexStamp>> load(const std::string& path,
                                                                        size_t dimension);

  // Forces the distance kernel (tests and benchmarks); the default is the best the CPU has.
  // Both give the same integer dot, hence the same graph.
  void set_simd_level(SimdLevel level);

  // Bytes held by the graph, its locks and maps (approximate, for stats).
  size_t memory_bytes() const;

 private:
  struct Impl;
  // Readers pass through turnstile_ (lock, unlock) before they take mu_ shared; a writer holds
  // it while it waits for mu_. libstdc++'s shared_mutex (glibc's rwlock) prefers readers, so
  // without it searches overlapping on a few threads would starve add and remove forever.
  void wait_for_writers() const MCP_EXCLUDES(turnstile_) { MutexLock pass(turnstile_); }

  size_t dimension_;
  HnswParams params_;
  mutable Mutex turnstile_;
  mutable SharedMutex mu_;
  std::unique_ptr<Impl> impl_ MCP_PT_GUARDED_BY(mu_);  // the graph: searched shared, changed
                                                       // exclusive
};

}  // namespace mcpmem
