// Database::Impl: the connection, its statement cache and the write-transaction machinery,
// shared by the files that implement Database (database.cpp: opening, transactions, meta;
// memory_writes.cpp; memory_reads.cpp). Every member is used with `mu` held.
// Internal to src/storage.
#pragma once

#include <sqlite3.h>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "storage/database.h"
#include "storage/sqlite_statement.h"

namespace mcpmem {

struct Database::Impl {
  sqlite3* db = nullptr;
  std::string path;
  OpenOptions opts;
  // Recursive: write methods called from inside write_transaction()'s body, on the same
  // thread, lock again and join the open transaction (tx_depth > 0).
  std::recursive_mutex mu;
  int tx_depth = 0;
  // Non-empty: the model this process makes vectors with; every write checks it is still the
  // stored vectors' model (Database::guard_vector_model).
  std::string vector_model_guard;

  struct Cached {
    sqlite3_stmt* stmt = nullptr;
    bool in_use = false;
  };
  // By SQL text. Dynamic SQL (filters, multi-row inserts) has a bounded number of shapes.
  std::unordered_map<std::string, Cached> cache;

  ~Impl();

  // The cached statement for `sql`, prepared on first use. If that statement is in use
  // further up the stack (a callback calling back in), a fresh one-off statement is returned.
  Result<std::unique_ptr<storage_detail::Statement>> prepare(const std::string& sql);

  // Runs `body` in BEGIN IMMEDIATE ... COMMIT, retried as a whole while another process holds
  // the write lock, up to opts.write_retry_ms; joins the open transaction when nested.
  Status write(const std::function<Status()>& body);

  // The first column of the first row (0 when there is none).
  Result<int64_t> scalar(const std::string& sql,
                         const std::vector<storage_detail::Value>& values = {});
  // Rows of a `SELECT kMemoryColumns FROM memories m ...`.
  Result<std::vector<Memory>> memories(const std::string& sql,
                                       const std::vector<storage_detail::Value>& values);
  // FailedPrecondition when the stored vectors are no longer made by vector_model_guard.
  Status check_vector_model();

  // Writes the FTS and tag-index rows of memories we just inserted (the triggers do this only
  // for other programs' rows), in multi-row statements.
  Status index_rows(const std::vector<std::pair<int64_t, const Memory*>>& rows);

 private:
  Status attempt_write(const std::function<Status()>& body);
};

namespace storage_detail {

// The columns read_memory() expects, over `memories m`.
inline constexpr const char* kMemoryColumns =
    "m.id, m.content_hash, m.content, m.tags, m.memory_type, m.metadata, m.created_at, "
    "m.updated_at, m.deleted_at, m.hlc, m.origin, m.created_at_iso, m.prev_hlc, "
    "m.field_versions";
// How many columns kMemoryColumns names: a column selected after them has this index.
inline constexpr int kMemoryColumnCount = 14;

Memory read_memory(const Statement& s);

// Binds values[i] to parameter first + i.
void bind_all(Statement& s, int first, const std::vector<Value>& values);

}  // namespace storage_detail
}  // namespace mcpmem
