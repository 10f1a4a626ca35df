// The vector index following the change log (see index_follower.h). Why nothing is missed:
// the load reads the stored vectors and the highest change seq in one snapshot, so every change
// after that seq is applied afterwards. A catch-up reads own_writes_ and PRAGMA data_version
// before it reads the change log and publishes them only once the changes are applied, so a
// commit that lands after those reads makes the next fast path see a difference and catch up.
#include "service/index_follower.h"

namespace mcpmem {
namespace {

constexpr int64_t kChangeBatch = 5000;  // change-log rows read per step when catching up
constexpr int64_t kEmbedBatch = 1000;   // rows embedded per transaction

}  // namespace

IndexFollower::IndexFollower(Database& db, const Embedder& embedder)
    : db_(db), embedder_(embedder), index_(embedder.dimension()) {}

IndexFollower::~IndexFollower() {
  closing_ = true;
  if (loader_.joinable()) loader_.join();
}

void IndexFollower::load_in_background() {
  MutexLock lock(mu_);
  if (load_started_) return;
  load_started_ = true;
  loader_ = std::thread([this] { (void)load(); });
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
  return catch_up(nullptr);
}

Status IndexFollower::load() {
  MutexLock lock(mu_);
  if (loaded_) return load_error_;
  Status status = [&]() MCP_REQUIRES(mu_) -> Status {
    // Sized once: growing the matrices while loading would briefly hold two copies.
    MCP_ASSIGN_OR_RETURN(auto rows, db_.count(MemoryFilter{}));
    index_.reserve(static_cast<size_t>(rows));
    auto seq =
        db_.scan_embeddings(embedder_.dimension(), [&](int64_t id, std::span<const float> v) {
          (void)index_.upsert(id, v);
          return !closing_.load(std::memory_order_relaxed);
        });
    if (!seq.is_ok()) return seq.status();
    seq_ = *seq;
    return embed_missing_vectors();
  }();
  if (status.is_ok()) {
    // Published before the final catch-up: a write that commits after that catch-up's read
    // then sees the index as loaded and catches up itself.
    loaded_ = true;
    status = catch_up_locked(nullptr);
  }
  load_error_ = status;
  loaded_ = true;
  usable_ = status.is_ok();
  loaded_cv_.notify_all();
  return status;
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

}  // namespace mcpmem
