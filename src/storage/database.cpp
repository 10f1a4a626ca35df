// Database: connection set-up, write transactions that wait out other processes, and the
// memory reads and writes. Statements are prepared once and cached by SQL text (filters make
// a handful of distinct texts); every call runs under one recursive mutex, so nested calls
// from inside write_transaction() join the open transaction.
#include "storage/database.h"

#include <sqlite3.h>

#include <cctype>
#include <chrono>
#include <cstring>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>
#include <variant>

#include "core/tags.h"
#include "core/time_format.h"
#include "storage/schema.h"

namespace mcpmem {
namespace {

using storage_detail::exec_sql;
using Clock = std::chrono::steady_clock;

constexpr const char* kMemoryColumns =
    "m.id, m.content_hash, m.content, m.tags, m.memory_type, m.metadata, m.created_at, "
    "m.updated_at, m.deleted_at, m.hlc, m.origin, m.created_at_iso";

Status sqlite_status(sqlite3* db, int rc, const std::string& what) {
  std::string msg = what + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::busy(msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Status::corruption(msg);
    case SQLITE_FULL:
      return Status::io_error(what + ": the disk is full");
    case SQLITE_CONSTRAINT:
      return Status::already_exists(msg);
    default:
      return Status::io_error(msg);
  }
}

using Value = std::variant<std::nullptr_t, int64_t, double, std::string>;

// A cached statement in use: reset and unbound when it goes out of scope.
class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* s) : db_(db), s_(s) {}
  ~Stmt() {
    if (s_ != nullptr) {
      sqlite3_reset(s_);
      sqlite3_clear_bindings(s_);
    }
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& bind(int i, int64_t v) { return check(sqlite3_bind_int64(s_, i, v)); }
  Stmt& bind(int i, double v) { return check(sqlite3_bind_double(s_, i, v)); }
  Stmt& bind(int i, const std::string& v) {
    return check(sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
  }
  Stmt& bind_null(int i) { return check(sqlite3_bind_null(s_, i)); }
  Stmt& bind_blob(int i, const void* p, size_t n) {
    return check(sqlite3_bind_blob(s_, i, p, static_cast<int>(n), SQLITE_TRANSIENT));
  }
  Stmt& bind_value(int i, const Value& v) {
    if (std::holds_alternative<int64_t>(v)) return bind(i, std::get<int64_t>(v));
    if (std::holds_alternative<double>(v)) return bind(i, std::get<double>(v));
    if (std::holds_alternative<std::string>(v)) return bind(i, std::get<std::string>(v));
    return bind_null(i);
  }
  Stmt& bind_optional_text(int i, const std::string& v) {
    return v.empty() ? bind_null(i) : bind(i, v);
  }

  // SQLITE_ROW -> true, SQLITE_DONE -> false, else the error in status().
  bool step() {
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) rc_ = rc;
    return false;
  }
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
  std::string text(int c) const {
    const unsigned char* t = sqlite3_column_text(s_, c);
    return t ? std::string(reinterpret_cast<const char*>(t), sqlite3_column_bytes(s_, c))
             : std::string();
  }
  std::span<const unsigned char> blob(int c) const {
    const void* p = sqlite3_column_blob(s_, c);
    return {static_cast<const unsigned char*>(p), static_cast<size_t>(sqlite3_column_bytes(s_, c))};
  }

 private:
  Stmt& check(int rc) {
    if (rc != SQLITE_OK && rc_ == SQLITE_OK) rc_ = rc;
    return *this;
  }
  sqlite3* db_;
  sqlite3_stmt* s_;
  int rc_ = SQLITE_OK;
};

Memory read_memory(const Stmt& s) {
  Memory m;
  m.id = s.i64(0);
  m.content_hash = s.text(1);
  m.content = s.text(2);
  m.tags = parse_tags_csv(s.text(3));
  m.memory_type = s.text(4);
  // Rows written by other programs may hold anything here; it reads as an empty object.
  Json meta = Json::parse(s.text(5), nullptr, false);
  if (!meta.is_discarded() && meta.is_object()) m.metadata = std::move(meta);
  if (!s.null(6)) {
    m.created_at = s.f64(6);
  } else if (auto t = parse_iso_time(s.text(11))) {
    m.created_at = *t;
  }
  m.updated_at = s.null(7) ? m.created_at : s.f64(7);
  if (!s.null(8)) m.deleted_at = s.f64(8);
  m.hlc = s.text(9);
  m.origin = s.text(10);
  return m;
}

// SQL for a MemoryFilter over `memories m`: " AND ..." plus its values.
struct FilterSql {
  std::string where;
  std::vector<Value> values;
};

FilterSql filter_sql(const MemoryFilter& f) {
  FilterSql out;
  if (!f.include_deleted) out.where += " AND m.deleted_at IS NULL";
  if (!f.tags.empty()) {
    std::string in;
    for (const auto& t : f.tags) {
      in += in.empty() ? "?" : ",?";
      out.values.emplace_back(t);
    }
    if (f.match_all_tags && f.tags.size() > 1) {
      out.where +=
          " AND (SELECT COUNT(DISTINCT t.tag) FROM memory_tags t WHERE t.memory_id = m.id"
          " AND t.tag IN (" +
          in + ")) = " + std::to_string(f.tags.size());
    } else {
      out.where +=
          " AND m.id IN (SELECT t.memory_id FROM memory_tags t WHERE t.tag IN (" + in + "))";
    }
  }
  if (f.memory_type) {
    out.where += " AND m.memory_type = ?";
    out.values.emplace_back(*f.memory_type);
  }
  if (f.created_after) {
    out.where += " AND m.created_at >= ?";
    out.values.emplace_back(*f.created_after);
  }
  if (f.created_before) {
    out.where += " AND m.created_at <= ?";
    out.values.emplace_back(*f.created_before);
  }
  return out;
}

// What the tag triggers store for a tag: SQLite's trim() and (ASCII-only) lower().
std::string lower_ascii_trimmed(std::string_view tag) {
  while (!tag.empty() && tag.front() == ' ') tag.remove_prefix(1);
  while (!tag.empty() && tag.back() == ' ') tag.remove_suffix(1);
  std::string out(tag);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return out;
}

// Words of a keyword query, each quoted so FTS5 syntax in user input is inert.
std::string fts_query(const std::string& query) {
  std::string out, word;
  auto flush = [&] {
    if (word.empty()) return;
    if (!out.empty()) out += " OR ";
    out += "\"" + word + "\"";
    word.clear();
  };
  for (char c : query) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u >= 0x80 || std::isalnum(u) || c == '_') {
      word.push_back(c);
    } else {
      flush();
    }
  }
  flush();
  return out;
}

}  // namespace

struct Database::Impl {
  sqlite3* db = nullptr;
  std::string path;
  OpenOptions opts;
  std::recursive_mutex mu;
  int tx_depth = 0;
  std::unordered_map<std::string, sqlite3_stmt*> cache;

  ~Impl() {
    for (auto& [sql, s] : cache) sqlite3_finalize(s);
    if (db != nullptr) sqlite3_close_v2(db);
  }

  Result<std::unique_ptr<Stmt>> prepare(const std::string& sql) {
    auto it = cache.find(sql);
    if (it == cache.end()) {
      sqlite3_stmt* s = nullptr;
      int rc = sqlite3_prepare_v3(db, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
      if (rc != SQLITE_OK) return sqlite_status(db, rc, "preparing a query");
      it = cache.emplace(sql, s).first;
    }
    return std::make_unique<Stmt>(db, it->second);
  }

  // Runs `body` in BEGIN IMMEDIATE ... COMMIT, retried while another process holds the lock.
  Status write(const std::function<Status()>& body) {
    if (tx_depth > 0) return body();  // join the open transaction
    const auto deadline = Clock::now() + std::chrono::milliseconds(opts.write_retry_ms);
    std::minstd_rand jitter(static_cast<unsigned>(Clock::now().time_since_epoch().count()));
    for (int attempt = 0;; ++attempt) {
      Status s = exec_sql(db, "BEGIN IMMEDIATE", "starting a write");
      if (s.is_ok()) {
        tx_depth = 1;
        s = body();
        tx_depth = 0;
        if (s.is_ok()) s = exec_sql(db, "COMMIT", "committing");
        if (!s.is_ok()) (void)exec_sql(db, "ROLLBACK", "rolling back");
        if (s.is_ok()) return s;
      }
      if (s.code() != StatusCode::kBusy) return s;
      if (Clock::now() >= deadline) {
        return Status::busy("the database " + path + " stayed locked by another process for " +
                            std::to_string(opts.write_retry_ms / 1000) +
                            " s; is a stuck process holding it?");
      }
      std::this_thread::sleep_for(
          std::chrono::milliseconds(1 + jitter() % (attempt < 5 ? 10 : 50)));
    }
  }

  // Writes the FTS and tag-index rows of memories we just inserted (the triggers do this only
  // for other programs' rows), in multi-row statements of at most kRows rows.
  Status index_rows(const std::vector<std::pair<int64_t, const Memory*>>& rows) {
    constexpr size_t kRows = 128;
    for (size_t begin = 0; begin < rows.size();) {
      size_t n = kRows;
      while (n > rows.size() - begin) n /= 2;
      std::string sql = "INSERT INTO memories_fts(rowid, content) VALUES ";
      size_t alive = 0;
      for (size_t r = 0; r < n; ++r) {
        if (!rows[begin + r].second->deleted_at) sql += alive++ ? ",(?,?)" : "(?,?)";
      }
      if (alive > 0) {
        auto fts = prepare(sql);
        if (!fts.is_ok()) return fts.status();
        int p = 1;
        for (size_t r = 0; r < n; ++r) {
          const auto& [id, m] = rows[begin + r];
          if (m->deleted_at) continue;
          (*fts)->bind(p, id).bind(p + 1, m->content);
          p += 2;
        }
        MCP_RETURN_IF_ERROR((*fts)->run("indexing content"));
      }
      std::vector<std::pair<int64_t, std::string>> tags;
      for (size_t r = 0; r < n; ++r) {
        const auto& [id, m] = rows[begin + r];
        if (m->deleted_at) continue;
        for (const std::string& t : m->tags) {
          std::string tag = lower_ascii_trimmed(t);
          if (!tag.empty()) tags.emplace_back(id, std::move(tag));
        }
      }
      for (size_t t = 0; t < tags.size();) {
        size_t m = kRows;
        while (m > tags.size() - t) m /= 2;
        std::string tag_sql = "INSERT OR IGNORE INTO memory_tags(tag, memory_id) VALUES ";
        for (size_t r = 0; r < m; ++r) tag_sql += r ? ",(?,?)" : "(?,?)";
        auto ins = prepare(tag_sql);
        if (!ins.is_ok()) return ins.status();
        for (size_t r = 0; r < m; ++r) {
          (*ins)->bind(static_cast<int>(2 * r + 1), tags[t + r].second);
          (*ins)->bind(static_cast<int>(2 * r + 2), tags[t + r].first);
        }
        MCP_RETURN_IF_ERROR((*ins)->run("indexing tags"));
        t += m;
      }
      begin += n;
    }
    return Status::ok();
  }

  Result<int64_t> scalar(const std::string& sql, const std::vector<Value>& values = {}) {
    auto s = prepare(sql);
    if (!s.is_ok()) return s.status();
    for (size_t i = 0; i < values.size(); ++i) (*s)->bind_value(static_cast<int>(i + 1), values[i]);
    int64_t v = (*s)->step() ? (*s)->i64(0) : 0;
    MCP_RETURN_IF_ERROR((*s)->status("reading " + sql.substr(0, 40)));
    return v;
  }

  Result<std::vector<Memory>> memories(const std::string& sql, const std::vector<Value>& values) {
    auto s = prepare(sql);
    if (!s.is_ok()) return s.status();
    for (size_t i = 0; i < values.size(); ++i) (*s)->bind_value(static_cast<int>(i + 1), values[i]);
    std::vector<Memory> out;
    while ((*s)->step()) out.push_back(read_memory(**s));
    MCP_RETURN_IF_ERROR((*s)->status("reading memories"));
    return out;
  }
};

Database::Database(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Database::~Database() = default;

const std::string& Database::path() const { return impl_->path; }

Result<std::unique_ptr<Database>> Database::open(const std::string& path, const OpenOptions& opts) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->opts = opts;
  int flags = opts.read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  flags |= SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &impl->db, flags, nullptr);
  if (rc != SQLITE_OK) {
    return sqlite_status(impl->db, rc, "opening " + path);
  }
  sqlite3_extended_result_codes(impl->db, 1);
  sqlite3_busy_timeout(impl->db, opts.busy_timeout_ms);

  // Reading the schema is the first touch of the file: a file that is not a database fails
  // here, before anything is written to it.
  auto pages = impl->scalar("PRAGMA page_count");
  if (!pages.is_ok()) {
    return Status::corruption("not an mcp-memory database, or damaged: " + path + " (" +
                              pages.status().message() + ")");
  }
  auto objects = impl->scalar("SELECT COUNT(*) FROM sqlite_master");
  if (!objects.is_ok()) {
    return Status::corruption("not an mcp-memory database, or damaged: " + path + " (" +
                              objects.status().message() + ")");
  }
  const bool created = *objects == 0;
  std::string pragmas =
      std::string("PRAGMA synchronous=") + (opts.synchronous_full ? "FULL" : "NORMAL") +
      "; PRAGMA temp_store=MEMORY; PRAGMA cache_size=-32000; PRAGMA wal_autocheckpoint=8000;"
      " PRAGMA foreign_keys=OFF;";
  if (!opts.read_only) {
    // Switching a new database to WAL needs a moment of exclusive access: retry while another
    // process opening the same new file holds it (a no-op once the file is in WAL mode).
    const auto deadline = Clock::now() + std::chrono::milliseconds(opts.write_retry_ms);
    for (;;) {
      Status wal = exec_sql(impl->db, "PRAGMA journal_mode=WAL", "enabling WAL");
      if (wal.is_ok()) break;
      if (wal.code() != StatusCode::kBusy || Clock::now() >= deadline) return wal;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  MCP_RETURN_IF_ERROR(exec_sql(impl->db, pragmas.c_str(), "setting pragmas"));

  if (!opts.read_only) {
    auto version = impl->scalar("PRAGMA user_version");
    if (!version.is_ok()) return version.status();
    if (*version < storage_detail::kSchemaVersion) {
      Impl* raw = impl.get();
      MCP_RETURN_IF_ERROR(raw->write([&]() -> Status {
        // Another process may have migrated while we waited for the lock.
        auto v = raw->scalar("PRAGMA user_version");
        if (!v.is_ok()) return v.status();
        if (*v >= storage_detail::kSchemaVersion) return Status::ok();
        return storage_detail::migrate(raw->db, created);
      }));
    } else if (*version > storage_detail::kSchemaVersion) {
      return Status::failed_precondition("the database " + path +
                                         " was written by a newer mcp-memory (schema " +
                                         std::to_string(*version) + "); upgrade this binary");
    }
  }
  return std::unique_ptr<Database>(new Database(std::move(impl)));
}

// ---- meta ----

Result<std::optional<std::string>> Database::get_meta(const std::string& key) {
  std::lock_guard lock(impl_->mu);
  auto s = impl_->prepare("SELECT value FROM meta WHERE key = ?");
  if (!s.is_ok()) return s.status();
  (*s)->bind(1, key);
  std::optional<std::string> out;
  if ((*s)->step()) out = (*s)->text(0);
  MCP_RETURN_IF_ERROR((*s)->status("reading meta"));
  return out;
}

Status Database::set_meta(const std::string& key, const std::string& value) {
  std::lock_guard lock(impl_->mu);
  return impl_->write([&]() -> Status {
    auto s = impl_->prepare("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)");
    if (!s.is_ok()) return s.status();
    return (*s)->bind(1, key).bind(2, value).run("writing meta");
  });
}

// ---- writes ----

Status Database::write_transaction(const std::function<Status()>& body) {
  std::lock_guard lock(impl_->mu);
  return impl_->write(body);
}

Result<int64_t> Database::insert_memory(const Memory& m, std::span<const float> embedding) {
  auto ids = insert_memories({m}, {std::vector<float>(embedding.begin(), embedding.end())});
  if (!ids.is_ok()) return ids.status();
  if (ids->front() == 0) return Status::already_exists("a memory with this content already exists");
  return ids->front();
}

Result<std::vector<int64_t>> Database::insert_memories(
    const std::vector<Memory>& memories, const std::vector<std::vector<float>>& embeddings) {
  std::lock_guard lock(impl_->mu);
  std::vector<int64_t> ids(memories.size(), 0);
  Status st = impl_->write([&]() -> Status {
    std::fill(ids.begin(), ids.end(), 0);
    // Which memories go in: not alive already, not repeated within this call.
    std::vector<size_t> fresh;
    std::unordered_map<std::string, size_t> seen;
    for (size_t i = 0; i < memories.size(); ++i) {
      const Memory& m = memories[i];
      if (!seen.emplace(m.content_hash, i).second) continue;
      int64_t old_id = 0;
      bool tombstone = false;
      {
        auto find = impl_->prepare(
            "SELECT id, deleted_at IS NOT NULL FROM memories WHERE content_hash = ?");
        if (!find.is_ok()) return find.status();
        (*find)->bind(1, m.content_hash);
        if ((*find)->step()) {
          old_id = (*find)->i64(0);
          tombstone = (*find)->i64(1) != 0;
        }
        MCP_RETURN_IF_ERROR((*find)->status("looking up a content hash"));
      }
      if (old_id != 0 && !tombstone) continue;
      if (old_id != 0) {
        auto del = impl_->prepare("DELETE FROM memories WHERE id = ?");
        if (!del.is_ok()) return del.status();
        MCP_RETURN_IF_ERROR((*del)->bind(1, old_id).run("replacing a deleted memory"));
      }
      fresh.push_back(i);
    }
    // Multi-row statements in power-of-two chunks (a handful of cached statement shapes).
    constexpr size_t kMaxRows = 256;
    constexpr const char* kInsert =
        "INSERT INTO memories(content_hash, content, tags, memory_type, metadata, created_at, "
        "updated_at, created_at_iso, updated_at_iso, deleted_at, hlc, origin) VALUES ";
    std::unordered_map<std::string, int64_t> id_of;
    for (size_t begin = 0; begin < fresh.size();) {
      size_t n = kMaxRows;
      while (n > fresh.size() - begin) n /= 2;
      std::string sql = kInsert;
      for (size_t r = 0; r < n; ++r)
        sql += r ? ",(?,?,?,?,?,?,?,?,?,?,?,?)" : "(?,?,?,?,?,?,?,?,?,?,?,?)";
      sql += " RETURNING id, content_hash";
      auto ins = impl_->prepare(sql);
      if (!ins.is_ok()) return ins.status();
      Stmt& s = **ins;
      int p = 1;
      for (size_t r = 0; r < n; ++r) {
        const Memory& m = memories[fresh[begin + r]];
        s.bind(p, m.content_hash).bind(p + 1, m.content).bind(p + 2, join_tags_csv(m.tags));
        s.bind_optional_text(p + 3, m.memory_type).bind(p + 4, m.metadata.dump());
        s.bind(p + 5, m.created_at).bind(p + 6, m.updated_at);
        s.bind(p + 7, iso_utc(m.created_at)).bind(p + 8, iso_utc(m.updated_at));
        if (m.deleted_at) {
          s.bind(p + 9, *m.deleted_at);
        } else {
          s.bind_null(p + 9);
        }
        s.bind_optional_text(p + 10, m.hlc).bind(p + 11, m.origin);
        p += 12;
      }
      while (s.step()) id_of[s.text(1)] = s.i64(0);
      MCP_RETURN_IF_ERROR(s.status("storing memories"));
      begin += n;
    }
    std::vector<std::pair<int64_t, const Memory*>> inserted;
    for (size_t i : fresh) inserted.emplace_back(id_of[memories[i].content_hash], &memories[i]);
    MCP_RETURN_IF_ERROR(impl_->index_rows(inserted));
    std::vector<size_t> with_vectors;
    for (size_t i : fresh) {
      ids[i] = id_of[memories[i].content_hash];
      if (i < embeddings.size() && !embeddings[i].empty() && !memories[i].deleted_at) {
        with_vectors.push_back(i);
      }
    }
    for (size_t begin = 0; begin < with_vectors.size();) {
      size_t n = kMaxRows;
      while (n > with_vectors.size() - begin) n /= 2;
      std::string sql = "INSERT OR REPLACE INTO memory_vectors(memory_id, vec) VALUES ";
      for (size_t r = 0; r < n; ++r) sql += r ? ",(?,?)" : "(?,?)";
      auto ins = impl_->prepare(sql);
      if (!ins.is_ok()) return ins.status();
      for (size_t r = 0; r < n; ++r) {
        size_t i = with_vectors[begin + r];
        (*ins)->bind(static_cast<int>(2 * r + 1), ids[i]);
        (*ins)->bind_blob(static_cast<int>(2 * r + 2), embeddings[i].data(),
                          embeddings[i].size() * sizeof(float));
      }
      MCP_RETURN_IF_ERROR((*ins)->run("storing vectors"));
      begin += n;
    }
    return Status::ok();
  });
  if (!st.is_ok()) return st;
  return ids;
}

Status Database::update_memory(const Memory& m) {
  std::lock_guard lock(impl_->mu);
  return impl_->write([&]() -> Status {
    auto s = impl_->prepare(
        "UPDATE memories SET tags = ?, memory_type = ?, metadata = ?, updated_at = ?, "
        "updated_at_iso = ?, hlc = ?, origin = ? WHERE content_hash = ? AND deleted_at IS NULL");
    if (!s.is_ok()) return s.status();
    (*s)->bind(1, join_tags_csv(m.tags)).bind_optional_text(2, m.memory_type);
    (*s)->bind(3, m.metadata.dump()).bind(4, m.updated_at).bind(5, iso_utc(m.updated_at));
    (*s)->bind_optional_text(6, m.hlc).bind_optional_text(7, m.origin).bind(8, m.content_hash);
    MCP_RETURN_IF_ERROR((*s)->run("updating a memory"));
    if (sqlite3_changes(impl_->db) == 0) {
      return Status::not_found("no memory with content hash " + m.content_hash);
    }
    return Status::ok();
  });
}

Result<int64_t> Database::tombstone(const std::vector<std::string>& hashes, double deleted_at,
                                    const std::string& hlc, const std::string& origin) {
  std::lock_guard lock(impl_->mu);
  int64_t changed = 0;
  Status st = impl_->write([&]() -> Status {
    changed = 0;
    for (const std::string& h : hashes) {
      std::vector<int64_t> ids;
      {
        auto upd = impl_->prepare(
            "UPDATE memories SET deleted_at = ?, hlc = ?, origin = ? "
            "WHERE content_hash = ? AND deleted_at IS NULL RETURNING id");
        if (!upd.is_ok()) return upd.status();
        (*upd)->bind(1, deleted_at).bind_optional_text(2, hlc).bind_optional_text(3, origin);
        (*upd)->bind(4, h);
        while ((*upd)->step()) ids.push_back((*upd)->i64(0));
        MCP_RETURN_IF_ERROR((*upd)->status("deleting a memory"));
      }
      for (int64_t id : ids) {
        auto drop = impl_->prepare("DELETE FROM memory_vectors WHERE memory_id = ?");
        if (!drop.is_ok()) return drop.status();
        MCP_RETURN_IF_ERROR((*drop)->bind(1, id).run("dropping a vector"));
        ++changed;
      }
    }
    return Status::ok();
  });
  if (!st.is_ok()) return st;
  return changed;
}

Status Database::put_embedding(int64_t memory_id, std::span<const float> embedding) {
  std::lock_guard lock(impl_->mu);
  return impl_->write([&]() -> Status {
    auto s = impl_->prepare("INSERT OR REPLACE INTO memory_vectors(memory_id, vec) VALUES (?, ?)");
    if (!s.is_ok()) return s.status();
    (*s)->bind(1, memory_id).bind_blob(2, embedding.data(), embedding.size_bytes());
    return (*s)->run("storing a vector");
  });
}

Status Database::clear_embeddings() {
  std::lock_guard lock(impl_->mu);
  return impl_->write(
      [&] { return exec_sql(impl_->db, "DELETE FROM memory_vectors", "dropping vectors"); });
}

// ---- reads ----

Result<std::optional<Memory>> Database::get_by_hash(const std::string& hash, bool include_deleted) {
  std::lock_guard lock(impl_->mu);
  std::string sql = std::string("SELECT ") + kMemoryColumns +
                    " FROM memories m WHERE m.content_hash = ?" +
                    (include_deleted ? "" : " AND m.deleted_at IS NULL");
  auto rows = impl_->memories(sql, {hash});
  if (!rows.is_ok()) return rows.status();
  if (rows->empty()) return std::optional<Memory>();
  return std::optional<Memory>(std::move(rows->front()));
}

Result<std::vector<Memory>> Database::get_by_ids(const std::vector<int64_t>& ids) {
  std::lock_guard lock(impl_->mu);
  std::vector<Memory> out;
  out.reserve(ids.size());
  std::string sql = std::string("SELECT ") + kMemoryColumns + " FROM memories m WHERE m.id = ?";
  for (int64_t id : ids) {
    auto rows = impl_->memories(sql, {id});
    if (!rows.is_ok()) return rows.status();
    for (Memory& m : *rows) out.push_back(std::move(m));
  }
  return out;
}

Result<std::vector<Memory>> Database::list(const MemoryFilter& filter, ListOrder order,
                                           int64_t offset, int64_t limit) {
  std::lock_guard lock(impl_->mu);
  FilterSql f = filter_sql(filter);
  const char* by = order == ListOrder::kCreatedAsc    ? "m.created_at ASC, m.id ASC"
                   : order == ListOrder::kUpdatedDesc ? "m.updated_at DESC, m.id DESC"
                                                      : "m.created_at DESC, m.id DESC";
  std::string sql = std::string("SELECT ") + kMemoryColumns + " FROM memories m WHERE 1" + f.where +
                    " ORDER BY " + by + " LIMIT ? OFFSET ?";
  f.values.emplace_back(limit);
  f.values.emplace_back(offset);
  return impl_->memories(sql, f.values);
}

Result<int64_t> Database::count(const MemoryFilter& filter) {
  std::lock_guard lock(impl_->mu);
  FilterSql f = filter_sql(filter);
  return impl_->scalar("SELECT COUNT(*) FROM memories m WHERE 1" + f.where, f.values);
}

Result<std::vector<int64_t>> Database::ids_matching(const MemoryFilter& filter) {
  std::lock_guard lock(impl_->mu);
  FilterSql f = filter_sql(filter);
  auto s = impl_->prepare("SELECT m.id FROM memories m WHERE 1" + f.where);
  if (!s.is_ok()) return s.status();
  for (size_t i = 0; i < f.values.size(); ++i)
    (*s)->bind_value(static_cast<int>(i + 1), f.values[i]);
  std::vector<int64_t> out;
  while ((*s)->step()) out.push_back((*s)->i64(0));
  MCP_RETURN_IF_ERROR((*s)->status("filtering memories"));
  return out;
}

Result<std::vector<std::pair<int64_t, std::string>>> Database::hashes_matching(
    const MemoryFilter& filter) {
  std::lock_guard lock(impl_->mu);
  FilterSql f = filter_sql(filter);
  auto s = impl_->prepare("SELECT m.id, m.content_hash FROM memories m WHERE 1" + f.where +
                          " ORDER BY m.created_at DESC, m.id DESC");
  if (!s.is_ok()) return s.status();
  for (size_t i = 0; i < f.values.size(); ++i)
    (*s)->bind_value(static_cast<int>(i + 1), f.values[i]);
  std::vector<std::pair<int64_t, std::string>> out;
  while ((*s)->step()) out.emplace_back((*s)->i64(0), (*s)->text(1));
  MCP_RETURN_IF_ERROR((*s)->status("filtering memories"));
  return out;
}

Result<std::vector<ScoredId>> Database::keyword_search(const std::string& query,
                                                       const MemoryFilter& filter, int64_t limit) {
  std::lock_guard lock(impl_->mu);
  std::vector<ScoredId> out;
  std::string match = fts_query(query);
  if (match.empty()) return out;
  FilterSql f = filter_sql(filter);
  auto s = impl_->prepare(
      "SELECT m.id, bm25(memories_fts) AS score FROM memories_fts "
      "JOIN memories m ON m.id = memories_fts.rowid WHERE memories_fts MATCH ?" +
      f.where + " ORDER BY score, m.id LIMIT ?");
  if (!s.is_ok()) return s.status();
  (*s)->bind(1, match);
  int i = 2;
  for (const Value& v : f.values) (*s)->bind_value(i++, v);
  (*s)->bind(i, limit);
  while ((*s)->step()) out.push_back({(*s)->i64(0), (*s)->f64(1)});
  MCP_RETURN_IF_ERROR((*s)->status("keyword search"));
  return out;
}

Result<std::vector<int64_t>> Database::substring_search(const std::string& needle,
                                                        const MemoryFilter& filter, int64_t limit) {
  std::lock_guard lock(impl_->mu);
  FilterSql f = filter_sql(filter);
  // lower() folds ASCII only, like the Python service's LIKE.
  auto s =
      impl_->prepare("SELECT m.id FROM memories m WHERE instr(lower(m.content), lower(?)) > 0" +
                     f.where + " ORDER BY m.created_at DESC, m.id DESC LIMIT ?");
  if (!s.is_ok()) return s.status();
  (*s)->bind(1, needle);
  int i = 2;
  for (const Value& v : f.values) (*s)->bind_value(i++, v);
  (*s)->bind(i, limit);
  std::vector<int64_t> out;
  while ((*s)->step()) out.push_back((*s)->i64(0));
  MCP_RETURN_IF_ERROR((*s)->status("exact search"));
  return out;
}

Result<std::vector<TagCount>> Database::tag_counts() {
  std::lock_guard lock(impl_->mu);
  auto s = impl_->prepare(
      "SELECT tag, COUNT(*) AS n FROM memory_tags GROUP BY tag ORDER BY n DESC, tag");
  if (!s.is_ok()) return s.status();
  std::vector<TagCount> out;
  while ((*s)->step()) out.push_back({(*s)->text(0), (*s)->i64(1)});
  MCP_RETURN_IF_ERROR((*s)->status("counting tags"));
  return out;
}

Result<StorageStats> Database::stats() {
  std::lock_guard lock(impl_->mu);
  StorageStats st;
  // Each count is shaped to be answered from an index: this runs at every `stats`.
  auto all = impl_->scalar("SELECT COUNT(*) FROM memories");
  if (!all.is_ok()) return all.status();
  auto dead = impl_->scalar("SELECT COUNT(*) FROM memories WHERE deleted_at IS NOT NULL");
  if (!dead.is_ok()) return dead.status();
  st.deleted_memories = *dead;
  st.total_memories = *all - *dead;
  auto tags = impl_->scalar("SELECT COUNT(DISTINCT tag) FROM memory_tags");
  if (!tags.is_ok()) return tags.status();
  st.unique_tags = *tags;
  auto week =
      impl_->scalar("SELECT COUNT(*) FROM memories WHERE created_at >= ? AND +deleted_at IS NULL",
                    {unix_now() - 7 * 86400.0});
  if (!week.is_ok()) return week.status();
  st.memories_this_week = *week;
  auto pages = impl_->scalar("PRAGMA page_count");
  auto page_size = impl_->scalar("PRAGMA page_size");
  if (pages.is_ok() && page_size.is_ok()) st.database_size_bytes = *pages * *page_size;
  auto last = impl_->prepare("SELECT at FROM changes ORDER BY seq DESC LIMIT 1");
  if (!last.is_ok()) return last.status();
  if ((*last)->step()) st.last_modified = (*last)->f64(0);
  MCP_RETURN_IF_ERROR((*last)->status("reading the change log"));
  return st;
}

// ---- index support ----

Result<int64_t> Database::scan_embeddings(
    size_t dimension, const std::function<bool(int64_t, std::span<const float>)>& fn) {
  std::lock_guard lock(impl_->mu);
  const bool own_tx = impl_->tx_depth == 0;
  if (own_tx) MCP_RETURN_IF_ERROR(exec_sql(impl_->db, "BEGIN", "starting a read"));
  Status st = [&]() -> Status {
    auto s = impl_->prepare(
        "SELECT v.memory_id, v.vec FROM memory_vectors v JOIN memories m ON m.id = v.memory_id "
        "WHERE m.deleted_at IS NULL");
    if (!s.is_ok()) return s.status();
    std::vector<float> vec(dimension);
    while ((*s)->step()) {
      auto blob = (*s)->blob(1);
      if (blob.size() != dimension * sizeof(float)) continue;
      std::memcpy(vec.data(), blob.data(), blob.size());
      if (!fn((*s)->i64(0), vec)) return Status::failed_precondition("stopped");
    }
    return (*s)->status("loading vectors");
  }();
  Result<int64_t> seq =
      st.is_ok() ? impl_->scalar("SELECT COALESCE(MAX(seq), 0) FROM changes") : Result<int64_t>(st);
  if (own_tx) (void)exec_sql(impl_->db, "COMMIT", "ending a read");
  return seq;
}

Result<std::vector<Memory>> Database::memories_without_embedding(int64_t limit) {
  std::lock_guard lock(impl_->mu);
  return impl_->memories(std::string("SELECT ") + kMemoryColumns +
                             " FROM memories m WHERE m.deleted_at IS NULL AND NOT EXISTS "
                             "(SELECT 1 FROM memory_vectors v WHERE v.memory_id = m.id) LIMIT ?",
                         {limit});
}

Result<std::optional<std::vector<float>>> Database::get_embedding(int64_t memory_id,
                                                                  size_t dimension) {
  std::lock_guard lock(impl_->mu);
  auto s = impl_->prepare(
      "SELECT v.vec FROM memory_vectors v JOIN memories m ON m.id = v.memory_id "
      "WHERE v.memory_id = ? AND m.deleted_at IS NULL");
  if (!s.is_ok()) return s.status();
  (*s)->bind(1, memory_id);
  std::optional<std::vector<float>> out;
  if ((*s)->step()) {
    auto blob = (*s)->blob(0);
    if (blob.size() == dimension * sizeof(float)) {
      out.emplace(dimension);
      std::memcpy(out->data(), blob.data(), blob.size());
    }
  }
  MCP_RETURN_IF_ERROR((*s)->status("reading a vector"));
  return out;
}

Result<std::vector<Change>> Database::changes_since(int64_t after_seq, int64_t limit) {
  std::lock_guard lock(impl_->mu);
  auto s = impl_->prepare(
      "SELECT seq, memory_id, content_hash, op, hlc FROM changes WHERE seq > ? ORDER BY seq "
      "LIMIT ?");
  if (!s.is_ok()) return s.status();
  (*s)->bind(1, after_seq).bind(2, limit);
  std::vector<Change> out;
  while ((*s)->step()) {
    out.push_back({(*s)->i64(0), (*s)->i64(1), (*s)->text(2), (*s)->text(3), (*s)->text(4)});
  }
  MCP_RETURN_IF_ERROR((*s)->status("reading the change log"));
  return out;
}

Result<int64_t> Database::last_change_seq() {
  std::lock_guard lock(impl_->mu);
  return impl_->scalar("SELECT COALESCE(MAX(seq), 0) FROM changes");
}

Result<int64_t> Database::data_version() {
  std::lock_guard lock(impl_->mu);
  return impl_->scalar("PRAGMA data_version");
}

Result<std::string> Database::integrity_check() {
  std::lock_guard lock(impl_->mu);
  auto s = impl_->prepare("PRAGMA integrity_check");
  if (!s.is_ok()) return s.status();
  std::string out;
  while ((*s)->step()) {
    if (!out.empty()) out += "\n";
    out += (*s)->text(0);
  }
  MCP_RETURN_IF_ERROR((*s)->status("checking integrity"));
  return out;
}

}  // namespace mcpmem
