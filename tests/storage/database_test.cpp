// Database on real files: schema and reopen, reads and filters, tombstones, the change log
// (also for rows written by another program), the Python service's database, two writer
// processes, a file that is not a database, rollback.
#include "storage/database.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/content_hash.h"

namespace mcpmem {
namespace {

namespace fs = std::filesystem;

class DatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mcpmem-db-XXXXXX";
    dir_ = mkdtemp(tmpl);
    path_ = dir_ + "/test.db";
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<Database> open() {
    auto db = Database::open(path_, OpenOptions{});
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
    return m;
  }
  int64_t raw_count(const std::string& sql) {
    sqlite3* db = nullptr;
    sqlite3_open(path_.c_str(), &db);
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr);
    int64_t n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    sqlite3_finalize(s);
    sqlite3_close(db);
    return n;
  }
  std::string dir_, path_;
};

TEST_F(DatabaseTest, CreatesSchemaAndReopens) {
  { auto db = open(); }
  auto db = open();
  ASSERT_TRUE(db);
  EXPECT_EQ(raw_count("PRAGMA user_version"), 1);
  EXPECT_EQ(raw_count("SELECT COUNT(*) FROM sqlite_master WHERE name IN ('memories','meta',"
                      "'memory_vectors','memory_tags','memories_fts','changes','metadata')"),
            7);
  ASSERT_TRUE(db->set_meta("embedding_model", "hash-384").is_ok());
  EXPECT_EQ(**db->get_meta("embedding_model"), "hash-384");
  EXPECT_FALSE(db->get_meta("nothing")->has_value());
  EXPECT_EQ(*db->integrity_check(), "ok");
}

TEST_F(DatabaseTest, InsertGetListCountAndFilters) {
  auto db = open();
  std::vector<float> v(4, 0.5f);
  ASSERT_TRUE(db->insert_memory(memory("alpha", {"test", "a"}, 100), v).is_ok());
  ASSERT_TRUE(db->insert_memory(memory("beta", {"testing"}, 200, "decision"), v).is_ok());
  ASSERT_TRUE(db->insert_memory(memory("gamma", {"my-test-tag", "a"}, 300), v).is_ok());
  auto dup = db->insert_memory(memory("alpha", {}, 400), v);
  EXPECT_EQ(dup.status().code(), StatusCode::kAlreadyExists);

  auto got = db->get_by_hash(*content_hash("alpha"));
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->content, "alpha");
  EXPECT_EQ((*got)->tags, (std::vector<std::string>{"test", "a"}));
  EXPECT_EQ((*got)->metadata["k"], 1);
  EXPECT_EQ((*got)->memory_type, "note");
  EXPECT_DOUBLE_EQ((*got)->created_at, 100);

  MemoryFilter exact_tag;
  exact_tag.tags = {"test"};  // not "testing", not "my-test-tag"
  EXPECT_EQ(*db->count(exact_tag), 1);
  MemoryFilter any;
  any.tags = {"test", "testing"};
  EXPECT_EQ(*db->count(any), 2);
  MemoryFilter all;
  all.tags = {"a", "test"};
  all.match_all_tags = true;
  EXPECT_EQ(*db->count(all), 1);
  MemoryFilter type;
  type.memory_type = "decision";
  EXPECT_EQ(*db->count(type), 1);
  MemoryFilter window;
  window.created_after = 200;  // inclusive bounds
  window.created_before = 300;
  EXPECT_EQ(*db->count(window), 2);

  auto page = db->list(MemoryFilter{}, ListOrder::kCreatedDesc, 1, 1);
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].content, "beta");
  EXPECT_EQ(db->ids_matching(any)->size(), 2u);
}

TEST_F(DatabaseTest, TombstonesAreHiddenAndReStoreLeavesOneRow) {
  auto db = open();
  std::vector<float> v(4, 0.5f);
  ASSERT_TRUE(db->insert_memory(memory("keep", {"x"}, 1), v).is_ok());
  ASSERT_TRUE(db->insert_memory(memory("drop me", {"x"}, 2), v).is_ok());
  EXPECT_EQ(*db->tombstone({*content_hash("drop me"), "nope"}, 10, "h", "n"), 1);
  EXPECT_FALSE(db->get_by_hash(*content_hash("drop me"))->has_value());
  EXPECT_TRUE(db->get_by_hash(*content_hash("drop me"), true)->has_value());
  MemoryFilter x;
  x.tags = {"x"};
  EXPECT_EQ(*db->count(x), 1);
  EXPECT_EQ(db->keyword_search("drop", MemoryFilter{}, 10)->size(), 0u);
  EXPECT_EQ(db->substring_search("drop", MemoryFilter{}, 10)->size(), 0u);
  EXPECT_EQ((*db->tag_counts())[0].count, 1);
  EXPECT_EQ(db->stats()->deleted_memories, 1);
  // #644: storing deleted content again works and leaves exactly one row.
  ASSERT_TRUE(db->insert_memory(memory("drop me", {"y"}, 20), v).is_ok());
  EXPECT_EQ(raw_count("SELECT COUNT(*) FROM memories WHERE content = 'drop me'"), 1);
  EXPECT_TRUE(db->get_by_hash(*content_hash("drop me"))->has_value());
}

TEST_F(DatabaseTest, KeywordSearchRanksAndIgnoresFtsSyntax) {
  auto db = open();
  std::vector<float> v;
  ASSERT_TRUE(db->insert_memory(memory("postgres replication with litestream", {}, 1), v).is_ok());
  ASSERT_TRUE(db->insert_memory(memory("litestream litestream litestream", {}, 2), v).is_ok());
  ASSERT_TRUE(db->insert_memory(memory("nothing related here", {}, 3), v).is_ok());
  auto hits = db->keyword_search("postgres replication", MemoryFilter{}, 10);
  ASSERT_TRUE(hits.is_ok());
  ASSERT_EQ(hits->size(), 1u);
  for (const char* evil : {"AND OR NEAR( * \" -", "\"unbalanced", "col:thing", "*", "^x"}) {
    EXPECT_TRUE(db->keyword_search(evil, MemoryFilter{}, 10).is_ok()) << evil;
  }
  auto sub = db->substring_search("LITESTREAM", MemoryFilter{}, 10);
  EXPECT_EQ(sub->size(), 2u);
}

TEST_F(DatabaseTest, ChangeLogRecordsEveryChangeFromAnyWriter) {
  auto db = open();
  std::vector<float> v(4, 0.1f);
  Memory m = memory("versioned", {"a"}, 5);
  ASSERT_TRUE(db->insert_memory(m, v).is_ok());
  m.tags = {"b"};
  m.updated_at = 6;
  ASSERT_TRUE(db->update_memory(m).is_ok());
  ASSERT_TRUE(db->tombstone({m.content_hash}, 7, "h2", "n").is_ok());
  // Another program (the Python service) writes with plain SQL.
  sqlite3* raw = nullptr;
  sqlite3_open(path_.c_str(), &raw);
  sqlite3_busy_timeout(raw, 5000);
  ASSERT_EQ(sqlite3_exec(raw,
                         "INSERT INTO memories(content_hash, content, tags, created_at, updated_at)"
                         " VALUES ('abc', 'from python', 'py,other', 8, 8)",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(raw);
  auto changes = db->changes_since(0, 100);
  ASSERT_EQ(changes->size(), 4u);
  EXPECT_EQ((*changes)[0].op, "upsert");
  EXPECT_EQ((*changes)[1].op, "upsert");
  EXPECT_EQ((*changes)[2].op, "delete");
  EXPECT_EQ((*changes)[3].content_hash, "abc");
  for (size_t i = 1; i < changes->size(); ++i) EXPECT_GT((*changes)[i].seq, (*changes)[i - 1].seq);
  MemoryFilter py;
  py.tags = {"py"};
  EXPECT_EQ(*db->count(py), 1);
  EXPECT_EQ(db->memories_without_embedding(10)->size(), 1u);
  EXPECT_EQ(*db->last_change_seq(), (*changes)[3].seq);
}

TEST_F(DatabaseTest, OpensThePythonServiceDatabase) {
  fs::copy_file(std::string(MCP_TEST_FIXTURES) + "/python_service.db", path_);
  auto db = open();
  ASSERT_TRUE(db);
  EXPECT_EQ(db->stats()->total_memories, 9);
  EXPECT_EQ(db->stats()->deleted_memories, 1);
  auto got = db->get_by_hash(*content_hash("Die Straße ist gesperrt, Umleitung über die Brücke"));
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->tags, (std::vector<std::string>{"german", "travel"}));
  EXPECT_EQ((*got)->metadata["source"], "python");
  EXPECT_DOUBLE_EQ((*got)->created_at, 1735689600.0 + 86400 + 0.25);
  MemoryFilter ops;
  ops.tags = {"ops"};  // stored as "security, ops"
  EXPECT_EQ(*db->count(ops), 1);
  EXPECT_EQ(db->keyword_search("litestream replication", MemoryFilter{}, 5)->size(), 1u);
  EXPECT_EQ(db->memories_without_embedding(100)->size(), 9u);
  EXPECT_EQ(*db->integrity_check(), "ok");
  // Writes keep the Python service's own FTS triggers working.
  std::vector<float> v(384, 0.05f);
  ASSERT_TRUE(db->insert_memory(memory("written by mcp-memory", {"ours"}, 1e9), v).is_ok());
  EXPECT_EQ(raw_count("SELECT COUNT(*) FROM memory_content_fts WHERE memory_content_fts MATCH "
                      "'\"by mcp-memory\"'"),
            1);
  EXPECT_EQ(raw_count("SELECT COUNT(*) FROM metadata WHERE key = 'distance_metric'"), 1);
}

TEST_F(DatabaseTest, TwoWriterProcessesNeverFailWithLocked) {
  { auto db = open(); }
  constexpr int kEach = 1000;
  pid_t kids[2];
  for (int p = 0; p < 2; ++p) {
    kids[p] = fork();
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
  EXPECT_EQ(raw_count("SELECT COUNT(*) FROM memories"), 2 * kEach);
  EXPECT_EQ(raw_count("SELECT COUNT(*) FROM changes"), 2 * kEach);
}

TEST_F(DatabaseTest, AFileThatIsNotADatabaseIsRefusedAndUntouched) {
  std::string junk(8192, '\0');
  for (size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<char>((i * 131 + 7) % 251);
  std::ofstream(path_, std::ios::binary) << junk;
  auto db = Database::open(path_, OpenOptions{});
  ASSERT_FALSE(db.is_ok());
  EXPECT_EQ(db.status().code(), StatusCode::kCorruption);
  EXPECT_NE(db.status().message().find(path_), std::string::npos);
  std::ifstream in(path_, std::ios::binary);
  std::stringstream back;
  back << in.rdbuf();
  EXPECT_EQ(back.str(), junk);
}

TEST_F(DatabaseTest, FailedTransactionLeavesNothing) {
  auto db = open();
  std::vector<float> v(4, 0.3f);
  Status s = db->write_transaction([&]() -> Status {
    EXPECT_TRUE(db->insert_memory(memory("one", {}, 1), v).is_ok());
    EXPECT_TRUE(db->insert_memory(memory("two", {}, 2), v).is_ok());
    return Status::invalid_argument("record 2 is bad");
  });
  EXPECT_FALSE(s.is_ok());
  EXPECT_EQ(*db->count(MemoryFilter{}), 0);
  EXPECT_EQ(*db->last_change_seq(), 0);
}

TEST_F(DatabaseTest, EmbeddingsScanWithSnapshotSeq) {
  auto db = open();
  std::vector<float> v = {1, 2, 3, 4};
  ASSERT_TRUE(db->insert_memory(memory("a", {}, 1), v).is_ok());
  ASSERT_TRUE(db->insert_memory(memory("b", {}, 2), v).is_ok());
  ASSERT_TRUE(db->tombstone({*content_hash("b")}, 3, "", "").is_ok());
  int rows = 0;
  auto seq = db->scan_embeddings(4, [&](int64_t, std::span<const float> got) {
    ++rows;
    EXPECT_EQ(got[3], 4.0f);
    return true;
  });
  EXPECT_EQ(rows, 1);
  EXPECT_EQ(*seq, *db->last_change_seq());
  ASSERT_TRUE(db->insert_memory(memory("c", {}, 4), v).is_ok());
  rows = 0;
  auto stopped =
      db->scan_embeddings(4, [&](int64_t, std::span<const float>) { return ++rows < 1; });
  EXPECT_EQ(stopped.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(rows, 1);
  EXPECT_TRUE(db->get_embedding(1, 4)->has_value());
  EXPECT_FALSE(db->get_embedding(1, 8)->has_value());  // wrong dimension reads as missing
}

}  // namespace
}  // namespace mcpmem
