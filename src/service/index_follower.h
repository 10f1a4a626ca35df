// IndexFollower: the in-RAM vector index kept in step with the database. It is loaded once from
// a snapshot of the stored vectors (which names the last change-log seq it includes) and then
// advanced along the change log past that seq. Our own writes and other processes' writes take
// the same path, so nothing written by anyone is missing from search, and nothing tombstoned
// stays in it. Rows alive without a vector (written by another program, or after a model
// change) are embedded and their vectors stored as the follower meets them.
// Thread-safety: safe from many threads. Loading and catching up hold mu_; a catch-up that
// finds nothing new (no commit of ours pending, PRAGMA data_version unchanged) takes no lock,
// so concurrent searches do not convoy on it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "core/thread_annotations.h"
#include "embed/embedder.h"
#include "index/vector_index.h"
#include "storage/database.h"

namespace mcpmem {

class IndexFollower {
 public:
  // Vectors a writer has just stored, by row id, so a catch-up need not read them back.
  using KnownVectors = std::unordered_map<int64_t, std::vector<float>>;

  // `db` and `embedder` outlive the follower.
  IndexFollower(Database& db, const Embedder& embedder);
  ~IndexFollower();  // a background load in progress stops at its next row, then is joined
  IndexFollower(const IndexFollower&) = delete;
  IndexFollower& operator=(const IndexFollower&) = delete;

  // Starts loading on a thread of its own (servers). Without it, the first wait_until_loaded()
  // loads on the caller's thread (a CLI that may never search pays nothing).
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
  // wait_until_loaded() and catch_up(): after it, index() holds every committed vector.
  Status bring_up_to_date() MCP_EXCLUDES(mu_);

  // For searches (VectorIndex is safe from many threads).
  const VectorIndex& index() const { return index_; }

 private:
  Status load() MCP_EXCLUDES(mu_);
  Status embed_missing_vectors() MCP_REQUIRES(mu_);
  Status catch_up_locked(const KnownVectors* known) MCP_REQUIRES(mu_);
  Status apply_upsert(int64_t id, const KnownVectors* known, std::vector<float>& scratch)
      MCP_REQUIRES(mu_);

  Database& db_;
  const Embedder& embedder_;
  // Changed only with mu_ held (loading, catching up); searched without it.
  VectorIndex index_;

  mutable Mutex mu_;
  std::condition_variable loaded_cv_;  // signalled when loaded_ becomes true
  bool load_started_ MCP_GUARDED_BY(mu_) = false;
  Status load_error_ MCP_GUARDED_BY(mu_);
  int64_t seq_ MCP_GUARDED_BY(mu_) = 0;  // last change-log seq applied to index_
  std::thread loader_;

  // Read without mu_ by the lock-free fast path of catch_up(); written with mu_ held (except
  // own_writes_, counted by every writer, and closing_, set by the destructor).
  std::atomic<bool> loaded_{false};
  std::atomic<bool> usable_{false};  // loaded without an error: searches skip mu_
  std::atomic<bool> closing_{false};
  std::atomic<int64_t> own_writes_{0};          // commits made through this process
  std::atomic<int64_t> own_writes_applied_{0};  // own_writes_ as of the last complete catch-up
  std::atomic<int64_t> data_version_{-1};       // PRAGMA data_version read before that catch-up
};

}  // namespace mcpmem
