// Database: opening a file (refusing what is not an SQLite database before writing anything to
// it), pragmas, schema migration, the statement cache, and write transactions that wait out
// other processes: BEGIN IMMEDIATE, and on SQLITE_BUSY (after busy_timeout) a rollback and a
// retry of the whole body with 1-50 ms of jitter until OpenOptions::write_retry_ms has passed.
// Every public call holds one recursive mutex, so nested writes join the open transaction.
#include "storage/database.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

#include "core/json_parse.h"
#include "core/tags.h"
#include "core/time_format.h"
#include "platform/durable_file.h"
#include "platform/secret_file.h"
#include "storage/database_impl.h"
#include "storage/schema.h"

namespace mcpmem {

using storage_detail::exec_sql;
using storage_detail::sqlite_status;
using storage_detail::Statement;
using storage_detail::Value;
using Clock = std::chrono::steady_clock;

namespace storage_detail {

Memory read_memory(const Statement& s) {
  Memory m;
  m.id = s.i64(0);
  m.content_hash = s.text(1);
  m.content = s.text(2);
  m.tags = parse_tags_csv(s.text(3));
  m.memory_type = s.text(4);
  // Rows written by other programs may hold anything here; it reads as an empty object.
  auto meta = parse_json(s.text(5), "metadata");
  if (meta.is_ok() && meta->is_object()) m.metadata = std::move(*meta);
  if (!s.null(6)) {
    m.created_at = s.f64(6);
  } else if (auto t = parse_iso_time(s.text(11))) {
    m.created_at = *t;
  }
  m.updated_at = s.null(7) ? m.created_at : s.f64(7);
  if (!s.null(8)) m.deleted_at = s.f64(8);
  m.hlc = s.text(9);
  m.origin = s.text(10);
  m.prev_hlc = s.text(12);
  // Field versions another program damaged read as none: sync derives them again.
  if (!s.null(13)) {
    auto fields = parse_json(s.text(13), "field versions");
    if (!fields.is_ok()) fields = Json();
    if (auto f = parse_field_versions(*fields)) m.fields = std::move(*f);
  }
  return m;
}

void bind_all(Statement& s, int first, const std::vector<Value>& values) {
  for (size_t i = 0; i < values.size(); ++i) s.bind_value(first + static_cast<int>(i), values[i]);
}

}  // namespace storage_detail

namespace {

// PRAGMA application_id of a copy `replica follow` made ("mcmf").
constexpr int64_t kFollowedCopyId = 0x6d636d66;
constexpr const char* kMarkFollowedCopy = "PRAGMA application_id=1835232614";

std::string duration_text(int ms) {
  return ms < 2000 ? std::to_string(ms) + " ms" : std::to_string(ms / 1000) + " s";
}

}  // namespace

// ---- Impl ----

Database::Impl::~Impl() {
  for (auto& [sql, c] : cache) sqlite3_finalize(c.stmt);
  if (db != nullptr) sqlite3_close_v2(db);
}

Result<std::unique_ptr<Statement>> Database::Impl::prepare(const std::string& sql) {
  auto it = cache.find(sql);
  if (it != cache.end() && it->second.in_use) {
    sqlite3_stmt* s = nullptr;
    int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr);
    if (rc != SQLITE_OK) return sqlite_status(db, rc, "preparing a query");
    return std::make_unique<Statement>(db, s, /*owned=*/true, nullptr);
  }
  if (it == cache.end()) {
    sqlite3_stmt* s = nullptr;
    int rc = sqlite3_prepare_v3(db, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
    if (rc != SQLITE_OK) return sqlite_status(db, rc, "preparing a query");
    it = cache.emplace(sql, Cached{s, false}).first;
  }
  it->second.in_use = true;
  return std::make_unique<Statement>(db, it->second.stmt, /*owned=*/false, &it->second.in_use);
}

Status Database::Impl::attempt_write(const std::function<Status()>& body) {
  MCP_RETURN_IF_ERROR(exec_sql(db, "BEGIN IMMEDIATE", "starting a write"));
  tx_depth = 1;
  Status s;
  try {
    s = check_vector_model();
    if (s.is_ok()) s = body();
  } catch (const std::exception& e) {
    s = Status::internal(std::string("writing to ") + path + ": " + e.what());
  }
  tx_depth = 0;
  if (s.is_ok()) {
    // SQLite ends the transaction itself after some errors (full disk, I/O errors).
    s = sqlite3_get_autocommit(db)
            ? Status::io_error("the write to " + path + " was rolled back after an error")
            : exec_sql(db, "COMMIT", "committing");
  }
  if (!s.is_ok() && !sqlite3_get_autocommit(db)) (void)exec_sql(db, "ROLLBACK", "rolling back");
  return s;
}

Status Database::Impl::write(const std::function<Status()>& body) {
  if (tx_depth > 0) {
    // Nested: join. If SQLite already rolled the transaction back, writing now would commit
    // outside of it.
    if (sqlite3_get_autocommit(db)) {
      return Status::io_error("the write to " + path + " was rolled back after an earlier error");
    }
    return body();
  }
  const auto deadline = Clock::now() + std::chrono::milliseconds(opts.write_retry_ms);
  std::minstd_rand jitter(static_cast<unsigned>(Clock::now().time_since_epoch().count()));
  for (int attempt = 0;; ++attempt) {
    Status s = attempt_write(body);
    if (s.code() != StatusCode::kBusy) return s;
    if (Clock::now() >= deadline) {
      return Status::busy("the database " + path + " stayed locked by another process for " +
                          duration_text(opts.write_retry_ms) + " (" + s.message() +
                          "); is a stuck process holding it? Stop it, or retry later");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1 + jitter() % (attempt < 5 ? 10 : 50)));
  }
}

Result<int64_t> Database::Impl::scalar(const std::string& sql, const std::vector<Value>& values) {
  MCP_ASSIGN_OR_RETURN(auto s, prepare(sql));
  storage_detail::bind_all(*s, 1, values);
  int64_t v = s->step() ? s->i64(0) : 0;
  MCP_RETURN_IF_ERROR(s->status("reading " + sql.substr(0, 40)));
  return v;
}

Result<std::vector<Memory>> Database::Impl::memories(const std::string& sql,
                                                     const std::vector<Value>& values) {
  MCP_ASSIGN_OR_RETURN(auto s, prepare(sql));
  storage_detail::bind_all(*s, 1, values);
  std::vector<Memory> out;
  while (s->step()) out.push_back(storage_detail::read_memory(*s));
  MCP_RETURN_IF_ERROR(s->status("reading memories"));
  return out;
}

// ---- opening ----

namespace {

// The first read of the file: a file that is not an SQLite database fails here, before
// anything is written to it. Returns whether the database is empty (new).
Result<bool> read_schema_size(Database::Impl& impl) {
  MCP_RETURN_IF_ERROR(impl.scalar("PRAGMA page_count"));
  MCP_ASSIGN_OR_RETURN(auto objects, impl.scalar("SELECT COUNT(*) FROM sqlite_master"));
  return objects == 0;
}

Status set_pragmas(Database::Impl& impl, bool created) {
  if (created && !impl.opts.read_only) {
    // 8 KiB pages hold five 384-float vectors where 4 KiB pages hold two: new files are 15%
    // smaller and imports write less (a no-op if another process made the file first).
    MCP_RETURN_IF_ERROR(exec_sql(impl.db, "PRAGMA page_size=8192", "setting the page size"));
  }
  if (!impl.opts.read_only) {
    // Switching a new database to WAL needs a moment of exclusive access: retry while another
    // process opening the same new file holds it (a no-op once the file is in WAL mode).
    const auto deadline = Clock::now() + std::chrono::milliseconds(impl.opts.write_retry_ms);
    for (;;) {
      Status wal = exec_sql(impl.db, "PRAGMA journal_mode=WAL", "enabling WAL");
      if (wal.is_ok()) break;
      if (wal.code() != StatusCode::kBusy || Clock::now() >= deadline) return wal;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  // Never a TRUNCATE or RESTART checkpoint: Litestream may hold a read transaction.
  std::string pragmas =
      std::string("PRAGMA synchronous=") + (impl.opts.synchronous_full ? "FULL" : "NORMAL") +
      "; PRAGMA temp_store=MEMORY; PRAGMA cache_size=-65536; PRAGMA wal_autocheckpoint=8000;"
      " PRAGMA foreign_keys=OFF;";
  return exec_sql(impl.db, pragmas.c_str(), "setting pragmas");
}

Status bring_schema_up_to_date(Database::Impl& impl, bool created) {
  constexpr int kCurrent = storage_detail::kSchemaVersion;
  MCP_ASSIGN_OR_RETURN(auto version, impl.scalar("PRAGMA user_version"));
  if (version > kCurrent) {
    return Status::failed_precondition("the database " + impl.path +
                                       " was written by a newer mcp-memory (schema " +
                                       std::to_string(version) + "); upgrade this binary");
  }
  if (version == kCurrent) return Status::ok();
  if (impl.opts.read_only) {
    return Status::failed_precondition("the database " + impl.path +
                                       " needs a schema upgrade; open it once without read-only");
  }
  return impl.write([&]() -> Status {
    // Another process may have migrated while we waited for the lock.
    MCP_ASSIGN_OR_RETURN(auto v, impl.scalar("PRAGMA user_version"));
    if (v >= kCurrent) return Status::ok();
    return storage_detail::migrate(impl.db, static_cast<int>(v), created);
  });
}

}  // namespace

Database::Database(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Database::~Database() = default;

const std::string& Database::path() const { return impl_->path; }

Result<std::unique_ptr<Database>> Database::open(const std::string& path, const OpenOptions& opts) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->opts = opts;
  namespace fs = std::filesystem;
  if (std::error_code ec; !opts.read_only && fs::exists(follow_marker_path(path), ec)) {
    // A followed copy is never written here, nor created before its first round (see the
    // header): read-only, so a missing one is an error instead of a new empty database.
    impl->opts.read_only = true;
  }
  int flags =
      impl->opts.read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  flags |= SQLITE_OPEN_NOMUTEX;  // our mutex serializes every use of the connection
  int rc = sqlite3_open_v2(path.c_str(), &impl->db, flags, nullptr);
  if (rc != SQLITE_OK) return sqlite_status(impl->db, rc, "opening " + path);
  sqlite3_extended_result_codes(impl->db, 1);
  sqlite3_busy_timeout(impl->db, opts.busy_timeout_ms);

  MCP_ASSIGN_OR_RETURN(auto created, read_schema_size(*impl));
  MCP_RETURN_IF_ERROR(set_pragmas(*impl, created));
  MCP_RETURN_IF_ERROR(bring_schema_up_to_date(*impl, created));
  return std::unique_ptr<Database>(new Database(std::move(impl)));
}

// ---- meta, transactions, maintenance ----

Result<std::optional<std::string>> Database::get_meta(const std::string& key) {
  std::lock_guard lock(impl_->mu);
  MCP_ASSIGN_OR_RETURN(auto s, impl_->prepare("SELECT value FROM meta WHERE key = ?"));
  s->bind(1, key);
  std::optional<std::string> out;
  if (s->step()) out = s->text(0);
  MCP_RETURN_IF_ERROR(s->status("reading meta"));
  return out;
}

Status Database::set_meta(const std::string& key, const std::string& value) {
  std::lock_guard lock(impl_->mu);
  return impl_->write([&]() -> Status {
    MCP_ASSIGN_OR_RETURN(auto s,
                         impl_->prepare("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)"));
    return s->bind(1, key).bind(2, value).run("writing meta");
  });
}

Result<std::string> Database::database_id() {
  constexpr const char* kKey = "database_id";
  MCP_ASSIGN_OR_RETURN(auto id, get_meta(kKey));
  if (id.has_value()) return *id;
  if (impl_->opts.read_only) return std::string();
  std::random_device device;
  char made[33];
  std::snprintf(made, sizeof made, "%08x%08x%08x%08x", device(), device(), device(), device());
  {
    std::lock_guard lock(impl_->mu);
    MCP_RETURN_IF_ERROR(impl_->write([&]() -> Status {
      MCP_ASSIGN_OR_RETURN(auto s,
                           impl_->prepare("INSERT OR IGNORE INTO meta(key, value) VALUES (?, ?)"));
      return s->bind(1, kKey).bind(2, std::string(made)).run("writing meta");
    }));
  }
  MCP_ASSIGN_OR_RETURN(id, get_meta(kKey));  // another process may have made it first
  return id.value_or("");
}

Status Database::write_transaction(const std::function<Status()>& body) {
  std::lock_guard lock(impl_->mu);
  return impl_->write(body);
}

Status Database::write_step(const std::function<Status()>& body) {
  std::lock_guard lock(impl_->mu);
  if (impl_->tx_depth == 0) return impl_->write(body);
  MCP_RETURN_IF_ERROR(exec_sql(impl_->db, "SAVEPOINT write_step", "starting a step"));
  Status s = impl_->write(body);
  if (!s.is_ok() && !sqlite3_get_autocommit(impl_->db)) {
    (void)exec_sql(impl_->db, "ROLLBACK TO write_step", "undoing a step");
  }
  if (!sqlite3_get_autocommit(impl_->db)) {
    Status released = exec_sql(impl_->db, "RELEASE write_step", "ending a step");
    if (s.is_ok()) s = released;
  }
  return s;
}

Result<int64_t> Database::data_version() {
  std::lock_guard lock(impl_->mu);
  return impl_->scalar("PRAGMA data_version");
}

Status Database::backup_to(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(path, ec)) return Status::already_exists(path + " already exists");
  // A name of its own (two processes backing up at once never share one), made empty and
  // owner-only first (whatever the umask): SQLite fills it as a new database.
  const std::string partial = temporary_path_beside(path);
  MCP_RETURN_IF_ERROR(create_secret_file(partial, ""));
  sqlite3* dest = nullptr;
  int rc =
      sqlite3_open_v2(partial.c_str(), &dest, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  Status st = Status::ok();
  if (rc == SQLITE_OK) {
    std::lock_guard lock(impl_->mu);
    sqlite3_backup* b = sqlite3_backup_init(dest, "main", impl_->db, "main");
    if (!b) {
      st = Status::io_error(std::string("starting a backup: ") + sqlite3_errmsg(dest));
    } else {
      // Every page in one step, inside one read transaction of the source: one consistent
      // snapshot, including what is committed in the WAL but not yet in the main file.
      rc = sqlite3_backup_step(b, -1);
      sqlite3_backup_finish(b);
      if (rc != SQLITE_DONE) {
        st = Status::io_error(std::string("copying the database: ") + sqlite3_errstr(rc));
      }
    }
  } else {
    st = Status::io_error("creating " + partial + ": " + sqlite3_errstr(rc));
  }
  // The copy is a standalone file: no WAL beside it, so it opens anywhere as it is.
  if (st.is_ok())
    st = storage_detail::exec_sql(dest, "PRAGMA journal_mode=DELETE", "finishing the backup");
  sqlite3_close(dest);
  // fsynced, then named `path` only if nothing has that name yet (never a replace).
  if (st.is_ok()) st = publish_new_file(partial, path);
  fs::remove(partial, ec);
  return st;
}

Result<DatabaseFileSummary> Database::inspect_file(const std::string& path, bool check_integrity) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  // Closed on every path out; a read-only connection leaves no file behind.
  std::unique_ptr<sqlite3, decltype(&sqlite3_close_v2)> closer(db, &sqlite3_close_v2);
  if (rc != SQLITE_OK) return sqlite_status(db, rc, "opening " + path);
  sqlite3_busy_timeout(db, 5000);
  DatabaseFileSummary out;
  auto read = [&](const char* sql, auto&& on_row) -> Status {
    sqlite3_stmt* raw = nullptr;
    int prc = sqlite3_prepare_v2(db, sql, -1, &raw, nullptr);
    if (prc != SQLITE_OK) return sqlite_status(db, prc, "reading " + path);
    Statement s(db, raw, /*owned=*/true, nullptr);
    while (s.step()) on_row(s);
    return s.status("reading " + path);
  };
  bool has_memories = false;
  MCP_RETURN_IF_ERROR(read("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'memories'",
                           [&](const Statement&) { has_memories = true; }));
  if (!has_memories) {
    return Status::corruption(path +
                              " is an SQLite database but not a memory database (it has "
                              "no memories table)");
  }
  // Alive memories; a database of the Python service without tombstones has no deleted_at.
  const char* count_alive =
      "SELECT COUNT(*), MAX(created_at) FROM memories WHERE deleted_at IS NULL";
  auto on_count = [&](const Statement& s) {
    out.memories = s.i64(0);
    if (!s.null(1)) out.newest_created_at = s.f64(1);
  };
  if (!read(count_alive, on_count).is_ok()) {
    MCP_RETURN_IF_ERROR(read("SELECT COUNT(*), MAX(created_at) FROM memories", on_count));
  }
  if (check_integrity) {
    std::string report;
    Status st = read("PRAGMA integrity_check", [&](const Statement& s) {
      report += (report.empty() ? "" : "\n") + s.text(0);
    });
    if (st.is_ok()) {
      out.integrity = report;
    } else if (st.message().find("no such module") == std::string::npos) {
      return st;  // else a table of a module we do not load (sqlite-vec): left unchecked
    }
  }
  return out;
}

Result<bool> Database::file_in_use(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  auto beside = [&] { return fs::exists(path + "-wal", ec) || fs::exists(path + "-shm", ec); };
  if (!beside()) return false;
  // The last connection to close folds the WAL into the file and removes -wal and -shm; a WAL
  // left by a crash goes the same way. If they stay, another connection has the file open.
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr);
  if (rc == SQLITE_OK) {
    sqlite3_busy_timeout(db, 2000);
    rc = sqlite3_exec(db, "SELECT COUNT(*) FROM sqlite_master", nullptr, nullptr, nullptr);
  }
  Status st = rc == SQLITE_OK ? Status::ok() : sqlite_status(db, rc, "opening " + path);
  sqlite3_close_v2(db);
  if (!st.is_ok() && !beside()) return false;
  MCP_RETURN_IF_ERROR(st);
  return beside();
}

std::string Database::follow_marker_path(const std::string& path) { return path + ".follow"; }

Status Database::make_standalone_file(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr);
  std::unique_ptr<sqlite3, decltype(&sqlite3_close_v2)> closer(db, &sqlite3_close_v2);
  if (rc != SQLITE_OK) return sqlite_status(db, rc, "opening " + path);
  sqlite3_busy_timeout(db, 5000);
  // Leaving WAL mode checkpoints the whole WAL into the file and removes -wal and -shm.
  MCP_RETURN_IF_ERROR(
      storage_detail::exec_sql(db, "PRAGMA journal_mode=DELETE",
                               ("switching " + path + " to rollback-journal mode").c_str()));
  return storage_detail::exec_sql(db, kMarkFollowedCopy,
                                  ("marking " + path + " as a followed copy").c_str());
}

bool Database::is_followed_copy(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  std::unique_ptr<sqlite3, decltype(&sqlite3_close_v2)> closer(db, &sqlite3_close_v2);
  if (rc != SQLITE_OK) return false;
  sqlite3_stmt* st = nullptr;
  bool marked = false;
  if (sqlite3_prepare_v2(db, "PRAGMA application_id", -1, &st, nullptr) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW) {
    marked = sqlite3_column_int64(st, 0) == kFollowedCopyId;
  }
  sqlite3_finalize(st);
  return marked;
}

Status Database::unmark_followed_copy(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr);
  std::unique_ptr<sqlite3, decltype(&sqlite3_close_v2)> closer(db, &sqlite3_close_v2);
  if (rc != SQLITE_OK) return sqlite_status(db, rc, "opening " + path);
  sqlite3_busy_timeout(db, 5000);
  return storage_detail::exec_sql(db, "PRAGMA application_id=0",
                                  ("unmarking the followed copy " + path).c_str());
}

Result<std::string> Database::integrity_check() {
  std::lock_guard lock(impl_->mu);
  MCP_ASSIGN_OR_RETURN(auto s, impl_->prepare("PRAGMA integrity_check"));
  std::string out;
  while (s->step()) {
    if (!out.empty()) out += "\n";
    out += s->text(0);
  }
  Status st = s->status("checking integrity");
  if (!st.is_ok() && st.message().find("no such module") != std::string::npos) {
    // Newer SQLite versions check virtual tables too; the Python service's sqlite-vec table
    // cannot be checked without its extension, which we do not load.
    return Status::failed_precondition(
        "the integrity check needs a virtual-table module that is not loaded (the Python "
        "service's sqlite-vec table?): " +
        st.message());
  }
  MCP_RETURN_IF_ERROR(st);
  return out;
}

}  // namespace mcpmem
