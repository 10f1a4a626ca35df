// The database schema and its migrations (docs/storage.md describes the format in prose).
// Internal to src/storage.
#pragma once

#include <sqlite3.h>

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace mcpmem::storage_detail {

// Our schema version, kept in PRAGMA user_version (the Python service does not use it; it keeps
// its own in its `metadata` table). 1: tables, triggers, FTS of every row. 2: FTS of alive rows.
// 3: prev_hlc and sync_conflicts (sync). 4: field_versions of memories, fields of conflicts,
// an index on updated_at.
inline constexpr int kSchemaVersion = 5;

// Brings the open database from `from_version` to kSchemaVersion inside the caller's write
// transaction. Tables of the Python service are read as they are; only tables, columns,
// indexes and triggers are added (ours are replaced when their definition changes), derived
// rows are filled in. `created` tells whether the file was empty (a new database).
Status migrate(sqlite3* db, int from_version, bool created);

// The memory_tags rows the triggers derive from a tags column value: split at commas, each
// piece trimmed of spaces and ASCII-lowercased (SQLite's trim() and lower()), empty pieces
// dropped, duplicates removed. Our own inserts use it so both paths give the same rows.
std::vector<std::string> indexed_tags(std::string_view csv);

// What the tag index holds for one tag (SQLite's trim() and ASCII lower()).
std::string indexed_tag(std::string_view tag);

}  // namespace mcpmem::storage_detail
