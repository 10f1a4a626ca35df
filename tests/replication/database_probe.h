// Reading a database file the way a check does, with SQLite alone and read-only: what the
// replication tests compare between a database and its copies (what our code wrote is never
// used to judge it).
#pragma once

#include <sqlite3.h>

#include <string>

namespace mcpmem {

// The first column of the first row `sql` returns, as text ("no answer" when none).
inline std::string first_text(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, sql, -1, &st, nullptr);
  const unsigned char* v =
      st != nullptr && sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_text(st, 0) : nullptr;
  std::string out = v != nullptr ? reinterpret_cast<const char*>(v) : "no answer";
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

inline std::string integrity(const std::string& path) {
  return first_text(path, "PRAGMA integrity_check");
}

// Every column that makes a memory, in id order, as one string.
inline std::string all_rows(const std::string& path) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db,
                     "SELECT content_hash, content, tags, memory_type, metadata, created_at, "
                     "updated_at, deleted_at FROM memories ORDER BY id",
                     -1, &st, nullptr);
  std::string out;
  while (st != nullptr && sqlite3_step(st) == SQLITE_ROW) {
    for (int c = 0; c < 8; ++c) {
      const unsigned char* v = sqlite3_column_text(st, c);
      out += v ? reinterpret_cast<const char*>(v) : "NULL";
      out += '\x1f';
    }
    out += '\n';
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

}  // namespace mcpmem
