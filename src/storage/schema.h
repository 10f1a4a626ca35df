// The database schema and its migrations (docs/storage.md describes the format in prose).
// Internal to src/storage.
#pragma once

#include <sqlite3.h>

#include "core/status.h"

namespace mcpmem::storage_detail {

// Our schema version, kept in PRAGMA user_version.
inline constexpr int kSchemaVersion = 1;

// Brings the open database to kSchemaVersion inside the caller's write transaction. Tables of
// the Python service are read as they are; only tables, columns, indexes and triggers are
// added. `created` tells whether the file was empty (a new database).
Status migrate(sqlite3* db, bool created);

// Runs one or more statements without results.
Status exec_sql(sqlite3* db, const char* sql, const char* what);

}  // namespace mcpmem::storage_detail
