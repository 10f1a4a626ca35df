// Schema creation and migration. The `memories` table is the Python service's, column for
// column; the Python service's later columns and ours (hlc, origin) are added only when
// missing, so its databases open without losing anything and it can still open ours.
//
// Derived data is kept by triggers in the writer's transaction, whoever the writer is:
// memories_fts (FTS5, every row; reads filter tombstones), memory_tags (one row per tag of each
// alive row, the indexed form of the CSV column), and the change log `changes` (one entry per row
// change, seq in commit order). A new database also gets the Python service's `metadata` rows.
#include "storage/schema.h"

#include <string>
#include <vector>

namespace mcpmem::storage_detail {
namespace {

// The CSV tags column of row `r` ("new" or "old") as a JSON array for json_each; a column that
// cannot be expressed as JSON (control characters) yields no tags rather than a failed write.
std::string tags_json(const std::string& r) {
  std::string x = "'[\"' || replace(replace(replace(coalesce(" + r +
                  ".tags, ''), '\\', '\\\\'), '\"', '\\\"'), ',', '\",\"') || '\"]'";
  return "(CASE WHEN json_valid(" + x + ") THEN " + x + " ELSE '[]' END)";
}

// memory_tags holds the tags of alive rows only, so tag counts and filters need no join.
std::string insert_tags(const std::string& r) {
  return "INSERT OR IGNORE INTO memory_tags(tag, memory_id) "
         "SELECT DISTINCT lower(trim(value)), " +
         r + ".id FROM json_each(" + tags_json(r) + ") WHERE trim(value) <> '' AND " + r +
         ".deleted_at IS NULL;";
}

const char* kNow = "((julianday('now') - 2440587.5) * 86400.0)";

std::string change_op(const std::string& r) {
  return "CASE WHEN " + r + ".deleted_at IS NULL THEN 'upsert' ELSE 'delete' END";
}

std::vector<std::string> schema_statements() {
  return {
      // The Python service's table and indexes (sqlite_vec.py), unchanged.
      "CREATE TABLE IF NOT EXISTS memories ("
      " id INTEGER PRIMARY KEY AUTOINCREMENT,"
      " content_hash TEXT UNIQUE NOT NULL,"
      " content TEXT NOT NULL,"
      " tags TEXT,"
      " memory_type TEXT,"
      " metadata TEXT,"
      " created_at REAL,"
      " updated_at REAL,"
      " created_at_iso TEXT,"
      " updated_at_iso TEXT,"
      " deleted_at REAL DEFAULT NULL)",
      // (The Python service also creates idx_content_hash, which duplicates the UNIQUE
      // constraint's index; we leave it where it exists and do not add it: one index less to
      // update per write.)
      "CREATE INDEX IF NOT EXISTS idx_created_at ON memories(created_at)",
      "CREATE INDEX IF NOT EXISTS idx_memory_type ON memories(memory_type)",
      "CREATE INDEX IF NOT EXISTS idx_deleted_at ON memories(deleted_at)",
      // Ours.
      "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
      "CREATE TABLE IF NOT EXISTS memory_vectors ("
      " memory_id INTEGER PRIMARY KEY, vec BLOB NOT NULL)",
      "CREATE TABLE IF NOT EXISTS memory_tags ("
      " tag TEXT NOT NULL, memory_id INTEGER NOT NULL, PRIMARY KEY (tag, memory_id))"
      " WITHOUT ROWID",
      "CREATE INDEX IF NOT EXISTS idx_memory_tags_memory ON memory_tags(memory_id)",
      "CREATE VIRTUAL TABLE IF NOT EXISTS memories_fts USING fts5("
      " content, content='memories', content_rowid='id',"
      " tokenize='unicode61 remove_diacritics 2')",
      "CREATE TABLE IF NOT EXISTS changes ("
      " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
      " memory_id INTEGER NOT NULL,"
      " content_hash TEXT NOT NULL,"
      " op TEXT NOT NULL,"
      " hlc TEXT,"
      " at REAL NOT NULL)",
      // Triggers.
      // Rows inserted by other programs (the Python service) have no origin: triggers index
      // them. Rows we insert always carry an origin, and Database writes their FTS and tag
      // rows itself in multi-row statements (an FTS5 write inside a trigger flushes FTS5's
      // buffer once per row, which made bulk inserts five times slower).
      "CREATE TRIGGER IF NOT EXISTS mcpmem_memories_ai_foreign AFTER INSERT ON memories"
      " WHEN new.origin IS NULL BEGIN"
      " INSERT INTO memories_fts(rowid, content) VALUES (new.id, new.content); " +
          insert_tags("new") + " END",
      "CREATE TRIGGER IF NOT EXISTS mcpmem_memories_ai AFTER INSERT ON memories BEGIN"
      " INSERT INTO changes(memory_id, content_hash, op, hlc, at)"
      " VALUES (new.id, new.content_hash, " +
          change_op("new") + ", new.hlc, " + kNow + "); END",
      "CREATE TRIGGER IF NOT EXISTS mcpmem_memories_au_content AFTER UPDATE OF content ON memories"
      " BEGIN "
      " INSERT INTO memories_fts(memories_fts, rowid, content) VALUES ('delete', old.id, "
      "old.content);"
      " INSERT INTO memories_fts(rowid, content) VALUES (new.id, new.content); END",
      "CREATE TRIGGER IF NOT EXISTS mcpmem_memories_au_tags AFTER UPDATE OF tags, deleted_at ON"
      " memories"
      " BEGIN DELETE FROM memory_tags WHERE memory_id = old.id; " +
          insert_tags("new") + " END",
      "CREATE TRIGGER IF NOT EXISTS mcpmem_memories_au AFTER UPDATE OF content, tags,"
      " memory_type, metadata, created_at, updated_at, deleted_at, hlc ON memories BEGIN"
      " INSERT INTO changes(memory_id, content_hash, op, hlc, at)"
      " VALUES (new.id, new.content_hash, " +
          change_op("new") + ", new.hlc, " + kNow + "); END",
      "CREATE TRIGGER IF NOT EXISTS mcpmem_memories_ad AFTER DELETE ON memories BEGIN"
      " INSERT INTO memories_fts(memories_fts, rowid, content) VALUES ('delete', old.id, "
      "old.content);"
      " DELETE FROM memory_tags WHERE memory_id = old.id;"
      " DELETE FROM memory_vectors WHERE memory_id = old.id;"
      " INSERT INTO changes(memory_id, content_hash, op, hlc, at)"
      " VALUES (old.id, old.content_hash, 'purge', old.hlc, " +
          std::string(kNow) + "); END",
  };
}

// Columns of `memories` added by later Python versions (migration 011) and by us.
struct Column {
  const char* name;
  const char* decl;
};
constexpr Column kAddedColumns[] = {
    {"deleted_at", "REAL DEFAULT NULL"},
    {"parent_id", "TEXT"},
    {"version", "INTEGER DEFAULT 1"},
    {"confidence", "REAL DEFAULT 1.0"},
    {"last_accessed", "INTEGER"},
    {"superseded_by", "TEXT"},
    {"hlc", "TEXT"},
    {"origin", "TEXT"},
};

Result<bool> has_table(sqlite3* db, const char* name) {
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE name = ?", -1, &s, nullptr);
  if (rc != SQLITE_OK)
    return Status::io_error(std::string("reading schema: ") + sqlite3_errmsg(db));
  sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
  rc = sqlite3_step(s);
  sqlite3_finalize(s);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    return Status::io_error(std::string("reading schema: ") + sqlite3_errmsg(db));
  }
  return rc == SQLITE_ROW;
}

Status add_missing_columns(sqlite3* db) {
  std::vector<std::string> present;
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db, "PRAGMA table_info(memories)", -1, &s, nullptr) != SQLITE_OK) {
    return Status::io_error(std::string("reading columns: ") + sqlite3_errmsg(db));
  }
  while (sqlite3_step(s) == SQLITE_ROW) {
    present.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(s, 1)));
  }
  sqlite3_finalize(s);
  for (const Column& c : kAddedColumns) {
    bool found = false;
    for (const auto& p : present) found = found || p == c.name;
    if (found) continue;
    std::string sql = std::string("ALTER TABLE memories ADD COLUMN ") + c.name + " " + c.decl;
    MCP_RETURN_IF_ERROR(exec_sql(db, sql.c_str(), "adding a column"));
  }
  return Status::ok();
}

}  // namespace

Status exec_sql(sqlite3* db, const char* sql, const char* what) {
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return Status::ok();
  std::string msg = std::string(what) + ": " + (err ? err : sqlite3_errstr(rc));
  sqlite3_free(err);
  if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) return Status::busy(msg);
  if (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB) return Status::corruption(msg);
  return Status::io_error(msg);
}

Status migrate(sqlite3* db, bool created) {
  auto had_memories = has_table(db, "memories");
  if (!had_memories.is_ok()) return had_memories.status();
  auto had_fts = has_table(db, "memories_fts");
  if (!had_fts.is_ok()) return had_fts.status();
  auto had_tags = has_table(db, "memory_tags");
  if (!had_tags.is_ok()) return had_tags.status();
  auto had_changes = has_table(db, "changes");
  if (!had_changes.is_ok()) return had_changes.status();

  if (*had_memories) MCP_RETURN_IF_ERROR(add_missing_columns(db));
  for (const std::string& sql : schema_statements()) {
    MCP_RETURN_IF_ERROR(exec_sql(db, sql.c_str(), "creating the schema"));
  }
  if (!*had_memories) MCP_RETURN_IF_ERROR(add_missing_columns(db));

  // Derived tables over rows that existed before them (a Python service database).
  if (*had_memories && !*had_fts) {
    MCP_RETURN_IF_ERROR(exec_sql(db, "INSERT INTO memories_fts(memories_fts) VALUES('rebuild')",
                                 "building the full-text index"));
  }
  if (*had_memories && !*had_tags) {
    std::string sql =
        "INSERT OR IGNORE INTO memory_tags(tag, memory_id) "
        "SELECT DISTINCT lower(trim(j.value)), m.id FROM memories m, json_each(" +
        tags_json("m") + ") j WHERE trim(j.value) <> '' AND m.deleted_at IS NULL";
    MCP_RETURN_IF_ERROR(exec_sql(db, sql.c_str(), "indexing tags"));
  }
  if (*had_memories && !*had_changes) {
    std::string sql =
        "INSERT INTO changes(memory_id, content_hash, op, hlc, at) "
        "SELECT id, content_hash, " +
        change_op("memories") + ", hlc, " + kNow + " FROM memories ORDER BY id";
    MCP_RETURN_IF_ERROR(exec_sql(db, sql.c_str(), "starting the change log"));
  }
  if (created) {
    // What the Python service writes into a new database, so it can open ours.
    MCP_RETURN_IF_ERROR(
        exec_sql(db,
                 "CREATE TABLE IF NOT EXISTS metadata (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                 "INSERT OR IGNORE INTO metadata(key, value) VALUES ('distance_metric', 'cosine');",
                 "creating the metadata table"));
  }
  std::string version = "PRAGMA user_version = " + std::to_string(kSchemaVersion);
  return exec_sql(db, version.c_str(), "recording the schema version");
}

}  // namespace mcpmem::storage_detail
