// IndexFollower: the vector index kept in step with the database, and persisted beside it.
//
// Loading: the persisted index file (`<db>.index`, index/index_file.h) is mapped when its stamp
// matches this database (model, database id, and the change `seq` it may hold has the version
// it recorded); else every vector is read out of SQLite, and the file is (re)written so the
// next process maps it. Either way the index then advances along the change log past the
// position it reflects. Our own writes and other processes' writes take that same path, so
// nothing written by anyone is missing from search, and nothing tombstoned stays in it. Rows
// alive without a vector (written by another program, or after a model change) are embedded
// and their vectors stored as the follower meets them.
//
// Servers (load_in_background) also keep a maintenance thread: it rewrites the file when many
// rows changed since it was written, and once the store reaches Config::hnsw_threshold memories
// it loads (or builds, then saves as `<db>.index.hnsw`) an HNSW graph that proposes candidates
// for unfiltered searches. Rows changed since the graph last caught up are searched exactly
// beside its candidates, and every answer is re-ranked exactly, so a write never waits for the
// graph. Filtered searches always scan the rows that pass the filter exactly.
//
// Thread-safety: safe from many threads. Loading, catching up and writing the file hold mu_; a
// catch-up that finds nothing new (no commit of ours pending, PRAGMA data_version unchanged)
// takes no lock, so concurrent searches do not convoy on it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "core/thread_annotations.h"
#include "embed/embedder.h"
#include "index/hnsw_index.h"
#include "index/vector_index.h"
#include "storage/database.h"

namespace mcpmem {

struct IndexOptions {
  std::string file_path;          // the persisted index; "" = none (in-memory databases, opt-out)
  size_t hnsw_threshold = 0;      // HNSW once this many rows are indexed (0 = never; servers only)
  HnswParams hnsw;                // graph parameters
  double hnsw_min_recall = 0.95;  // Config::hnsw_min_recall
};

// A graph measured against exact scans on the store's own vectors. It is searched only when
// good(): recall@10 at least `min_recall` and kMinSpeedup times as fast as the exact scan. The
// margin keeps a store whose two paths time alike (small stores; both dominated by reading
// rows) from going approximate on noise. min_recall <= 0 accepts any graph.
struct GraphCheck {
  static constexpr double kMinSpeedup = 1.25;
  double recall = 0, graph_ms = 0, exact_ms = 0;
  bool good(double min_recall) const;
  std::string describe() const;  // "recall@10 0.98 in 0.3 ms against exact scans in 2.1 ms"
};

// What `index status` and the stats report.
struct IndexState {
  bool loaded = false;
  size_t rows = 0;
  size_t rows_in_memory = 0;  // changed since the file was written
  std::string file_path;
  bool file_mapped = false;
  uint64_t file_bytes = 0;
  int64_t file_seq = 0;      // the change-log position the mapped file reflects
  std::string hnsw_state;    // "off", "below threshold", "building", "ready", "refused"
  std::string hnsw_verdict;  // the graph's measured recall and speed against exact scans
  size_t hnsw_rows = 0;
  size_t hnsw_pending = 0;  // rows changed since the graph caught up (searched exactly)
  size_t memory_bytes = 0;  // RAM held by the index and graph (the mapped file not counted)
};

// OK when an index file stamped `stamp` holds a state of `db` that its change log can advance,
// for vectors of `model`; else FailedPrecondition saying why it would be rebuilt (a file made by
// another model, from another database, or ahead of this one: restored from a backup).
Status index_stamp_matches(Database& db, const std::string& model, const IndexStamp& stamp,
                           const std::string& path);

class IndexFollower {
 public:
  // Vectors a writer has just stored, by row id, so a catch-up need not read them back.
  using KnownVectors = std::unordered_map<int64_t, std::vector<float>>;

  // `db` and `embedder` outlive the follower.
  IndexFollower(Database& db, const Embedder& embedder, IndexOptions options = {});
  ~IndexFollower();  // a background load stops at its next row; maintenance stops; both joined
  IndexFollower(const IndexFollower&) = delete;
  IndexFollower& operator=(const IndexFollower&) = delete;

  // Starts loading on a thread of its own, then maintenance (servers). Without it, the first
  // wait_until_loaded() loads on the caller's thread (a CLI that may never search pays nothing).
  void load_in_background() MCP_EXCLUDES(mu_);
  // Blocks until the load finished; its error, if it failed (every later call returns it).
  Status wait_until_loaded() MCP_EXCLUDES(mu_);
  // The load finished (with or without an error).
  bool loaded() const { return loaded_.load(); }
  // The load finished without an error.
  bool ready() const { return usable_.load(); }

  // Records a commit made through this process; the next catch_up() applies it.
  void note_own_write() { ++own_writes_; }
  // Applies every change-log entry after the last one applied. Before the load finished it does
  // nothing (the load catches up when it ends).
  Status catch_up(const KnownVectors* known = nullptr) MCP_EXCLUDES(mu_);
  // wait_until_loaded() and catch_up(): after it, the index holds every committed vector.
  Status bring_up_to_date() MCP_EXCLUDES(mu_);

  // The k rows most similar to `query`, exactly ranked, after bringing the index up to date.
  // With `candidates`, only those ids (filters apply before the top-k).
  Result<std::vector<Neighbor>> search(std::span<const float> query, size_t k,
                                       const std::vector<int64_t>* candidates = nullptr)
      MCP_EXCLUDES(mu_);

  // Rewrites the index file from the database (`index rebuild`), and the HNSW graph too when
  // the store is at the threshold. Blocks until both are on disk.
  Status rebuild() MCP_EXCLUDES(mu_);
  IndexState state() const MCP_EXCLUDES(mu_);

  // Rows in the index (VectorIndex is safe from many threads).
  size_t size() const { return index_.size(); }

 private:
  struct Hnsw;  // the graph and the rows it has not caught up with (index_maintenance.cpp)

  Status load() MCP_EXCLUDES(mu_);
  // Maps the file when it matches the database; the reason when it does not.
  Result<std::shared_ptr<const IndexFileView>> open_matching_file() MCP_REQUIRES(mu_);
  Status load_from_database() MCP_REQUIRES(mu_);
  Status write_file() MCP_REQUIRES(mu_);
  Result<IndexStamp> current_stamp() MCP_REQUIRES(mu_);
  Status recover_from_damage() MCP_EXCLUDES(mu_);
  Status recover_from_damage_locked() MCP_REQUIRES(mu_);
  Status embed_missing_vectors() MCP_REQUIRES(mu_);
  Status catch_up_locked(const KnownVectors* known) MCP_REQUIRES(mu_);
  Status apply_upsert(int64_t id, const KnownVectors* known, std::vector<float>& scratch)
      MCP_REQUIRES(mu_);
  bool file_is_stale() const;

  // index_maintenance.cpp: the maintenance thread and the HNSW graph.
  void maintain();
  void maintenance_round();
  // Loads the saved graph when it matches the database, else builds one.
  Status start_hnsw() MCP_EXCLUDES(mu_);
  Status build_hnsw() MCP_EXCLUDES(mu_);
  Status catch_up_hnsw(size_t max_rows);
  Status save_hnsw() MCP_EXCLUDES(mu_);
  void note_changed_for_hnsw(int64_t id, int64_t seq);
  std::vector<int64_t> hnsw_candidates(std::span<const float> query, size_t k) const;
  void describe_hnsw(IndexState& state) const;
  std::optional<GraphCheck> measure_graph(const HnswIndex& graph, const std::vector<int64_t>& ids);
  void write_refusal(const std::string& path, size_t rows, const std::string& why);
  bool read_refusal(const std::string& path);

  Database& db_;
  const Embedder& embedder_;
  const IndexOptions options_;
  // Changed only with mu_ held (loading, catching up); searched without it.
  VectorIndex index_;
  std::unique_ptr<Hnsw> hnsw_;  // made in the constructor; its own locks

  mutable Mutex mu_;
  std::condition_variable loaded_cv_;  // signalled when loaded_ becomes true
  bool load_started_ MCP_GUARDED_BY(mu_) = false;
  Status load_error_ MCP_GUARDED_BY(mu_);
  int64_t seq_ MCP_GUARDED_BY(mu_) = 0;           // last change-log seq applied to index_
  std::atomic<int64_t> file_seq_{0};              // the change-log position of the mapped file
  bool file_failed_ MCP_GUARDED_BY(mu_) = false;  // writing it failed once: not retried
  std::thread loader_;

  // Maintenance (servers) runs on loader_ once loaded: every second, or at once on wake_.
  std::condition_variable wake_;

  // Read without mu_ by the lock-free fast path of catch_up(); written with mu_ held (except
  // own_writes_, counted by every writer, and closing_, set by the destructor).
  std::atomic<bool> loaded_{false};
  std::atomic<bool> usable_{false};  // loaded without an error: searches skip mu_
  std::atomic<bool> closing_{false};
  std::atomic<bool> maintaining_{false};
  std::atomic<bool> long_work_{false};  // maintenance holds mu_ for seconds: searches don't wait
  std::atomic<int64_t> own_writes_{0};  // commits made through this process
  std::atomic<int64_t> own_writes_applied_{0};  // own_writes_ as of the last complete catch-up
  std::atomic<int64_t> data_version_{-1};       // PRAGMA data_version read before that catch-up
};

}  // namespace mcpmem
