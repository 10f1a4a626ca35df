// SQLite result codes become Status values a user can act on: busy (another process holds the
// file), corruption (not a database, or damaged: the path is named), a full disk or a read-only
// file (the path and what to check), a duplicate (unique constraints), else an I/O error; each
// message starts with the operation that failed and carries SQLite's own words.
#include "storage/sqlite_statement.h"

namespace mcpmem::storage_detail {

Status sqlite_status(sqlite3* db, int rc, const std::string& what) {
  const std::string detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  const char* file = db != nullptr ? sqlite3_db_filename(db, "main") : nullptr;
  const std::string path = file != nullptr && *file != '\0' ? file : "the database";
  const std::string msg = what + ": " + detail;
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::busy(msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Status::corruption("not an mcp-memory database, or damaged: " + path + " (" + msg +
                                ")");
    case SQLITE_FULL:
      return Status::io_error(what + ": the disk holding " + path +
                              " is full; free some space and retry");
    case SQLITE_IOERR:
      return Status::io_error(what + ": disk I/O error on " + path + " (" + detail + ")");
    case SQLITE_READONLY:
      return Status::io_error(what + ": " + path + " cannot be written (" + detail +
                              "); check the permissions of the file and its directory");
    case SQLITE_CANTOPEN:
      return Status::io_error(what + ": " + detail +
                              "; check that the directory exists and is writable");
    case SQLITE_CONSTRAINT:
      if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
        return Status::already_exists(msg);
      }
      return Status::invalid_argument(msg);
    default:
      return Status::io_error(msg);
  }
}

Status exec_sql(sqlite3* db, const char* sql, const char* what) {
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  return rc == SQLITE_OK ? Status::ok() : sqlite_status(db, rc, what);
}

Statement::~Statement() {
  if (s_ == nullptr) return;
  if (owned_) {
    sqlite3_finalize(s_);
    return;
  }
  sqlite3_reset(s_);
  sqlite3_clear_bindings(s_);
  if (in_use_ != nullptr) *in_use_ = false;
}

Statement& Statement::bind(int i, const std::string& v) {
  return check(sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
}

Statement& Statement::bind_blob(int i, const void* p, size_t n) {
  return check(sqlite3_bind_blob(s_, i, p, static_cast<int>(n), SQLITE_TRANSIENT));
}

Statement& Statement::bind_value(int i, const Value& v) {
  if (std::holds_alternative<int64_t>(v)) return bind(i, std::get<int64_t>(v));
  if (std::holds_alternative<double>(v)) return bind(i, std::get<double>(v));
  if (std::holds_alternative<std::string>(v)) return bind(i, std::get<std::string>(v));
  return bind_null(i);
}

bool Statement::step() {
  if (rc_ != SQLITE_OK) return false;  // a bind failed: do not run with missing values
  int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc != SQLITE_DONE) rc_ = rc;
  return false;
}

std::string Statement::text(int c) const {
  const unsigned char* t = sqlite3_column_text(s_, c);
  return t ? std::string(reinterpret_cast<const char*>(t), sqlite3_column_bytes(s_, c))
           : std::string();
}

std::span<const unsigned char> Statement::blob(int c) const {
  const void* p = sqlite3_column_blob(s_, c);
  return {static_cast<const unsigned char*>(p), static_cast<size_t>(sqlite3_column_bytes(s_, c))};
}

}  // namespace mcpmem::storage_detail
