// Sync bookkeeping: the sync_conflicts table (every version that lost to another, both sides
// kept whole, with the fields it lost) and meta rows by prefix (sync cursors and per-node status).
#include "storage/database_impl.h"

namespace mcpmem {

using storage_detail::Statement;

namespace {

constexpr const char* kConflictColumns =
    "id, content_hash, detected_at, source, winner, loser, resolved_at, resolution, fields, uid, "
    "resolved_by";

ConflictRecord read_conflict(const Statement& s) {
  ConflictRecord c;
  c.id = s.i64(0);
  c.content_hash = s.text(1);
  c.detected_at = s.f64(2);
  c.source = s.text(3);
  c.winner = s.text(4);
  c.loser = s.text(5);
  if (!s.null(6)) c.resolved_at = s.f64(6);
  c.resolution = s.text(7);
  c.fields = s.text(8);
  c.uid = s.text(9);
  c.resolved_by = s.text(10);
  return c;
}

// The change-log entry that sends a conflict (or its new resolution) to the other nodes.
constexpr const char* kLogConflictChange =
    "INSERT INTO changes(memory_id, content_hash, op, hlc, at) "
    "VALUES (0, ?, 'conflict', ?, (julianday('now') - 2440587.5) * 86400.0)";

}  // namespace

Result<std::pair<int64_t, bool>> Database::add_conflict(const ConflictRecord& c) {
  std::lock_guard lock(impl_->mu);
  std::pair<int64_t, bool> out{0, false};
  Status st = impl_->write([&]() -> Status {
    out = {0, false};
    MCP_ASSIGN_OR_RETURN(
        auto s, impl_->prepare("INSERT INTO sync_conflicts(uid, content_hash, detected_at, source, "
                               "winner, loser, fields, resolved_at, resolution, resolved_by) "
                               "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                               "ON CONFLICT(uid) DO NOTHING RETURNING id"));
    s->bind(1, c.uid).bind(2, c.content_hash).bind(3, c.detected_at).bind(4, c.source);
    s->bind(5, c.winner).bind(6, c.loser).bind(7, c.fields);
    if (c.resolved_at) {
      s->bind(8, *c.resolved_at);
    } else {
      s->bind_null(8);
    }
    s->bind_optional_text(9, c.resolution).bind_optional_text(10, c.resolved_by);
    while (s->step()) out = {s->i64(0), true};
    MCP_RETURN_IF_ERROR(s->status("recording a sync conflict"));
    if (out.second) {
      MCP_ASSIGN_OR_RETURN(auto log, impl_->prepare(kLogConflictChange));
      return log->bind(1, c.content_hash).bind(2, c.uid).run("logging a sync conflict");
    }
    MCP_ASSIGN_OR_RETURN(out.first,
                         impl_->scalar("SELECT id FROM sync_conflicts WHERE uid = ?", {c.uid}));
    return Status::ok();
  });
  if (!st.is_ok()) return st;
  return out;
}

Result<std::vector<ConflictRecord>> Database::conflicts(bool include_resolved, int64_t limit) {
  std::lock_guard lock(impl_->mu);
  MCP_ASSIGN_OR_RETURN(
      auto s, impl_->prepare(std::string("SELECT ") + kConflictColumns + " FROM sync_conflicts" +
                             (include_resolved ? "" : " WHERE resolved_at IS NULL") +
                             " ORDER BY id DESC LIMIT ?"));
  s->bind(1, limit);
  std::vector<ConflictRecord> out;
  while (s->step()) out.push_back(read_conflict(*s));
  MCP_RETURN_IF_ERROR(s->status("reading sync conflicts"));
  return out;
}

Result<std::optional<ConflictRecord>> Database::conflict(int64_t id) {
  std::lock_guard lock(impl_->mu);
  MCP_ASSIGN_OR_RETURN(auto s, impl_->prepare(std::string("SELECT ") + kConflictColumns +
                                              " FROM sync_conflicts WHERE id = ?"));
  s->bind(1, id);
  std::optional<ConflictRecord> out;
  if (s->step()) out = read_conflict(*s);
  MCP_RETURN_IF_ERROR(s->status("reading a sync conflict"));
  return out;
}

Result<std::vector<ConflictRecord>> Database::conflicts_by_uid(
    const std::vector<std::string>& uids) {
  std::lock_guard lock(impl_->mu);
  nlohmann::json list = uids;
  MCP_ASSIGN_OR_RETURN(auto s, impl_->prepare(std::string("SELECT ") + kConflictColumns +
                                              " FROM sync_conflicts WHERE uid IN "
                                              "(SELECT value FROM json_each(?)) ORDER BY id"));
  s->bind(1, list.dump());
  std::vector<ConflictRecord> out;
  while (s->step()) out.push_back(read_conflict(*s));
  MCP_RETURN_IF_ERROR(s->status("reading sync conflicts"));
  return out;
}

Status Database::set_conflict_resolution(int64_t id, double at, const std::string& resolution,
                                         const std::string& by) {
  std::lock_guard lock(impl_->mu);
  return impl_->write([&]() -> Status {
    MCP_ASSIGN_OR_RETURN(auto s, impl_->prepare("UPDATE sync_conflicts SET resolved_at = ?, "
                                                "resolution = ?, resolved_by = ? WHERE id = ? "
                                                "RETURNING content_hash, uid"));
    s->bind(1, at).bind(2, resolution).bind(3, by).bind(4, id);
    std::optional<std::pair<std::string, std::string>> row;
    while (s->step()) row.emplace(s->text(0), s->text(1));
    MCP_RETURN_IF_ERROR(s->status("resolving"));
    if (!row) return Status::not_found("no sync conflict with id " + std::to_string(id));
    MCP_ASSIGN_OR_RETURN(auto log, impl_->prepare(kLogConflictChange));
    return log->bind(1, row->first).bind(2, row->second).run("logging a sync conflict");
  });
}

Result<int64_t> Database::count_conflicts(bool unresolved_only) {
  std::lock_guard lock(impl_->mu);
  return impl_->scalar(unresolved_only
                           ? "SELECT COUNT(*) FROM sync_conflicts WHERE resolved_at IS NULL"
                           : "SELECT COUNT(*) FROM sync_conflicts");
}

Result<std::vector<std::pair<std::string, std::string>>> Database::meta_with_prefix(
    const std::string& prefix) {
  std::lock_guard lock(impl_->mu);
  MCP_ASSIGN_OR_RETURN(
      auto s,
      impl_->prepare(
          "SELECT key, value FROM meta WHERE substr(key, 1, length(?1)) = ?1 ORDER BY key"));
  s->bind(1, prefix);
  std::vector<std::pair<std::string, std::string>> out;
  while (s->step()) out.emplace_back(s->text(0), s->text(1));
  MCP_RETURN_IF_ERROR(s->status("reading meta"));
  return out;
}

Result<int64_t> Database::erase_meta_with_prefix(const std::string& prefix) {
  std::lock_guard lock(impl_->mu);
  int64_t erased = 0;
  Status st = impl_->write([&]() -> Status {
    MCP_ASSIGN_OR_RETURN(auto s,
                         impl_->prepare("DELETE FROM meta WHERE substr(key, 1, length(?1)) = ?1"));
    MCP_RETURN_IF_ERROR(s->bind(1, prefix).run("erasing meta"));
    erased = sqlite3_changes(impl_->db);
    return Status::ok();
  });
  if (!st.is_ok()) return st;
  return erased;
}

}  // namespace mcpmem
