// The health of a database file, for `doctor`: read on a connection of its own (read-only for
// the inspection), so it works beside a running server and Litestream, and never migrates or
// otherwise changes the file it is asked about. The two repairs (WAL mode, a passive
// checkpoint) are the only writes, and neither can lose or block anyone's data.
#include <memory>

#include "storage/database.h"
#include "storage/database_impl.h"

namespace mcpmem {

using storage_detail::sqlite_status;
using storage_detail::Statement;

namespace {

using Connection = std::unique_ptr<sqlite3, decltype(&sqlite3_close_v2)>;

Result<Connection> connect(const std::string& path, int flags) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  Connection closer(db, &sqlite3_close_v2);  // closed on every path out
  if (rc == SQLITE_CANTOPEN) return Status::not_found("cannot open " + path + ": no such file");
  if (rc != SQLITE_OK) return sqlite_status(db, rc, "opening " + path);
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, 5000);
  return closer;
}

// Runs `sql`, calling on_row for each row.
template <typename OnRow>
Status each_row(sqlite3* db, const std::string& path, const char* sql, OnRow&& on_row) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &raw, nullptr);
  if (rc != SQLITE_OK) return sqlite_status(db, rc, "reading " + path);
  Statement s(db, raw, /*owned=*/true, nullptr);
  while (s.step()) on_row(s);
  return s.status("reading " + path);
}

}  // namespace

Result<DatabaseHealth> Database::inspect_health(const std::string& path) {
  MCP_ASSIGN_OR_RETURN(Connection db, connect(path, SQLITE_OPEN_READONLY));
  DatabaseHealth out;
  bool has_memories = false, has_vectors = false;
  MCP_RETURN_IF_ERROR(each_row(db.get(), path,
                               "SELECT name FROM sqlite_master WHERE type = 'table'",
                               [&](const Statement& s) {
                                 const std::string name = s.text(0);
                                 has_memories = has_memories || name == "memories";
                                 has_vectors = has_vectors || name == "memory_vectors";
                                 if (name.rfind("_litestream_", 0) == 0)
                                   out.litestream_tables.push_back(name);
                               }));
  if (!has_memories) {
    return Status::corruption(path +
                              " is an SQLite database but not a memory database (it has "
                              "no memories table)");
  }
  MCP_RETURN_IF_ERROR(each_row(db.get(), path, "PRAGMA journal_mode",
                               [&](const Statement& s) { out.journal_mode = s.text(0); }));
  // A database of the Python service that mcp-memory never opened has no deleted_at column.
  Status counted =
      each_row(db.get(), path, "SELECT COUNT(*) FROM memories WHERE deleted_at IS NULL",
               [&](const Statement& s) { out.memories = s.i64(0); });
  if (!counted.is_ok()) {
    MCP_RETURN_IF_ERROR(each_row(db.get(), path, "SELECT COUNT(*) FROM memories",
                                 [&](const Statement& s) { out.memories = s.i64(0); }));
  }
  if (has_vectors) {
    MCP_RETURN_IF_ERROR(
        each_row(db.get(), path,
                 "SELECT COUNT(*) FROM memory_vectors v JOIN memories m ON m.id = v.memory_id "
                 "WHERE m.deleted_at IS NULL",
                 [&](const Statement& s) { out.vectors = s.i64(0); }));
    MCP_RETURN_IF_ERROR(
        each_row(db.get(), path,
                 "SELECT COUNT(*) FROM memory_vectors v LEFT JOIN memories m ON m.id = v.memory_id "
                 "WHERE m.id IS NULL OR m.deleted_at IS NOT NULL",
                 [&](const Statement& s) { out.orphan_vectors = s.i64(0); }));
  }
  std::string report;
  Status checked = each_row(db.get(), path, "PRAGMA integrity_check", [&](const Statement& s) {
    report += (report.empty() ? "" : "\n") + s.text(0);
  });
  if (checked.is_ok()) {
    out.integrity = report;
  } else if (checked.message().find("no such module") == std::string::npos) {
    return checked;  // else a table of a module we do not load (sqlite-vec): left unchecked
  }
  return out;
}

Status Database::enable_wal(const std::string& path) {
  MCP_ASSIGN_OR_RETURN(Connection db, connect(path, SQLITE_OPEN_READWRITE));
  std::string mode;
  MCP_RETURN_IF_ERROR(each_row(db.get(), path, "PRAGMA journal_mode=WAL",
                               [&](const Statement& s) { mode = s.text(0); }));
  if (mode != "wal") {
    return Status::busy("could not switch " + path + " to WAL (it stayed in " + mode +
                        " mode): stop the programs that have it open and run doctor --fix again");
  }
  return Status::ok();
}

Result<CheckpointOutcome> Database::checkpoint_passive(const std::string& path) {
  MCP_ASSIGN_OR_RETURN(Connection db, connect(path, SQLITE_OPEN_READWRITE));
  int frames = 0, done = 0;
  int rc = sqlite3_wal_checkpoint_v2(db.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &frames, &done);
  if (rc != SQLITE_OK) return sqlite_status(db.get(), rc, "checkpointing " + path);
  return CheckpointOutcome{frames < 0 ? 0 : frames, done < 0 ? 0 : done};
}

}  // namespace mcpmem
