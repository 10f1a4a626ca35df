// Database sharing its file: a database made by the Python service (fixture made by
// scripts/make-python-db-fixture.py), the Python service writing to ours with its own SQL,
// writes by other programs keeping the tag index, FTS and change log right, two threads and two
// processes writing at once, and a writer waiting out (or giving up on) a held lock.
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "core/time_format.h"
#include "storage/database.h"
#include "storage_test_util.h"

namespace mcpmem {
namespace {

namespace fs = std::filesystem;
using testing_util::RawConnection;
using testing_util::tombstone_hashes;

class DatabaseSharingTest : public testing_util::StorageTest {
 protected:
  // What the Python service's store() runs (storage/sqlite_vec.py); the vector only when the
  // sqlite-vec extension is loaded on `raw`.
  static std::string python_store(RawConnection& raw, const std::string& content,
                                  const std::string& tags_csv, double created, bool vector) {
    const std::string h = *content_hash(content);
    std::string err = raw.exec("SAVEPOINT py_store");
    if (err.empty()) {
      err = raw.run("DELETE FROM memories WHERE content_hash = ? AND deleted_at IS NOT NULL", {h});
    }
    if (err.empty()) {
      err = raw.run(
          "INSERT INTO memories (content_hash, content, tags, memory_type, metadata, created_at,"
          " updated_at, created_at_iso, updated_at_iso) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
          {h, content, tags_csv, std::string("note"), std::string("{}"), created, created,
           iso_utc(created), iso_utc(created)});
    }
    if (err.empty() && vector) {
      err = raw.run(
          "INSERT INTO memory_embeddings (rowid, content_embedding) VALUES "
          "(last_insert_rowid(), ?)",
          {std::vector<float>(384, 0.1f)});
    }
    raw.exec(err.empty() ? "RELEASE py_store" : "ROLLBACK TO py_store; RELEASE py_store");
    return err;
  }
  static std::vector<std::string> ops_since(Database& db, int64_t seq) {
    std::vector<std::string> ops;
    auto changes = db.changes_since(seq, 100);
    EXPECT_TRUE(changes.is_ok());
    if (changes.is_ok()) {
      for (const Change& c : *changes) ops.push_back(c.op);
    }
    return ops;
  }
  // What its delete() runs.
  static std::string python_delete(RawConnection& raw, const std::string& content, bool vector) {
    const std::string h = *content_hash(content);
    int64_t id =
        raw.one("SELECT id FROM memories WHERE content_hash = '" + h + "' AND deleted_at IS NULL");
    std::string err = vector ? raw.run("DELETE FROM memory_embeddings WHERE rowid = ?", {id}) : "";
    if (err.empty()) {
      err = raw.run("DELETE FROM memory_graph WHERE source_hash = ? OR target_hash = ?", {h, h});
    }
    if (err.empty()) {
      err = raw.run(
          "UPDATE memories SET deleted_at = ? WHERE content_hash = ? AND deleted_at IS NULL",
          {unix_now(), h});
    }
    return err;
  }
};

struct PythonRow {
  const char* content;
  std::vector<std::string> tags;
  const char* type;
};
// The rows of scripts/make-python-db-fixture.py; row i was created at kBase + i days + 0.25 s.
const PythonRow kPythonRows[] = {
    {"Python service memory about Kubernetes ingress timeouts",
     {"k8s", "infra", "source:laptop"},
     "note"},
    {"Die Straße ist gesperrt, Umleitung über die Brücke", {"german", "travel"}, "observation"},
    {"Remember: the staging database password rotates monthly", {"security", "ops"}, "reference"},
    {"Team decided to adopt Litestream for replication", {"decision", "sync"}, "decision"},
    {"日本語のメモ: 会議は木曜日", {"japanese"}, ""},
    {"A soft-deleted memory that must stay hidden", {"deleted"}, "note"},
    {"Bug: hybrid sync stopped after 1000 memories", {"bug", "sync"}, "error"},
    {"Use WAL mode and a busy timeout for SQLite", {"sqlite", "reference"}, "learning"},
    {"Quarterly planning notes for Q3", {"planning"}, "planning"},
    {"Untagged thought with no tags at all", {}, ""},
};
constexpr double kBase = 1735689600.0;

TEST_F(DatabaseSharingTest, OpensThePythonServiceDatabase) {
  fs::copy_file(std::string(MCP_TEST_FIXTURES) + "/python_service.db", path_);
  auto db = open();
  ASSERT_TRUE(db);
  for (size_t i = 0; i < std::size(kPythonRows); ++i) {
    const PythonRow& want = kPythonRows[i];
    auto got = db->get_by_hash(hash(want.content), /*include_deleted=*/true);
    ASSERT_TRUE(got.is_ok() && got->has_value()) << want.content;
    const Memory& m = **got;
    EXPECT_EQ(m.id, static_cast<int64_t>(i + 1));
    EXPECT_EQ(m.content, want.content);
    EXPECT_EQ(m.tags, want.tags) << want.content;
    EXPECT_EQ(m.memory_type, want.type);
    EXPECT_DOUBLE_EQ(m.created_at, kBase + static_cast<double>(i) * 86400 + 0.25);
    EXPECT_DOUBLE_EQ(m.updated_at, m.created_at);
    EXPECT_EQ(m.metadata, (Json{{"source", "python"}, {"n", i}}));
    EXPECT_EQ(m.is_deleted(), i == 5) << want.content;
    EXPECT_EQ(m.hlc, "");
  }
  auto st = db->stats();
  EXPECT_EQ(st->total_memories, 9);
  EXPECT_EQ(st->deleted_memories, 1);
  MemoryFilter ops;
  ops.tags = {"ops"};  // stored as "security, ops"
  EXPECT_EQ(*db->count(ops), 1);
  MemoryFilter sync;
  sync.tags = {"sync"};
  EXPECT_EQ(*db->count(sync), 2);
  MemoryFilter deleted;
  deleted.tags = {"deleted"};
  EXPECT_EQ(*db->count(deleted), 0);
  auto kw = db->keyword_search("litestream replication", MemoryFilter{}, 5);
  ASSERT_EQ(kw->size(), 1u);
  EXPECT_EQ((*kw)[0].id, 4);
  EXPECT_EQ(db->keyword_search("brucke", MemoryFilter{}, 5)->front().id, 2);
  EXPECT_EQ(db->keyword_search("会議は木曜日", MemoryFilter{}, 5)->front().id, 5);
  EXPECT_TRUE(db->keyword_search("hidden", MemoryFilter{}, 5)->empty());
  EXPECT_EQ(db->memories_without_embedding(100)->size(), 9u);  // its vectors are another model's
  auto changes = db->changes_since(0, 100);
  ASSERT_EQ(changes->size(), 10u);  // the index loader sees every row
  EXPECT_EQ((*changes)[5].op, "delete");
  EXPECT_EQ(*db->integrity_check(), "ok");
  expect_fts_matches_alive_rows();

  RawConnection raw(path_);
  EXPECT_EQ(raw.text("SELECT group_concat(key || '=' || value) FROM (SELECT * FROM metadata "
                     "ORDER BY key)"),
            "distance_metric=cosine,fts5_enabled=true");  // left alone
  // Our writes go through the Python service's own FTS triggers without error.
  ASSERT_TRUE(db->insert_memory(memory("written by mcp-memory", {"ours"}, 1e9),
                                std::vector<float>(384, 0.05f))
                  .is_ok());
  EXPECT_EQ(raw.one("SELECT COUNT(*) FROM memory_content_fts WHERE memory_content_fts MATCH "
                    "'\"by mcp-memory\"'"),
            1);
  ASSERT_EQ(*tombstone_hashes(*db, {hash("written by mcp-memory")}, 2e9, "h", "n"), 1);
  ASSERT_TRUE(db->insert_memory(memory("written by mcp-memory", {"ours"}, 3e9), {}).is_ok());
  ASSERT_TRUE(db->insert_memory(memory(kPythonRows[5].content, {"back"}, 4e9), {}).is_ok());
  EXPECT_EQ(db->stats()->total_memories, 11);
  // Reopening migrates nothing twice.
  const int64_t seq = *db->last_change_seq();
  db.reset();
  db = open();
  EXPECT_EQ(*db->last_change_seq(), seq);
  EXPECT_EQ(*db->integrity_check(), "ok");
}

TEST_F(DatabaseSharingTest, ThePythonServiceKeepsWritingToAMigratedDatabase) {
  fs::copy_file(std::string(MCP_TEST_FIXTURES) + "/python_service.db", path_);
  auto db = open();
  ASSERT_TRUE(db);
  RawConnection py(path_);
  const bool vec = py.load_sqlite_vec();  // the npm sqlite-vec package, as the Python service
  const int64_t before = *db->last_change_seq();
  ASSERT_EQ(python_store(py, "Stored by Python after the migration", "py, later", 2e9, vec), "");
  MemoryFilter later;
  later.tags = {"later"};
  auto rows = db->list(later, ListOrder::kCreatedDesc, 0, 10);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].tags, (std::vector<std::string>{"py", "later"}));
  EXPECT_EQ(db->keyword_search("migration", MemoryFilter{}, 5)->size(), 1u);
  EXPECT_EQ(db->memories_without_embedding(100)->size(), 10u);
  auto changes = db->changes_since(before, 10);
  ASSERT_EQ(changes->size(), 1u);
  EXPECT_EQ((*changes)[0].op, "upsert");

  // Its metadata-only update (access tracking) and its full update.
  const std::string h = hash("Stored by Python after the migration");
  ASSERT_EQ(py.run("UPDATE memories SET metadata = ? WHERE content_hash = ?",
                   {std::string("{\"access_count\": 1}"), h}),
            "");
  ASSERT_EQ(py.run("UPDATE memories SET tags = ?, memory_type = ?, metadata = ?, updated_at = ?,"
                   " updated_at_iso = ?, created_at = ?, created_at_iso = ? WHERE content_hash = ?"
                   " AND deleted_at IS NULL",
                   {std::string("py,retagged"), std::string("decision"), std::string("{}"), 2.5e9,
                    iso_utc(2.5e9), 2e9, iso_utc(2e9), h}),
            "");
  EXPECT_EQ(*db->count(later), 0);
  later.tags = {"retagged"};
  EXPECT_EQ(*db->count(later), 1);
  ASSERT_EQ(python_delete(py, "Stored by Python after the migration", vec), "");
  EXPECT_EQ(*db->count(later), 0);
  EXPECT_TRUE(db->keyword_search("migration", MemoryFilter{}, 5)->empty());
  ASSERT_EQ(python_store(py, "Stored by Python after the migration", "again", 3e9, vec), "");
  EXPECT_EQ(ops_since(*db, before),
            (std::vector<std::string>{"upsert", "upsert", "upsert", "delete", "purge", "upsert"}));
  expect_fts_matches_alive_rows();
  if (vec) {
    EXPECT_EQ(py.text("PRAGMA integrity_check"), "ok");
    EXPECT_EQ(py.one("SELECT COUNT(*) FROM memory_embeddings"), 10);
  }
}

// The Python service opening our file: its initialize() on an existing `memories` table without
// its vec0 table, then its writes.
TEST_F(DatabaseSharingTest, ThePythonServiceCanOpenOurDatabase) {
  {
    auto db = open();
    ASSERT_TRUE(db->insert_memory(memory("ours before Python", {"ours"}, 1), {}).is_ok());
  }
  RawConnection py(path_);
  if (!py.load_sqlite_vec()) GTEST_SKIP() << "sqlite-vec (npm) is not installed";
  ASSERT_EQ(py.exec(R"(
      CREATE TABLE IF NOT EXISTS metadata (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS memories (id INTEGER PRIMARY KEY AUTOINCREMENT,
        content_hash TEXT UNIQUE NOT NULL, content TEXT NOT NULL, tags TEXT, memory_type TEXT,
        metadata TEXT, created_at REAL, updated_at REAL, created_at_iso TEXT,
        updated_at_iso TEXT, deleted_at REAL DEFAULT NULL);
      CREATE VIRTUAL TABLE IF NOT EXISTS memory_embeddings USING vec0(
        content_embedding FLOAT[384] distance_metric=cosine);
      INSERT OR REPLACE INTO metadata (key, value) VALUES ('distance_metric', 'cosine');
      CREATE INDEX IF NOT EXISTS idx_content_hash ON memories(content_hash);
      CREATE INDEX IF NOT EXISTS idx_created_at ON memories(created_at);
      CREATE INDEX IF NOT EXISTS idx_memory_type ON memories(memory_type);
      CREATE INDEX IF NOT EXISTS idx_deleted_at ON memories(deleted_at);
      CREATE VIRTUAL TABLE IF NOT EXISTS memory_content_fts USING fts5(content,
        content='memories', content_rowid='id', tokenize='trigram');
      CREATE TRIGGER IF NOT EXISTS memories_fts_ai AFTER INSERT ON memories BEGIN
        INSERT INTO memory_content_fts(rowid, content) VALUES (new.id, new.content); END;
      CREATE TRIGGER IF NOT EXISTS memories_fts_au AFTER UPDATE ON memories BEGIN
        DELETE FROM memory_content_fts WHERE rowid = old.id;
        INSERT INTO memory_content_fts(rowid, content) VALUES (new.id, new.content); END;
      CREATE TRIGGER IF NOT EXISTS memories_fts_ad AFTER DELETE ON memories BEGIN
        DELETE FROM memory_content_fts WHERE rowid = old.id; END;
      INSERT INTO memory_content_fts(memory_content_fts) VALUES('rebuild');
      INSERT OR REPLACE INTO metadata (key, value) VALUES ('fts5_enabled', 'true');
      CREATE TABLE IF NOT EXISTS memory_graph (source_hash TEXT NOT NULL,
        target_hash TEXT NOT NULL, similarity REAL NOT NULL, connection_types TEXT NOT NULL,
        metadata TEXT, created_at REAL NOT NULL, PRIMARY KEY (source_hash, target_hash));
  )"),
            "");
  // Its migration 011 fails on the first existing column, which it takes as "applied".
  EXPECT_NE(py.exec("ALTER TABLE memories ADD COLUMN parent_id TEXT").find("duplicate column"),
            std::string::npos);
  ASSERT_EQ(python_store(py, "Python writes into our file", "py", 5, true), "");
  ASSERT_EQ(python_delete(py, "ours before Python", true), "");
  EXPECT_EQ(py.text("PRAGMA integrity_check"), "ok");

  auto db = open();
  ASSERT_TRUE(db);
  auto all = db->list(MemoryFilter{}, ListOrder::kCreatedDesc, 0, 10);
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].content, "Python writes into our file");
  EXPECT_EQ(db->keyword_search("python", MemoryFilter{}, 5)->size(), 1u);
  expect_tag_index(std::to_string((*all)[0].id) + ":py");
  expect_fts_matches_alive_rows();
}

TEST_F(DatabaseSharingTest, OtherProgramsWritesKeepTagsFullTextAndChangeLogRight) {
  { auto db = open(); }
  RawConnection raw(path_);
  ASSERT_EQ(raw.exec("INSERT INTO memories(content_hash, content, tags, created_at, updated_at)"
                     " VALUES ('h1', 'alpha words', ' One, TWO ,,two, \"q\"\\x', 1, 1)"),
            "");
  expect_tag_index("1:\"q\"\\x 1:one 1:two");
  ASSERT_EQ(raw.exec("UPDATE memories SET content = 'beta words' WHERE id = 1"), "");
  auto db = open();
  EXPECT_TRUE(db->keyword_search("alpha", MemoryFilter{}, 5)->empty());
  EXPECT_EQ(db->keyword_search("beta", MemoryFilter{}, 5)->size(), 1u);
  ASSERT_EQ(raw.exec("UPDATE memories SET deleted_at = 5 WHERE id = 1"), "");
  expect_tag_index("");
  expect_fts_matches_alive_rows();
  ASSERT_EQ(raw.exec("UPDATE memories SET deleted_at = NULL WHERE id = 1"), "");  // undelete
  expect_tag_index("1:\"q\"\\x 1:one 1:two");
  expect_fts_matches_alive_rows();
  ASSERT_EQ(raw.exec("UPDATE memories SET tags = 'a' || char(1) || ',b' WHERE id = 1"), "");
  expect_tag_index("");  // a control character makes the CSV unreadable: no tags, no error
  ASSERT_EQ(raw.exec("DELETE FROM memories WHERE id = 1"), "");
  EXPECT_EQ(raw.one("SELECT COUNT(*) FROM memory_tags"), 0);
  expect_fts_matches_alive_rows();
  EXPECT_EQ(ops_since(*db, 0),
            (std::vector<std::string>{"upsert", "upsert", "delete", "upsert", "upsert", "purge"}));
}

TEST_F(DatabaseSharingTest, OurTagIndexMatchesTheTriggersDerivation) {
  auto db = open();
  Memory m = memory("odd tags", {" Spaced ", "UPPER", "a,b", "dup", "DUP", "tab\there"}, 1);
  auto id = db->insert_memory(m, {});
  ASSERT_TRUE(id.is_ok());
  const std::string ours = [&] {
    RawConnection raw(path_);
    return raw.text(
        "SELECT group_concat(tag, '|') FROM (SELECT tag FROM memory_tags ORDER BY tag)");
  }();
  RawConnection raw(path_);
  ASSERT_EQ(raw.exec("UPDATE memories SET tags = tags || '' WHERE id = " + std::to_string(*id)),
            "");
  EXPECT_EQ(
      raw.text("SELECT group_concat(tag, '|') FROM (SELECT tag FROM memory_tags ORDER BY tag)"),
      ours);
  EXPECT_EQ(ours, "a|b|dup|spaced|tab\there|upper");
}

TEST_F(DatabaseSharingTest, TwoThreadsEachWithItsOwnDatabase) {
  { auto db = open(); }
  constexpr int kEach = 500;
  std::atomic<int> errors{0};
  auto writer = [&](int t) {
    OpenOptions o;
    o.synchronous_full = false;
    auto db = Database::open(path_, o);
    if (!db.is_ok()) {
      ++errors;
      return;
    }
    for (int i = 0; i < kEach; ++i) {
      Memory m = memory("thread " + std::to_string(t) + " item " + std::to_string(i),
                        {"t" + std::to_string(t)}, i);
      if (!(*db)->insert_memory(m, std::vector<float>{1, 2}).is_ok()) ++errors;
    }
  };
  std::thread a(writer, 0), b(writer, 1);
  a.join();
  b.join();
  EXPECT_EQ(errors.load(), 0);
  auto db = open();
  EXPECT_EQ(*db->count(MemoryFilter{}), 2 * kEach);
  EXPECT_EQ(*db->last_change_seq(), 2 * kEach);
  MemoryFilter t1;
  t1.tags = {"t1"};
  EXPECT_EQ(*db->count(t1), kEach);
  EXPECT_EQ(db->keyword_search("item", MemoryFilter{}, 5000)->size(), 2u * kEach);
}

TEST_F(DatabaseSharingTest, TwoWriterProcessesNeverFailWithLocked) {
  { auto db = open(); }
  constexpr int kEach = 1000;
  pid_t kids[2];
  for (int p = 0; p < 2; ++p) {
    kids[p] = fork();
    ASSERT_GE(kids[p], 0);
    if (kids[p] == 0) {
      OpenOptions o;
      o.synchronous_full = false;  // the lock contention is the point, not fsync speed
      auto db = Database::open(path_, o);
      if (!db.is_ok()) _exit(10);
      std::vector<float> v(4, 0.2f);
      for (int i = 0; i < kEach; ++i) {
        Memory m = memory("writer " + std::to_string(p) + " item " + std::to_string(i), {"w"}, i);
        if (!(*db)->insert_memory(m, v).is_ok()) _exit(11);
      }
      _exit(0);
    }
  }
  for (pid_t k : kids) {
    int status = 0;
    waitpid(k, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
  RawConnection raw(path_);
  EXPECT_EQ(raw.one("SELECT COUNT(*) FROM memories"), 2 * kEach);
  EXPECT_EQ(raw.one("SELECT COUNT(*) FROM changes"), 2 * kEach);
  EXPECT_EQ(raw.one("SELECT COUNT(*) FROM memory_tags"), 2 * kEach);
  EXPECT_EQ(raw.one("SELECT COUNT(*) FROM memory_vectors"), 2 * kEach);
}

TEST_F(DatabaseSharingTest, AWriteWaitsForAnotherProcessToReleaseTheLock) {
  OpenOptions o;
  o.busy_timeout_ms = 20;  // shorter than the hold: the retry loop does the waiting
  o.write_retry_ms = 10000;
  auto db = open(o);
  RawConnection other(path_);
  ASSERT_EQ(other.exec("BEGIN IMMEDIATE"), "");
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    other.exec("COMMIT");
  });
  const auto start = std::chrono::steady_clock::now();
  auto id = db->insert_memory(memory("patient", {}, 1), {});
  const auto waited = std::chrono::steady_clock::now() - start;
  release.join();
  ASSERT_TRUE(id.is_ok()) << id.status().message();
  EXPECT_GE(waited, std::chrono::milliseconds(250));
}

TEST_F(DatabaseSharingTest, AWriteGivesUpWithBusyAfterTheRetryBudget) {
  OpenOptions o;
  o.busy_timeout_ms = 20;
  o.write_retry_ms = 200;
  auto db = open(o);
  RawConnection other(path_);
  ASSERT_EQ(other.exec("BEGIN IMMEDIATE"), "");
  auto id = db->insert_memory(memory("impatient", {}, 1), {});
  ASSERT_FALSE(id.is_ok());
  EXPECT_EQ(id.status().code(), StatusCode::kBusy);
  EXPECT_NE(id.status().message().find("stayed locked by another process for 200 ms"),
            std::string::npos)
      << id.status().message();
  EXPECT_NE(id.status().message().find(path_), std::string::npos);
  EXPECT_EQ(*db->count(MemoryFilter{}), 0);  // reads still work while the lock is held
  ASSERT_EQ(other.exec("COMMIT"), "");
  EXPECT_TRUE(db->insert_memory(memory("impatient", {}, 1), {}).is_ok());
}

}  // namespace
}  // namespace mcpmem
