// ReplicaFollower rounds against a replica the real Litestream wrote (the npm binary), and the
// follower's state file: a round restores a checked, standalone (rollback-journal) copy, the
// next one with no new replica file leaves it alone, a copy that another process writes is
// never replaced, and while the state file exists the copy opens read-only everywhere.
#include "replication/replica_follow.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>

#include "database_probe.h"
#include "platform/child_process.h"
#include "service/memory_service.h"
#include "storage/database.h"

namespace mcpmem {
namespace {

namespace fs = std::filesystem;

class ReplicaFollowTest : public ::testing::Test {
 protected:
  // One replica for the suite: three memories written, then replicated by Litestream.
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/mcpmem-follow-XXXXXX";
    shared_ = mkdtemp(tmpl);
    Config c = config_from_env({{"HOME", shared_}, {"MCP_MEMORY_BASE_DIR", shared_}});
    c.db_path = shared_ + "/hub.db";
    c.synchronous_full = false;
    {
      auto service = std::move(MemoryService::open(c)).value();
      for (const char* text : {"first hub memory", "second hub memory", "third hub memory"}) {
        StoreRequest r;
        r.content = text;
        ASSERT_TRUE(service->store(r).is_ok());
      }
    }
    auto litestream =
        ChildProcess::start({MCP_LITESTREAM, "replicate", c.db_path, "file://" + shared_ + "/rep"},
                            [](std::string_view) {});
    ASSERT_TRUE(litestream.is_ok());
    for (int i = 0; i < 200 && !has_wal(shared_ + "/rep"); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    (*litestream)->terminate();
    (*litestream)->wait_for(std::chrono::seconds(30));
    ASSERT_TRUE(has_wal(shared_ + "/rep"));
  }
  static void TearDownTestSuite() { fs::remove_all(shared_); }
  static bool has_wal(const std::string& rep) {
    std::error_code ec;
    for (fs::recursive_directory_iterator it(rep, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->path().string().ends_with(".wal.lz4")) return true;
    }
    return false;
  }

  void SetUp() override {
    char tmpl[] = "/tmp/mcpmem-follow-copy-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { fs::remove_all(dir_); }
  FollowOptions options(const std::string& from) const {
    FollowOptions o;
    o.from = from;
    o.db_path = dir_ + "/copy.db";
    o.litestream = MCP_LITESTREAM;
    return o;
  }
  std::vector<std::string> names_in_dir() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_)) out.push_back(e.path().filename());
    std::sort(out.begin(), out.end());
    return out;
  }

  static inline std::string shared_;
  std::string dir_;
};

TEST_F(ReplicaFollowTest, ARoundRestoresACheckedStandaloneCopyAndTheNextSkipsWhenNothingChanged) {
  ReplicaFollower follower(options(shared_ + "/rep"));
  auto first = follower.run_round();
  ASSERT_TRUE(first.is_ok()) << first.status().message();
  EXPECT_TRUE(first->changed);
  EXPECT_EQ(first->memories, 3);
  ASSERT_TRUE(first->lag_seconds.has_value());
  EXPECT_GE(*first->lag_seconds, 0);
  EXPECT_NE(first->newest_replica_file.find("generations/"), std::string::npos);
  EXPECT_EQ(first_text(dir_ + "/copy.db", "PRAGMA journal_mode"), "delete");
  EXPECT_EQ(first_text(dir_ + "/copy.db", "PRAGMA integrity_check"), "ok");
  EXPECT_EQ(names_in_dir(), std::vector<std::string>{"copy.db"});  // no candidate left beside

  struct stat before {};
  ASSERT_EQ(::stat((dir_ + "/copy.db").c_str(), &before), 0);
  auto second = follower.run_round();
  ASSERT_TRUE(second.is_ok()) << second.status().message();
  EXPECT_FALSE(second->changed);
  EXPECT_EQ(second->memories, 3);
  struct stat after {};
  ASSERT_EQ(::stat((dir_ + "/copy.db").c_str(), &after), 0);
  EXPECT_EQ(before.st_ino, after.st_ino);  // the same file: not restored again
}

TEST_F(ReplicaFollowTest, ACopyThatAnotherProcessWritesIsNeverReplaced) {
  ASSERT_TRUE(ReplicaFollower(options(shared_ + "/rep")).run_round().is_ok());
  const std::string copy = dir_ + "/copy.db";
  sqlite3* writer = nullptr;
  ASSERT_EQ(sqlite3_open(copy.c_str(), &writer), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(writer, "PRAGMA journal_mode=WAL; CREATE TABLE mine(x);", nullptr, nullptr,
                         nullptr),
            SQLITE_OK);
  auto round = ReplicaFollower(options(shared_ + "/rep")).run_round();
  ASSERT_FALSE(round.is_ok());
  EXPECT_EQ(round.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(round.status().message().find("writes it"), std::string::npos);
  EXPECT_EQ(first_text(copy, "SELECT count(*) FROM sqlite_master WHERE name = 'mine'"), "1");
  sqlite3_close(writer);
}

TEST_F(ReplicaFollowTest, ADatabaseItDidNotMakeIsNeverReplaced) {
  const std::string copy = dir_ + "/copy.db";
  ASSERT_TRUE(ReplicaFollower(options(shared_ + "/rep")).run_round().is_ok());
  EXPECT_TRUE(Database::is_followed_copy(copy));
  // Someone's own database at that path (nobody has it open right now).
  const std::string own = dir_ + "/own.db";
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(own.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE mine(x);", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  EXPECT_FALSE(Database::is_followed_copy(own));
  fs::rename(own, copy);
  auto round = ReplicaFollower(options(shared_ + "/rep")).run_round();
  ASSERT_FALSE(round.is_ok());
  EXPECT_EQ(round.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(round.status().message().find("is not a copy replica follow made"), std::string::npos)
      << round.status().message();
  EXPECT_EQ(first_text(copy, "SELECT count(*) FROM sqlite_master WHERE name = 'mine'"), "1");
}

TEST_F(ReplicaFollowTest, AnEmptyReplicaHoldsNoBackupYetAndNothingIsWritten) {
  fs::create_directories(dir_ + "/empty-rep");
  auto round = ReplicaFollower(options(dir_ + "/empty-rep")).run_round();
  ASSERT_FALSE(round.is_ok());
  EXPECT_NE(round.status().message().find("holds no backup yet"), std::string::npos)
      << round.status().message();
  EXPECT_FALSE(fs::exists(dir_ + "/copy.db"));
  auto missing = ReplicaFollower(options(dir_ + "/no-such-dir")).run_round();
  ASSERT_FALSE(missing.is_ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

TEST_F(ReplicaFollowTest, TheStateFileNamesTheFollowerAndALiveOneIsNotReplaced) {
  const std::string db = dir_ + "/copy.db";
  FollowState mine{"https://hub:8443/litestream/mcp-memory", current_process_id(),
                   "2026-12-07T01:00:00", dir_ + "/copy.db.mirror"};
  ASSERT_TRUE(write_follow_state(db, mine).is_ok());
  EXPECT_EQ(fs::status(follow_state_path(db)).permissions() & fs::perms::group_read,
            fs::perms::none);
  auto read = read_follow_state(db);
  ASSERT_TRUE(read.is_ok() && read->has_value());
  EXPECT_EQ((*read)->from, mine.from);
  EXPECT_EQ((*read)->pid, mine.pid);
  EXPECT_EQ((*read)->cache, mine.cache);

  FollowState other = mine;
  other.pid = 1;  // init: alive
  auto refused = write_follow_state(db, other);
  ASSERT_FALSE(refused.is_ok());
  EXPECT_NE(refused.message().find("already follows"), std::string::npos) << refused.message();

  // A state file left by a follower that died is replaced.
  std::ofstream(follow_state_path(db)) << R"({"from":"/old","pid":2147483646})";
  ASSERT_TRUE(write_follow_state(db, mine).is_ok());
  EXPECT_EQ((*read_follow_state(db))->from, mine.from);
  remove_follow_state(db);
  EXPECT_FALSE(fs::exists(follow_state_path(db)));
  EXPECT_FALSE(read_follow_state(db)->has_value());
}

TEST_F(ReplicaFollowTest, WhileFollowedTheCopyOpensReadOnlyAndNothingIsWrittenBesideIt) {
  ReplicaFollower follower(options(shared_ + "/rep"));
  ASSERT_TRUE(follower.run_round().is_ok());
  const std::string db = dir_ + "/copy.db";
  ASSERT_TRUE(write_follow_state(db, {shared_ + "/rep", current_process_id(), "", ""}).is_ok());
  Config c = config_from_env({{"HOME", dir_}, {"MCP_MEMORY_BASE_DIR", dir_}});
  c.db_path = db;
  {
    auto service = MemoryService::open(c);
    ASSERT_TRUE(service.is_ok()) << service.status().message();
    EXPECT_EQ((*service)->stats().value().storage.total_memories, 3);
    StoreRequest r;
    r.content = "a write on a followed copy";
    EXPECT_FALSE((*service)->store(r).is_ok());
    EXPECT_FALSE(fs::exists(db + "-wal"));
    EXPECT_FALSE(fs::exists(db + "-journal"));
  }
  EXPECT_EQ(first_text(db, "PRAGMA journal_mode"), "delete");
  remove_follow_state(db);
}

TEST_F(ReplicaFollowTest, AReaderDoesNotCreateAFollowedCopyBeforeItsFirstRound) {
  const std::string db = dir_ + "/copy.db";
  ASSERT_TRUE(write_follow_state(db, {shared_ + "/rep", current_process_id(), "", ""}).is_ok());
  Config c = config_from_env({{"HOME", dir_}, {"MCP_MEMORY_BASE_DIR", dir_}});
  c.db_path = db;
  EXPECT_FALSE(MemoryService::open(c).is_ok());
  EXPECT_FALSE(fs::exists(db));
  remove_follow_state(db);
}

}  // namespace
}  // namespace mcpmem
