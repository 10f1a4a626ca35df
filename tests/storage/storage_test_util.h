// Shared by the storage tests: a temporary directory per test, a Database on a real file in it,
// memories with real content hashes, and a second raw sqlite3 connection to inspect the file
// or to write to it the way another program (the Python service) does.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <string>
#include <variant>
#include <vector>

#include "../temp_dir.h"
#include "core/content_hash.h"
#include "storage/database.h"

namespace mcpmem::testing_util {

namespace fs = std::filesystem;

// Tombstones the alive rows with these hashes at `deleted_at`, with version `hlc` by `origin`.
inline Result<int64_t> tombstone_hashes(Database& db, const std::vector<std::string>& hashes,
                                        double deleted_at, const std::string& hlc,
                                        const std::string& origin) {
  std::vector<Memory> rows;
  for (const std::string& h : hashes) {
    Memory m;
    m.content_hash = h;
    m.deleted_at = deleted_at;
    m.hlc = hlc;
    m.origin = origin;
    rows.push_back(m);
  }
  return db.tombstone(rows);
}

// A plain sqlite3 connection to the same file, closed on destruction.
class RawConnection {
 public:
  explicit RawConnection(const std::string& path) {
    sqlite3_open(path.c_str(), &db_);
    sqlite3_busy_timeout(db_, 10000);
  }
  ~RawConnection() { sqlite3_close(db_); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  sqlite3* get() { return db_; }
  // Runs statements; returns SQLite's error message, "" on success.
  std::string exec(const std::string& sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    std::string msg = rc == SQLITE_OK ? "" : (err ? err : sqlite3_errstr(rc));
    sqlite3_free(err);
    return msg;
  }
  // Every row's first column as int64 (-1 marks an error).
  std::vector<int64_t> ints(const std::string& sql) {
    std::vector<int64_t> out;
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) return {-1};
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) out.push_back(sqlite3_column_int64(s, 0));
    if (rc != SQLITE_DONE) out.push_back(-1);
    sqlite3_finalize(s);
    return out;
  }
  // One statement with bound values (a float vector binds as a raw float32 blob); returns
  // SQLite's error message, "" on success.
  using Arg = std::variant<std::nullptr_t, int64_t, double, std::string, std::vector<float>>;
  std::string run(const std::string& sql, const std::vector<Arg>& args) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) {
      return sqlite3_errmsg(db_);
    }
    for (size_t i = 0; i < args.size(); ++i) {
      int p = static_cast<int>(i + 1);
      if (auto* n = std::get_if<int64_t>(&args[i])) sqlite3_bind_int64(s, p, *n);
      if (auto* d = std::get_if<double>(&args[i])) sqlite3_bind_double(s, p, *d);
      if (auto* t = std::get_if<std::string>(&args[i])) {
        sqlite3_bind_text(s, p, t->c_str(), -1, SQLITE_TRANSIENT);
      }
      if (auto* v = std::get_if<std::vector<float>>(&args[i])) {
        sqlite3_bind_blob(s, p, v->data(), static_cast<int>(v->size() * 4), SQLITE_TRANSIENT);
      }
    }
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    }
    std::string err = rc == SQLITE_DONE ? "" : sqlite3_errmsg(db_);
    sqlite3_finalize(s);
    return err;
  }
  int64_t one(const std::string& sql) {
    auto v = ints(sql);
    return v.empty() ? -1 : v.front();
  }
  std::string text(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    std::string out = "<error>";
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW) {
      const unsigned char* t = sqlite3_column_text(s, 0);
      out = t ? reinterpret_cast<const char*>(t) : "";
    }
    sqlite3_finalize(s);
    return out;
  }
  // Loads the sqlite-vec extension the Python service uses (npm package, test-only).
  bool load_sqlite_vec() {
    std::string so =
        std::string(MCP_TEST_FIXTURES) + "/../../node_modules/sqlite-vec-linux-x64/vec0";
    if (!fs::exists(so + ".so")) return false;
    sqlite3_enable_load_extension(db_, 1);
    return sqlite3_load_extension(db_, so.c_str(), nullptr, nullptr) == SQLITE_OK;
  }

 private:
  sqlite3* db_ = nullptr;
};

class StorageTest : public ::testing::Test {
 protected:
  void SetUp() override { path_ = dir_ / "test.db"; }

  std::unique_ptr<Database> open(OpenOptions o = {}) {
    auto db = Database::open(path_, o);
    EXPECT_TRUE(db.is_ok()) << db.status().message();
    return db.is_ok() ? std::move(db).value() : nullptr;
  }
  static Memory memory(const std::string& content, std::vector<std::string> tags, double created,
                       const std::string& type = "note") {
    Memory m;
    m.content = content;
    m.content_hash = *content_hash(content);
    m.tags = std::move(tags);
    m.memory_type = type;
    m.metadata = {{"k", 1}};
    m.created_at = m.updated_at = created;
    m.hlc = "000000000000001-00000000-test";
    m.origin = "test-node";
    return m;
  }
  static std::string hash(const std::string& content) { return *content_hash(content); }

  // The FTS index holds exactly the alive rows (checked through its own vocabulary), and its
  // structure is sound.
  void expect_fts_matches_alive_rows() {
    RawConnection raw(path_);
    ASSERT_EQ(raw.exec("CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, memories_fts, "
                       "instance)"),
              "");
    EXPECT_EQ(raw.ints("SELECT DISTINCT doc FROM temp.vocab ORDER BY doc"),
              raw.ints("SELECT id FROM memories WHERE deleted_at IS NULL AND trim(content) <> '' "
                       "ORDER BY id"));
    EXPECT_EQ(raw.exec("INSERT INTO memories_fts(memories_fts) VALUES('integrity-check')"), "");
  }
  // memory_tags holds exactly the tags of alive rows.
  void expect_tag_index(const std::string& tags_sql_rows) {
    RawConnection raw(path_);
    EXPECT_EQ(raw.text("SELECT group_concat(memory_id || ':' || tag, ' ') FROM (SELECT * FROM "
                       "memory_tags ORDER BY memory_id, tag)"),
              tags_sql_rows);
  }

  TempDir dir_{"db"};
  std::string path_;
};

}  // namespace mcpmem::testing_util
