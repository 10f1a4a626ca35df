// Thin helpers over the sqlite3 C API shared by the storage files: a prepared statement in use
// (bind, step, read columns; reset when it goes out of scope), one-shot SQL, and the mapping of
// SQLite result codes to Status with a message that names the operation, the file and the fix.
// Internal to src/storage.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <span>
#include <string>
#include <variant>

#include "core/status.h"

namespace mcpmem::storage_detail {

// A value bound to a `?` of dynamic SQL (filters).
using Value = std::variant<std::nullptr_t, int64_t, double, std::string>;

// The Status for SQLite result code `rc` from operation `what` ("storing memories"). The
// message carries sqlite3_errmsg and, for damage, full disk or a read-only file, the path.
Status sqlite_status(sqlite3* db, int rc, const std::string& what);

// Runs one or more statements without results.
Status exec_sql(sqlite3* db, const char* sql, const char* what);

// A prepared statement in use. Owns nothing unless `owned` (then it finalizes the statement);
// a cached statement is reset and unbound when this goes out of scope, and `in_use` (the
// cache's flag) is cleared. The first failing bind or step is kept and reported by status().
class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* s, bool owned, bool* in_use)
      : db_(db), s_(s), owned_(owned), in_use_(in_use) {}
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int i, int64_t v) { return check(sqlite3_bind_int64(s_, i, v)); }
  Statement& bind(int i, double v) { return check(sqlite3_bind_double(s_, i, v)); }
  Statement& bind(int i, const std::string& v);
  Statement& bind_null(int i) { return check(sqlite3_bind_null(s_, i)); }
  Statement& bind_blob(int i, const void* p, size_t n);
  Statement& bind_value(int i, const Value& v);
  // Empty text is stored as NULL (optional columns such as memory_type and hlc).
  Statement& bind_optional_text(int i, const std::string& v) {
    return v.empty() ? bind_null(i) : bind(i, v);
  }

  // SQLITE_ROW -> true; SQLITE_DONE or an error -> false (the error is kept for status()).
  bool step();
  Status status(const std::string& what) const {
    return rc_ == SQLITE_OK ? Status::ok() : sqlite_status(db_, rc_, what);
  }
  // Runs to completion (for writes).
  Status run(const std::string& what) {
    while (step()) {
    }
    return status(what);
  }

  int64_t i64(int c) const { return sqlite3_column_int64(s_, c); }
  double f64(int c) const { return sqlite3_column_double(s_, c); }
  bool null(int c) const { return sqlite3_column_type(s_, c) == SQLITE_NULL; }
  std::string text(int c) const;
  std::span<const unsigned char> blob(int c) const;

 private:
  Statement& check(int rc) {
    if (rc != SQLITE_OK && rc_ == SQLITE_OK) rc_ = rc;
    return *this;
  }
  sqlite3* db_;
  sqlite3_stmt* s_;
  bool owned_;
  bool* in_use_;
  int rc_ = SQLITE_OK;
};

}  // namespace mcpmem::storage_detail
