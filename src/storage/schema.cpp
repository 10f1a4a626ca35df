// Schema creation and migration. The `memories` table is the Python service's, column for
// column; the Python service's later columns and ours (hlc, origin) are added only when
// missing, so its databases open without losing anything and it can still open ours.
//
// Derived data is kept by triggers in the writer's transaction, whoever the writer is:
// memories_fts (FTS5 over the content of alive rows), memory_tags (one row per tag of each alive
// row, the indexed form of the CSV column) and the change log `changes` (one entry per row
// change, seq in commit order). Invariant: a row is in memories_fts and memory_tags exactly
// while deleted_at IS NULL, so an FTS5 'delete' is only ever issued for indexed content.
#include "storage/schema.h"

#include <algorithm>
#include <span>
#include <string>
#include <vector>

#include "storage/sqlite_statement.h"

namespace mcpmem::storage_detail {
namespace {

// The CSV tags column of row `r` ("new", "old", "m") as a JSON array for json_each. Tabs and
// line breaks are escaped; a value that still is not valid JSON (other control characters)
// yields no tags rather than a failed write. indexed_tags() below is the same rule in C++.
std::string tags_json(const std::string& r) {
  std::string x = "replace(replace(replace(replace(replace(replace(coalesce(" + r +
                  ".tags, ''), '\\', '\\\\'), '\"', '\\\"'), char(9), '\\t'), char(10), '\\n'),"
                  " char(13), '\\r'), ',', '\",\"')";
  x = "'[\"' || " + x + " || '\"]'";
  return "(CASE WHEN json_valid(" + x + ") THEN " + x + " ELSE '[]' END)";
}

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

std::string log_change(const std::string& r, const std::string& op) {
  return " INSERT INTO changes(memory_id, content_hash, op, hlc, at) VALUES (" + r + ".id, " + r +
         ".content_hash, " + op + ", " + r + ".hlc, " + kNow + ");";
}

std::vector<std::string> table_statements() {
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
      // update per write. The Python service adds it itself when it opens our file.)
      "CREATE INDEX IF NOT EXISTS idx_created_at ON memories(created_at)",
      "CREATE INDEX IF NOT EXISTS idx_memory_type ON memories(memory_type)",
      "CREATE INDEX IF NOT EXISTS idx_deleted_at ON memories(deleted_at)",
      "CREATE INDEX IF NOT EXISTS idx_mcpmem_updated_at ON memories(updated_at)",
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
      // Every version that lost to another (import, sync), kept whole as JSON.
      "CREATE TABLE IF NOT EXISTS sync_conflicts ("
      " id INTEGER PRIMARY KEY AUTOINCREMENT,"
      " content_hash TEXT NOT NULL,"
      " detected_at REAL NOT NULL,"
      " source TEXT NOT NULL,"
      " winner TEXT NOT NULL,"
      " loser TEXT NOT NULL,"
      " resolved_at REAL,"
      " resolution TEXT)",
      "CREATE INDEX IF NOT EXISTS idx_sync_conflicts_hash ON sync_conflicts(content_hash)",
      "CREATE TABLE IF NOT EXISTS changes ("
      " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
      " memory_id INTEGER NOT NULL,"
      " content_hash TEXT NOT NULL,"
      " op TEXT NOT NULL,"
      " hlc TEXT,"
      " at REAL NOT NULL)",
  };
}

std::vector<std::string> trigger_statements() {
  return {
      // Rows inserted by other programs (the Python service) have no origin: this trigger
      // indexes them. Rows we insert always carry an origin, and Database writes their FTS and
      // tag rows itself in multi-row statements (an FTS5 write inside a trigger flushes FTS5's
      // buffer once per row, which made bulk inserts five times slower).
      "CREATE TRIGGER IF NOT EXISTS mcpmem_memories_ai_foreign AFTER INSERT ON memories"
      " WHEN new.origin IS NULL BEGIN"
      " INSERT INTO memories_fts(rowid, content) SELECT new.id, new.content"
      " WHERE new.deleted_at IS NULL; " +
          insert_tags("new") + " END",
      "CREATE TRIGGER IF NOT EXISTS mcpmem_memories_ai AFTER INSERT ON memories BEGIN" +
          log_change("new", change_op("new")) + " END",
      // Content edits, tombstoning and un-tombstoning move the row in or out of the FTS index.
      "CREATE TRIGGER IF NOT EXISTS mcpmem_memories_au_fts AFTER UPDATE OF content, deleted_at"
      " ON memories WHEN old.content IS NOT new.content"
      " OR (old.deleted_at IS NULL) <> (new.deleted_at IS NULL) BEGIN"
      " INSERT INTO memories_fts(memories_fts, rowid, content)"
      " SELECT 'delete', old.id, old.content WHERE old.deleted_at IS NULL;"
      " INSERT INTO memories_fts(rowid, content) SELECT new.id, new.content"
      " WHERE new.deleted_at IS NULL; END",
      "CREATE TRIGGER IF NOT EXISTS mcpmem_memories_au_tags AFTER UPDATE OF tags, deleted_at ON"
      " memories BEGIN DELETE FROM memory_tags WHERE memory_id = old.id; " +
          insert_tags("new") + " END",
      "CREATE TRIGGER IF NOT EXISTS mcpmem_memories_au AFTER UPDATE OF content, tags,"
      " memory_type, metadata, created_at, updated_at, deleted_at, hlc ON memories BEGIN" +
          log_change("new", change_op("new")) + " END",
      "CREATE TRIGGER IF NOT EXISTS mcpmem_memories_ad AFTER DELETE ON memories BEGIN"
      " INSERT INTO memories_fts(memories_fts, rowid, content)"
      " SELECT 'delete', old.id, old.content WHERE old.deleted_at IS NULL;"
      " DELETE FROM memory_tags WHERE memory_id = old.id;"
      " DELETE FROM memory_vectors WHERE memory_id = old.id;" +
          log_change("old", "'purge'") + " END",
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
    {"prev_hlc", "TEXT"},
    {"field_versions", "TEXT"},
};
constexpr Column kAddedConflictColumns[] = {
    {"fields", "TEXT"},
    {"uid", "TEXT"},
    {"resolved_by", "TEXT"},
};

// Reads only sqlite_master, so virtual tables whose module is not loaded (the Python service's
// sqlite-vec `memory_embeddings`) are never touched.
Result<bool> has_table(sqlite3* db, const char* name) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE name = ?", -1, &raw, nullptr);
  if (rc != SQLITE_OK) return sqlite_status(db, rc, "reading the schema");
  Statement s(db, raw, /*owned=*/true, nullptr);
  s.bind(1, std::string(name));
  bool found = s.step();
  MCP_RETURN_IF_ERROR(s.status("reading the schema"));
  return found;
}

Status add_missing_columns(sqlite3* db, const std::string& table, std::span<const Column> columns) {
  std::vector<std::string> present;
  sqlite3_stmt* raw = nullptr;
  const std::string what = "reading the columns of " + table;
  int rc = sqlite3_prepare_v2(db, ("PRAGMA table_info(" + table + ")").c_str(), -1, &raw, nullptr);
  if (rc != SQLITE_OK) return sqlite_status(db, rc, what.c_str());
  {
    Statement s(db, raw, /*owned=*/true, nullptr);
    while (s.step()) present.push_back(s.text(1));
    MCP_RETURN_IF_ERROR(s.status(what.c_str()));
  }
  for (const Column& c : columns) {
    if (std::find(present.begin(), present.end(), c.name) != present.end()) continue;
    std::string sql = "ALTER TABLE " + table + " ADD COLUMN " + c.name + " " + c.decl;
    MCP_RETURN_IF_ERROR(exec_sql(db, sql.c_str(), "adding a column"));
  }
  return Status::ok();
}

// Version 5: a conflict's uid is the same on every node (its memory and the version that
// lost), so conflicts and their resolutions sync. Conflicts recorded before get theirs from
// the loser they kept; repeats of one lost edit (re-imports used to record it again) keep
// the first as that uid and get their own.
Status add_conflict_uids(sqlite3* db) {
  return exec_sql(db,
                  "UPDATE sync_conflicts SET uid = content_hash || ':' || "
                  " COALESCE(json_extract(loser, '$.hlc'), 'row-' || id) WHERE uid IS NULL;"
                  "UPDATE sync_conflicts SET uid = uid || '#' || id WHERE id NOT IN "
                  " (SELECT MIN(id) FROM sync_conflicts GROUP BY uid);"
                  "CREATE UNIQUE INDEX IF NOT EXISTS idx_sync_conflicts_uid ON sync_conflicts(uid)",
                  "giving sync conflicts their uid");
}

Status add_missing_columns(sqlite3* db) {
  MCP_RETURN_IF_ERROR(add_missing_columns(db, "memories", kAddedColumns));
  MCP_RETURN_IF_ERROR(add_missing_columns(db, "sync_conflicts", kAddedConflictColumns));
  return add_conflict_uids(db);
}

Status run_all(sqlite3* db, const std::vector<std::string>& statements, const char* what) {
  for (const std::string& sql : statements) MCP_RETURN_IF_ERROR(exec_sql(db, sql.c_str(), what));
  return Status::ok();
}

constexpr const char* kIndexAliveContent =
    "INSERT INTO memories_fts(rowid, content) SELECT id, content FROM memories"
    " WHERE deleted_at IS NULL";

// Version 0 -> current: a new file, or a file of the Python service.
Status create_or_adopt(sqlite3* db, bool created) {
  MCP_ASSIGN_OR_RETURN(auto had_memories, has_table(db, "memories"));
  MCP_ASSIGN_OR_RETURN(auto had_fts, has_table(db, "memories_fts"));
  MCP_ASSIGN_OR_RETURN(auto had_tags, has_table(db, "memory_tags"));
  MCP_ASSIGN_OR_RETURN(auto had_changes, has_table(db, "changes"));

  MCP_RETURN_IF_ERROR(run_all(db, table_statements(), "creating the schema"));
  MCP_RETURN_IF_ERROR(add_missing_columns(db));
  MCP_RETURN_IF_ERROR(run_all(db, trigger_statements(), "creating the triggers"));

  // Derived rows of the rows that existed before our tables (a Python service database).
  if (had_memories && !had_fts) {
    MCP_RETURN_IF_ERROR(exec_sql(db, kIndexAliveContent, "building the full-text index"));
  }
  if (had_memories && !had_tags) {
    std::string sql =
        "INSERT OR IGNORE INTO memory_tags(tag, memory_id) "
        "SELECT DISTINCT lower(trim(j.value)), m.id FROM memories m, json_each(" +
        tags_json("m") + ") j WHERE trim(j.value) <> '' AND m.deleted_at IS NULL";
    MCP_RETURN_IF_ERROR(exec_sql(db, sql.c_str(), "indexing tags"));
  }
  if (had_memories && !had_changes) {
    // Tombstones get a 'delete' entry so deletes made before us can travel too.
    std::string sql =
        "INSERT INTO changes(memory_id, content_hash, op, hlc, at) "
        "SELECT id, content_hash, " +
        change_op("memories") + ", hlc, " + kNow + " FROM memories ORDER BY id";
    MCP_RETURN_IF_ERROR(exec_sql(db, sql.c_str(), "starting the change log"));
  }
  if (created) {
    // What the Python service writes into a new database, so it can open ours. (Not its
    // fts5_enabled row: that would tell it its own FTS table exists.)
    MCP_RETURN_IF_ERROR(
        exec_sql(db,
                 "CREATE TABLE IF NOT EXISTS metadata (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                 "INSERT OR IGNORE INTO metadata(key, value) VALUES ('distance_metric', 'cosine');",
                 "creating the metadata table"));
  }
  return Status::ok();
}

// Version 1 -> 2: version 1 indexed tombstones in memories_fts but our inserts skipped them, so
// replacing an imported tombstone issued an FTS5 'delete' for content never indexed (and
// failed as "database disk image is malformed"). Now the index holds alive rows only.
Status index_alive_rows_only(sqlite3* db) {
  MCP_RETURN_IF_ERROR(exec_sql(db,
                               "DROP TRIGGER IF EXISTS mcpmem_memories_ai_foreign;"
                               "DROP TRIGGER IF EXISTS mcpmem_memories_au_content;"
                               "DROP TRIGGER IF EXISTS mcpmem_memories_ad;",
                               "replacing the full-text triggers"));
  MCP_RETURN_IF_ERROR(run_all(db, trigger_statements(), "creating the triggers"));
  MCP_RETURN_IF_ERROR(exec_sql(db, "INSERT INTO memories_fts(memories_fts) VALUES('delete-all')",
                               "clearing the full-text index"));
  return exec_sql(db, kIndexAliveContent, "rebuilding the full-text index");
}

}  // namespace

std::string indexed_tag(std::string_view tag) {
  while (!tag.empty() && tag.front() == ' ') tag.remove_prefix(1);
  while (!tag.empty() && tag.back() == ' ') tag.remove_suffix(1);
  std::string out(tag);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::vector<std::string> indexed_tags(std::string_view csv) {
  std::vector<std::string> out;
  for (char c : csv) {
    // Control characters other than tab and line breaks make the trigger's JSON invalid.
    if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') return out;
  }
  size_t start = 0;
  while (start <= csv.size()) {
    size_t comma = csv.find(',', start);
    if (comma == std::string_view::npos) comma = csv.size();
    std::string tag = indexed_tag(csv.substr(start, comma - start));
    if (!tag.empty() && std::find(out.begin(), out.end(), tag) == out.end()) {
      out.push_back(std::move(tag));
    }
    start = comma + 1;
  }
  return out;
}

Status migrate(sqlite3* db, int from_version, bool created) {
  if (from_version < 1) {
    // The statements above are the current definitions: a new or Python file goes straight
    // to kSchemaVersion.
    MCP_RETURN_IF_ERROR(create_or_adopt(db, created));
  } else {
    if (from_version < 2) MCP_RETURN_IF_ERROR(index_alive_rows_only(db));
    if (from_version < 3) {
      // Sync: prev_hlc and sync_conflicts.
      MCP_RETURN_IF_ERROR(run_all(db, table_statements(), "creating the sync tables"));
    }
    // 4: field versions, the fields of a conflict, an index for the newest change.
    // 5: conflicts' uid and resolved_by (add_missing_columns).
    if (from_version < 5) {
      MCP_RETURN_IF_ERROR(run_all(db, table_statements(), "adding an index"));
      MCP_RETURN_IF_ERROR(add_missing_columns(db));
    }
  }
  std::string version = "PRAGMA user_version = " + std::to_string(kSchemaVersion);
  return exec_sql(db, version.c_str(), "recording the schema version");
}

}  // namespace mcpmem::storage_detail
