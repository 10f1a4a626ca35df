// Sync: applying versions from elsewhere (import files, other nodes) by the merge rule
// (merge.h: one pure function, so import and live sync cannot disagree), recording edits that
// lost to concurrent ones in sync_conflicts; the change feed other nodes pull; conflicts; sync
// state.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <unordered_map>

#include "core/content_hash.h"
#include "core/json_parse.h"
#include "core/tags.h"
#include "core/time_format.h"
#include "service/memory_service.h"
#include "service/merge.h"
#include "service/version_json.h"

namespace mcpmem {
namespace {

std::string conflict_json(const Memory& m) { return version_json(m).dump(); }

// The same on every node that meets this lost edit: its memory and its version.
std::string conflict_uid(const Memory& loser) { return loser.content_hash + ":" + loser.hlc; }

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : ",") + p;
  return out;
}

// Gives `m` the values `loser` had for `fields` (all of them when none are named: a conflict
// recorded before field-level merge).
void keep_lost_values(const Memory& loser, const std::vector<std::string>& fields, Memory& m) {
  auto named = [&](const std::string& f) {
    return fields.empty() || std::find(fields.begin(), fields.end(), f) != fields.end();
  };
  if (fields.empty()) m.tags = loser.tags;
  if (named("memory_type")) m.memory_type = loser.memory_type;
  for (const std::string& f : fields) {
    if (f.rfind("metadata.", 0) != 0) continue;
    const std::string key = f.substr(9);
    if (auto v = loser.metadata.find(key); v != loser.metadata.end()) {
      m.metadata[key] = *v;
    } else {
      m.metadata.erase(key);
    }
  }
  if (fields.empty()) m.metadata = loser.metadata;
  if (named("deleted")) {
    if (loser.is_deleted()) {
      m.deleted_at = loser.deleted_at;
    } else {
      m.deleted_at.reset();
    }
  }
}

}  // namespace

ApplyCounts& ApplyCounts::operator+=(const ApplyCounts& o) {
  added += o.added;
  updated += o.updated;
  deleted += o.deleted;
  tombstones += o.tombstones;
  unchanged += o.unchanged;
  kept_local += o.kept_local;
  merged += o.merged;
  conflicts += o.conflicts;
  return *this;
}

Status MemoryService::write_transaction(const std::function<Status()>& body) {
  return db_->write_transaction(body);
}

Status MemoryService::check_incoming(const std::vector<IncomingVersion>& versions) const {
  const int64_t latest_ms = latest_acceptable_ms();
  for (const IncomingVersion& v : versions) {
    const Memory& m = v.memory;
    auto refuse = [&](const std::string& why) {
      return Status::invalid_argument("memory " + m.content_hash.substr(0, 12) + ": " + why +
                                      " (nothing was applied)");
    };
    for (double t : {m.created_at, m.updated_at, m.deleted_at.value_or(0.0)}) {
      if (!is_storable_time(t)) return refuse("a time outside 1970..9999");
    }
    // Every version it names (its field versions, derived ones included: see apply_versions).
    for (const auto& [node, version] : m.fields.clock) {
      auto h = Hlc::parse(version);
      if (!h) return refuse("'" + version + "' is not a version");
      if (h->wall_ms > latest_ms) {
        return refuse("version " + version + " is more than MCP_SYNC_MAX_SKEW (" +
                      std::to_string(static_cast<int64_t>(config_.max_sync_skew_s)) +
                      " s) ahead of this machine's clock");
      }
    }
    if (m.content.size() > config_.max_content_bytes) {
      return refuse("content is " + std::to_string(m.content.size()) + " bytes; the limit is " +
                    std::to_string(config_.max_content_bytes) + " (MCP_MEMORY_MAX_CONTENT_BYTES)");
    }
    const size_t meta = m.metadata.dump(-1, ' ', false, Json::error_handler_t::replace).size();
    if (meta > config_.max_metadata_bytes) {
      return refuse("metadata is " + std::to_string(meta) + " bytes; the limit is " +
                    std::to_string(config_.max_metadata_bytes));
    }
  }
  return Status::ok();
}

Status MemoryService::write_step(const std::function<Status()>& body) {
  return db_->write_step(body);
}

Result<ApplyCounts> MemoryService::apply_versions(std::vector<IncomingVersion>& versions,
                                                  const ApplyOptions& options) {
  ApplyCounts counts;
  if (versions.empty()) return counts;
  // Records without field versions get the ones every node derives, so the check below sees
  // the versions they stand for. Before anything is applied or observed: a refused request
  // leaves the clock where it was.
  for (IncomingVersion& v : versions) with_field_versions(v.memory);
  MCP_RETURN_IF_ERROR(check_incoming(versions));
  std::vector<std::string> hashes;
  hashes.reserve(versions.size());
  for (const IncomingVersion& v : versions) hashes.push_back(v.memory.content_hash);
  const double now_s = now();

  Status st = db_->write_transaction([&]() -> Status {
    counts = ApplyCounts{};
    MCP_ASSIGN_OR_RETURN(auto rows, db_->get_by_hashes(hashes));
    std::unordered_map<std::string, Memory> local;
    for (Memory& m : rows) local.emplace(m.content_hash, std::move(m));

    // New memories go in together (multi-row inserts); the rest one by one.
    std::vector<Memory> fresh;
    std::vector<std::vector<float>> fresh_vectors;
    std::unordered_map<std::string, size_t> fresh_at;  // hash -> position in fresh
    auto record_conflict = [&](const Memory& merged, const LostEdit& lost) -> Status {
      ConflictRecord c;
      c.uid = conflict_uid(lost.loser);
      c.content_hash = merged.content_hash;
      c.detected_at = now_s;
      c.source = options.source;
      c.winner = conflict_json(merged);
      c.loser = conflict_json(lost.loser);
      c.fields = join(lost.fields);
      MCP_ASSIGN_OR_RETURN(auto added, db_->add_conflict(c));
      if (added.second) ++counts.conflicts;  // a lost edit met again is not a new conflict
      return Status::ok();
    };
    auto embed = [&](IncomingVersion& v) -> Status {
      if (v.memory.is_deleted() || v.embedding.size() == embedder_->dimension()) {
        return Status::ok();
      }
      v.embedding.assign(embedder_->dimension(), 0.0f);
      return embedder_->embed(v.memory.content, v.embedding);
    };

    for (IncomingVersion& v : versions) {
      Memory& in = v.memory;
      for (const auto& [node, version] : in.fields.clock) {
        if (auto h = Hlc::parse(version)) hlc_.observe(*h);
      }
      auto it = local.find(in.content_hash);
      if (it == local.end()) {
        MCP_RETURN_IF_ERROR(embed(v));
        ++(in.is_deleted() ? counts.tombstones : counts.added);
        // A repeat of this hash later in the same batch meets this version.
        local.emplace(in.content_hash, in);
        fresh_at.emplace(in.content_hash, fresh.size());
        fresh.push_back(in);
        fresh_vectors.push_back(std::move(v.embedding));
        continue;
      }
      Memory& mine = it->second;
      with_field_versions(mine);
      MergeDecision d = decide(in, mine);
      using Kind = MergeDecision::Kind;
      if (d.kind == Kind::kUnchanged) {
        ++counts.unchanged;
        continue;
      }
      if (d.kind == Kind::kKeepMine) {
        ++counts.kept_local;
        continue;
      }
      if (d.kind == Kind::kRepaired) {
        spdlog::warn("sync: {} had one version with two states here and from {}; repaired",
                     in.content_hash.substr(0, 12), options.source);
      }
      for (const LostEdit& lost : d.lost) {
        MCP_RETURN_IF_ERROR(record_conflict(d.merged, lost));
      }
      Memory& merged = d.merged;
      if (merged.is_deleted() && !mine.is_deleted()) {
        ++counts.deleted;
      } else if (d.kind == Kind::kTakeIncoming) {
        ++(merged.is_deleted() ? counts.unchanged : counts.updated);
      } else {
        ++counts.merged;
      }
      // The vector stays unless the memory comes back from a delete (or the sender sent one).
      if (merged.is_deleted() || !mine.is_deleted()) v.embedding.clear();
      v.memory = merged;
      MCP_RETURN_IF_ERROR(embed(v));
      // A row inserted earlier in this batch is not in the database yet.
      if (auto f = fresh_at.find(merged.content_hash); f != fresh_at.end()) {
        fresh[f->second] = merged;
        fresh_vectors[f->second] = v.embedding;
      } else {
        MCP_RETURN_IF_ERROR(db_->put_version(merged, v.embedding));
      }
      mine = merged;
    }
    if (!fresh.empty()) {
      // Looked up above in this transaction, one row per hash: no need to look again.
      MCP_RETURN_IF_ERROR(db_->insert_memories(fresh, fresh_vectors, /*known_new=*/true).status());
    }
    // The highest version seen, kept so that a later process (another CLI call) still makes
    // versions above it even when this machine's clock is behind the sender's.
    std::string high;
    for (const IncomingVersion& v : versions) high = std::max(high, v.memory.hlc);
    MCP_ASSIGN_OR_RETURN(auto kept, db_->get_meta(kHlcHighKey));
    if (!kept.has_value() || *kept < high) MCP_RETURN_IF_ERROR(db_->set_meta(kHlcHighKey, high));
    return Status::ok();
  });
  if (!st.is_ok()) return st;
  follower_.note_own_write();  // the next search brings the index up to date from the change log
  return counts;
}

Result<int64_t> MemoryService::scan_memories(
    const ScanOptions& options, const Database::ScanFn& fn,
    const std::function<void(int64_t, int64_t)>& on_totals) {
  return db_->scan_memories(options, fn, on_totals);
}

Result<ChangedVersions> MemoryService::changed_since(int64_t after_seq, int64_t limit,
                                                     bool with_vectors) {
  ChangedVersions out;
  MCP_ASSIGN_OR_RETURN(auto changes, db_->changes_since(after_seq, limit));
  out.next_seq = after_seq;
  std::vector<std::string> hashes, conflict_uids;
  std::unordered_map<std::string, bool> seen;
  for (const Change& c : changes) {
    out.next_seq = c.seq;
    if (c.op == "conflict") {
      if (seen.emplace(c.hlc, true).second) conflict_uids.push_back(c.hlc);
    } else if (c.op != "purge" && seen.emplace(c.content_hash, true).second) {
      hashes.push_back(c.content_hash);
    }
  }
  out.more = static_cast<int64_t>(changes.size()) >= limit;
  MCP_ASSIGN_OR_RETURN(out.versions, db_->get_by_hashes(hashes));
  MCP_ASSIGN_OR_RETURN(out.conflicts, db_->conflicts_by_uid(conflict_uids));
  for (Memory& m : out.versions) {
    // Rows written by the Python service (or before field versions) carry none: give them
    // the ones every node derives the same way.
    with_field_versions(m);
  }
  if (with_vectors) {
    out.vectors.reserve(out.versions.size());
    for (const Memory& m : out.versions) {
      std::optional<std::vector<float>> v;
      if (!m.is_deleted()) {
        MCP_ASSIGN_OR_RETURN(v, db_->get_embedding(m.id, embedder_->dimension()));
      }
      out.vectors.push_back(v.value_or(std::vector<float>()));
    }
  }
  return out;
}

Result<int64_t> MemoryService::count_changes_after(int64_t after_seq) {
  return db_->count_changes_after(after_seq);
}

Result<DataDigest> MemoryService::data_digest() {
  MCP_ASSIGN_OR_RETURN(auto seq, db_->last_change_seq());
  {
    MutexLock lock(digest_mu_);
    if (digest_cache_ && digest_cache_seq_ == seq) return *digest_cache_;
  }
  DataDigest d;
  uint64_t high = 0, low = 0;  // a 128-bit sum, carried
  ScanOptions all;
  all.tombstones = true;
  MCP_RETURN_IF_ERROR(
      db_->scan_memories(all,
                         [&](const Memory& row, std::span<const float>) {
                           Memory m = row;
                           with_field_versions(m);  // rows of other programs: derived, as sent
                           ++(m.is_deleted() ? d.tombstones : d.alive);
                           const std::string h = sha256_hex(m.content_hash + " " + m.hlc);
                           const uint64_t add_high = std::stoull(h.substr(0, 16), nullptr, 16);
                           const uint64_t add_low = std::stoull(h.substr(16, 16), nullptr, 16);
                           low += add_low;
                           high += add_high + (low < add_low ? 1 : 0);
                           return true;
                         })
          .status());
  char hex[33];
  std::snprintf(hex, sizeof hex, "%016llx%016llx", static_cast<unsigned long long>(high),
                static_cast<unsigned long long>(low));
  d.hash = hex;
  MutexLock lock(digest_mu_);
  digest_cache_ = d;
  digest_cache_seq_ = seq;
  return d;
}

Result<std::vector<ConflictRecord>> MemoryService::conflicts(bool include_resolved, int64_t limit) {
  return db_->conflicts(include_resolved, limit);
}

Result<std::optional<ConflictRecord>> MemoryService::conflict(int64_t id) {
  return db_->conflict(id);
}

Result<int64_t> MemoryService::count_conflicts(bool unresolved_only) {
  return db_->count_conflicts(unresolved_only);
}

Status MemoryService::resolve_conflict(int64_t id, const std::string& keep) {
  if (keep != "winner" && keep != "loser") {
    return Status::invalid_argument("keep must be 'winner' or 'loser', not '" + keep + "'");
  }
  Status st = db_->write_transaction([&]() -> Status {
    // Read inside the write: of two resolves at once, the second sees the first's.
    MCP_ASSIGN_OR_RETURN(auto c, db_->conflict(id));
    if (!c.has_value()) return Status::not_found("no sync conflict with id " + std::to_string(id));
    if (c->resolved_at) {
      return Status::failed_precondition("sync conflict " + std::to_string(id) +
                                         " was already resolved (" + c->resolution + ")");
    }
    if (keep == "loser") {
      VersionParseOptions po;
      po.verify_hash = false;  // it was checked when it arrived
      MCP_ASSIGN_OR_RETURN(auto loser_json, parse_json(c->loser, "the replaced version"));
      MCP_ASSIGN_OR_RETURN(auto loser, parse_version(loser_json, po));
      MCP_ASSIGN_OR_RETURN(auto current,
                           db_->get_by_hash(c->content_hash, /*include_deleted=*/true));
      if (!current.has_value()) {
        return Status::failed_precondition("the memory of sync conflict " + std::to_string(id) +
                                           " is gone (its tombstone expired)");
      }
      MCP_ASSIGN_OR_RETURN(auto version, next_local_version({*current}));
      Memory m = *current;
      keep_lost_values(loser.memory, parse_tags_csv(c->fields), m);
      m.updated_at = std::max(now(), m.created_at);
      if (m.is_deleted() && !current->is_deleted()) m.deleted_at = m.updated_at;
      // A new local edit on top of the current version: it wins everywhere once synced.
      stamp_edit(*current, m, version);
      std::vector<float> vec;
      if (!m.is_deleted() && current->is_deleted()) {
        vec.assign(embedder_->dimension(), 0.0f);
        MCP_RETURN_IF_ERROR(embedder_->embed(m.content, vec));
      }
      MCP_RETURN_IF_ERROR(db_->put_version(m, vec));
    }
    return db_->set_conflict_resolution(id, now(), "kept-" + keep, node_name());
  });
  if (!st.is_ok()) return st;
  follower_.note_own_write();
  return follower_.catch_up(nullptr);
}

Result<int64_t> MemoryService::apply_conflicts(const std::vector<ConflictRecord>& incoming) {
  int64_t changed = 0;
  Status st = db_->write_transaction([&]() -> Status {
    changed = 0;
    for (const ConflictRecord& in : incoming) {
      MCP_ASSIGN_OR_RETURN(auto added, db_->add_conflict(in));
      if (added.second) {
        ++changed;
        continue;
      }
      if (!in.resolved_at) continue;
      MCP_ASSIGN_OR_RETURN(auto mine, db_->conflict(added.first));
      if (!mine.has_value()) continue;
      // Two nodes that resolved it before they heard of each other's resolution end with the
      // same one: the earlier (then by its text).
      if (mine->resolved_at && std::tie(*mine->resolved_at, mine->resolution, mine->resolved_by) <=
                                   std::tie(*in.resolved_at, in.resolution, in.resolved_by)) {
        continue;
      }
      MCP_RETURN_IF_ERROR(db_->set_conflict_resolution(added.first, *in.resolved_at, in.resolution,
                                                       in.resolved_by));
      ++changed;
    }
    return Status::ok();
  });
  if (!st.is_ok()) return st;
  return changed;
}

Result<int64_t> MemoryService::purge_expired_tombstones(int64_t settled_seq, bool force) {
  const double window = config_.tombstone_retention_days * 86400.0;
  if (window <= 0) return int64_t{0};
  const double now_s = now();
  const double last = last_purge_at_.load();
  if (!force && now_s - last < std::min(3600.0, window / 10)) return int64_t{0};
  last_purge_at_ = now_s;
  int64_t purged = 0;
  Status st = db_->write_transaction([&]() -> Status {
    MCP_ASSIGN_OR_RETURN(auto done, db_->purge_tombstones(now_s - window, settled_seq));
    purged = done.first;
    if (purged == 0) return Status::ok();
    MCP_ASSIGN_OR_RETURN(auto before, purged_seq());
    if (done.second <= before) return Status::ok();
    return db_->set_meta(kPurgedSeqKey, std::to_string(done.second));
  });
  if (!st.is_ok()) return st;
  if (purged > 0) follower_.note_own_write();
  return purged;
}

Result<int64_t> MemoryService::purged_seq() {
  MCP_ASSIGN_OR_RETURN(auto v, db_->get_meta(kPurgedSeqKey));
  return v.has_value() ? std::strtoll(v->c_str(), nullptr, 10) : int64_t{0};
}

Result<int64_t> MemoryService::drop_versions(const std::vector<std::string>& hashes) {
  auto removed = db_->purge(hashes);
  if (removed.is_ok() && *removed > 0) follower_.note_own_write();
  return removed;
}

Result<std::optional<std::string>> MemoryService::sync_state(const std::string& key) {
  return db_->get_meta(key);
}

Status MemoryService::set_sync_state(const std::string& key, const std::string& value) {
  return db_->set_meta(key, value);
}

Result<std::vector<std::pair<std::string, std::string>>> MemoryService::sync_states(
    const std::string& prefix) {
  return db_->meta_with_prefix(prefix);
}

Result<int64_t> MemoryService::erase_sync_states(const std::string& prefix) {
  return db_->erase_meta_with_prefix(prefix);
}

}  // namespace mcpmem
