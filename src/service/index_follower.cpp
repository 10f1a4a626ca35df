// The vector index following the change log (see index_follower.h). Why nothing is missed:
// the index starts from a state that holds every change up to a known seq (a snapshot of the
// stored vectors read in one transaction, or a file whose stamp names its replay position), and
// every change after that seq is applied afterwards. Re-applying a change is harmless: an upsert
// re-reads the row's current vector, a delete removes. A catch-up reads own_writes_ and PRAGMA
// data_version before it reads the change log and publishes them only once the changes are
// applied, so a commit that lands after those reads makes the next fast path see a difference.
#include "service/index_follower.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

#include "platform/durable_file.h"

namespace mcpmem {
namespace {

constexpr int64_t kChangeBatch = 5000;  // change-log rows read per step when catching up
constexpr int64_t kEmbedBatch = 1000;   // rows embedded per transaction
// Servers rewrite the file once this many of its rows changed since it was written (the larger
// of the two): a later process then replays less and holds fewer rows in RAM.
constexpr size_t kStaleRowsMin = 10000;
constexpr double kStaleShare = 0.05;

}  // namespace

void IndexFollower::load_in_background() {
  MutexLock lock(mu_);
  if (load_started_) return;
  load_started_ = true;
  maintaining_ = true;
  loader_ = std::thread([this] {
    if (load().is_ok()) maintain();
  });
}

Status IndexFollower::wait_until_loaded() {
  if (usable_) return Status::ok();
  {
    MutexLock lock(mu_);
    if (load_started_) {
      loaded_cv_.wait(lock.native(), [&] { return loaded_.load(); });
      return load_error_;
    }
    load_started_ = true;
  }
  return load();
}

Status IndexFollower::bring_up_to_date() {
  MCP_RETURN_IF_ERROR(wait_until_loaded());
  // While maintenance holds mu_ for long work (rewriting the file, saving the graph: seconds
  // at a million rows), a search answers from the index as it stands instead of waiting: it
  // holds every change applied before. Writes through this process still wait until their
  // own change is applied, so a store that returned is found.
  if (long_work_) return Status::ok();
  return catch_up(nullptr);
}

Status IndexFollower::load() {
  MutexLock lock(mu_);
  if (loaded_) return load_error_;
  bool mapped = false;
  Status status = [&]() MCP_REQUIRES(mu_) -> Status {
    if (!options_.file_path.empty()) {
      remove_abandoned_temporaries(options_.file_path);
      remove_abandoned_temporaries(options_.file_path + ".hnsw");
      auto file = open_matching_file();
      if (file.is_ok()) {
        const IndexStamp& stamp = (*file)->info().stamp;
        index_.adopt_file(*file);
        seq_ = stamp.replay_from;
        file_seq_ = stamp.replay_from;
        mapped = true;
        return Status::ok();
      }
      if (file.status().code() != StatusCode::kNotFound) {
        spdlog::warn("not using the index file: {}; rebuilding it from the database",
                     file.status().message());
      }
    }
    MCP_RETURN_IF_ERROR(load_from_database());
    return embed_missing_vectors();
  }();
  if (status.is_ok()) {
    // Published before the final catch-up: a write that commits after that catch-up's read
    // then sees the index as loaded and catches up itself.
    loaded_ = true;
    status = catch_up_locked(nullptr);
  }
  // A one-shot process writes the file now when it was unusable or far behind, so the next one
  // maps it and replays little; servers leave that to maintenance, off their first search.
  if (status.is_ok() && !maintaining_ && (!mapped || file_is_stale())) status = write_file();
  load_error_ = status;
  loaded_ = true;
  usable_ = status.is_ok();
  loaded_cv_.notify_all();
  return status;
}

Result<std::shared_ptr<const IndexFileView>> IndexFollower::open_matching_file() {
  MCP_ASSIGN_OR_RETURN(auto file, IndexFileView::open(options_.file_path, embedder_.dimension()));
  MCP_RETURN_IF_ERROR(
      index_stamp_matches(db_, embedder_.model_id(), file->info().stamp, options_.file_path));
  return file;
}

Status index_stamp_matches(Database& db, const std::string& model, const IndexStamp& stamp,
                           const std::string& path) {
  if (stamp.model != model) {
    return Status::failed_precondition(path + " holds vectors of " + stamp.model +
                                       ", this database's are " + model + "'s");
  }
  MCP_ASSIGN_OR_RETURN(auto database_id, db.database_id());
  if (stamp.database_id != database_id) {
    return Status::failed_precondition(path + " was made from another database");
  }
  if (stamp.seq > 0) {
    MCP_ASSIGN_OR_RETURN(auto version, db.change_version(stamp.seq));
    if (!version.has_value() || *version != stamp.seq_version) {
      return Status::failed_precondition(
          path +
          " reflects changes this database does not have (restored from a backup or a "
          "replica?)");
    }
  }
  return Status::ok();
}

Status IndexFollower::load_from_database() {
  index_.clear();
  // Sized once: growing the matrices while loading would briefly hold two copies.
  MCP_ASSIGN_OR_RETURN(auto rows, db_.count(MemoryFilter{}));
  index_.reserve(static_cast<size_t>(rows));
  auto seq = db_.scan_embeddings(embedder_.dimension(), [&](int64_t id, std::span<const float> v) {
    (void)index_.upsert(id, v);
    return !closing_.load(std::memory_order_relaxed);
  });
  if (!seq.is_ok()) return seq.status();
  seq_ = *seq;
  file_seq_ = 0;
  data_version_ = -1;  // the next catch-up reads the log whatever the version says
  return Status::ok();
}

Result<IndexStamp> IndexFollower::current_stamp() {
  IndexStamp stamp;
  stamp.model = embedder_.model_id();
  stamp.dimension = static_cast<uint32_t>(embedder_.dimension());
  MCP_ASSIGN_OR_RETURN(stamp.database_id, db_.database_id());
  stamp.seq = seq_;
  stamp.replay_from = seq_;
  if (seq_ > 0) {
    MCP_ASSIGN_OR_RETURN(auto version, db_.change_version(seq_));
    stamp.seq_version = version.value_or("");
  }
  return stamp;
}

Status IndexFollower::write_file() {
  if (options_.file_path.empty() || file_failed_ || closing_) return Status::ok();
  const std::string& path = options_.file_path;
  MCP_ASSIGN_OR_RETURN(auto stamp, current_stamp());
  // mu_ is held: no change is applied while the rows are written, so the stamp is exact.
  Status written = index_.write_file(path, stamp);
  if (written.code() == StatusCode::kCorruption) return recover_from_damage_locked();
  auto file = written.is_ok() ? IndexFileView::open(path, embedder_.dimension())
                              : Result<std::shared_ptr<const IndexFileView>>(written);
  const bool replaced_by_another =
      written.is_ok() && (file.is_ok() ? (*file)->info().stamp != stamp
                                       : file.status().code() == StatusCode::kNotFound);
  if (replaced_by_another) {
    // Another process wrote the file between our rename and this open (on Windows the name is
    // even missing for an instant while it replaces it). What is there now may hold less than
    // we do, so our rows stay in memory; our next write maps a file of ours.
    return Status::ok();
  }
  if (!file.is_ok()) {
    // Not fatal: searches are right without the file, only the next start is slower.
    file_failed_ = true;
    spdlog::warn(
        "could not write the index file {}: {}; each start reads the vectors from the "
        "database until it can",
        path, file.status().message());
    return Status::ok();
  }
  index_.adopt_file(*file);  // the rows in RAM are in the file: they are let go
  file_seq_ = seq_;
  return Status::ok();
}

bool IndexFollower::file_is_stale() const {
  if (!index_.file()) return true;
  const size_t changed = index_.rows_in_memory() + index_.dead_file_rows();
  return changed > std::max(kStaleRowsMin, static_cast<size_t>(kStaleShare * index_.size()));
}

Status IndexFollower::recover_from_damage() {
  MutexLock lock(mu_);
  return recover_from_damage_locked();
}

Status IndexFollower::recover_from_damage_locked() {
  if (!index_.damaged()) return Status::ok();  // another thread recovered already
  spdlog::warn("the index file {} failed a checksum: rebuilding it from the database",
               options_.file_path);
  std::error_code ec;
  std::filesystem::remove(options_.file_path, ec);
  MCP_RETURN_IF_ERROR(load_from_database());  // clear() forgets the damage
  MCP_RETURN_IF_ERROR(catch_up_locked(nullptr));
  return write_file();
}

Status IndexFollower::embed_missing_vectors() {
  std::vector<float> vec(embedder_.dimension());
  for (;;) {
    MCP_ASSIGN_OR_RETURN(auto rows, db_.memories_without_embedding(kEmbedBatch));
    if (rows.empty()) return Status::ok();
    std::vector<std::pair<int64_t, std::vector<float>>> made;
    made.reserve(rows.size());
    for (const Memory& m : rows) {
      MCP_RETURN_IF_ERROR(embedder_.embed(m.content, vec));
      made.emplace_back(m.id, vec);
    }
    MCP_RETURN_IF_ERROR(db_.write_transaction([&]() -> Status {
      for (const auto& [id, v] : made) MCP_RETURN_IF_ERROR(db_.put_embedding(id, v));
      return Status::ok();
    }));
    for (const auto& [id, v] : made) MCP_RETURN_IF_ERROR(index_.upsert(id, v));
  }
}

Status IndexFollower::catch_up(const KnownVectors* known) {
  if (!loaded_) return Status::ok();  // the loader catches up when it finishes
  if (known == nullptr && own_writes_applied_ == own_writes_) {
    // Nothing of ours is pending and no other connection committed since the last complete
    // catch-up: no lock (16 concurrent searches convoyed on it).
    MCP_ASSIGN_OR_RETURN(auto version, db_.data_version());
    if (version == data_version_ && own_writes_applied_ == own_writes_) return Status::ok();
  }
  MutexLock lock(mu_);
  return catch_up_locked(known);
}

Status IndexFollower::catch_up_locked(const KnownVectors* known) {
  // data_version moves only when another connection commits; our own commits count up
  // own_writes_. Both are read before the changes, so nothing committed after the reads can be
  // skipped, and both are published only once the changes are applied.
  const int64_t own = own_writes_;
  MCP_ASSIGN_OR_RETURN(auto version, db_.data_version());
  if (own == own_writes_applied_ && known == nullptr && version == data_version_) {
    return Status::ok();
  }
  // Another process may have re-embedded every vector with another model (mcp-memory
  // reindex): ours would compare queries with vectors of a model we do not run.
  if (version != data_version_) MCP_RETURN_IF_ERROR(db_.check_vector_model());
  std::vector<float> vec(embedder_.dimension());
  for (;;) {
    MCP_ASSIGN_OR_RETURN(auto changes, db_.changes_since(seq_, kChangeBatch));
    for (const Change& c : changes) {
      if (c.op == "upsert") {
        MCP_RETURN_IF_ERROR(apply_upsert(c.memory_id, known, vec));
      } else if (c.op != "conflict") {
        index_.remove(c.memory_id);
      }
      if (c.op != "conflict") note_changed_for_hnsw(c.memory_id, c.seq);
      seq_ = c.seq;
    }
    if (changes.size() < static_cast<size_t>(kChangeBatch)) break;
  }
  data_version_ = version;
  own_writes_applied_ = own;
  return Status::ok();
}

Status IndexFollower::apply_upsert(int64_t id, const KnownVectors* known, std::vector<float>& vec) {
  if (known != nullptr) {
    if (auto it = known->find(id); it != known->end()) return index_.upsert(id, it->second);
  }
  MCP_ASSIGN_OR_RETURN(auto stored, db_.get_embedding(id, embedder_.dimension()));
  if (stored.has_value()) return index_.upsert(id, *stored);
  // Alive without a vector (written by another program), or no longer alive.
  MCP_ASSIGN_OR_RETURN(auto rows, db_.get_by_ids({id}));
  if (rows.empty() || rows.front().is_deleted()) {
    index_.remove(id);
    return Status::ok();
  }
  MCP_RETURN_IF_ERROR(embedder_.embed(rows.front().content, vec));
  MCP_RETURN_IF_ERROR(db_.put_embedding(id, vec));
  return index_.upsert(id, vec);
}

Result<std::vector<Neighbor>> IndexFollower::search(std::span<const float> query, size_t k,
                                                    const std::vector<int64_t>* candidates) {
  MCP_RETURN_IF_ERROR(bring_up_to_date());
  for (int attempt = 0;; ++attempt) {
    std::vector<Neighbor> found;
    bool exact = candidates != nullptr;
    if (!exact) {
      std::vector<int64_t> proposed = hnsw_candidates(query, k);
      exact = proposed.empty();
      if (!exact) {
        found = index_.search(query, k, &proposed);
        // Too few live candidates (many rows deleted since the graph was built): scan.
        exact = found.size() < std::min(k, index_.size());
      }
    }
    if (exact) found = index_.search(query, k, candidates);
    if (!index_.damaged()) return found;
    if (attempt > 0) return Status::corruption("the vector index is damaged and was rebuilt twice");
    MCP_RETURN_IF_ERROR(recover_from_damage());
  }
}

Status IndexFollower::rebuild() {
  MCP_RETURN_IF_ERROR(wait_until_loaded());
  {
    MutexLock lock(mu_);
    MCP_RETURN_IF_ERROR(load_from_database());
    MCP_RETURN_IF_ERROR(embed_missing_vectors());
    MCP_RETURN_IF_ERROR(catch_up_locked(nullptr));
    file_failed_ = false;
    if (!options_.file_path.empty()) {
      MCP_RETURN_IF_ERROR(write_file());
      if (file_failed_) return Status::io_error("could not write " + options_.file_path);
    }
  }
  if (options_.hnsw_threshold == 0 || index_.size() < options_.hnsw_threshold) return Status::ok();
  MCP_RETURN_IF_ERROR(build_hnsw());
  return save_hnsw();
}

IndexState IndexFollower::state() const {
  IndexState s;
  s.loaded = loaded_;
  s.rows = index_.size();
  s.rows_in_memory = index_.rows_in_memory();
  s.file_path = options_.file_path;
  if (auto file = index_.file()) {
    s.file_mapped = true;
    s.file_bytes = file->mapped_bytes();
  }
  s.file_seq = file_seq_;
  describe_hnsw(s);
  s.memory_bytes += index_.memory_bytes();
  return s;
}

}  // namespace mcpmem
