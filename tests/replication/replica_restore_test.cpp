// `restore --from` with the real Litestream on a file replica: one replica is made for the suite
// by the real `mcp-memory replicate --replica DIR` while two batches of memories are written
// (a point in time is noted between them); the tests restore it through the binary and through
// restore_from_replica: identical rows, integrity ok, the report's count and newest time; a point
// in time gives the first batch only, one before the first write finds no backups; an empty
// directory is NotFound, an existing target is refused without --force, and a failed restore
// leaves nothing beside the target.
#include "replication/replica_restore.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "core/time_format.h"
#include "database_probe.h"
#include "platform/child_process.h"
#include "service/memory_service.h"

namespace mcpmem {
namespace {

namespace fs = std::filesystem;

constexpr int kFirstBatch = 120;
constexpr int kSecondBatch = 80;

// RFC3339 UTC with milliseconds, as Litestream's -timestamp reads it.
std::string rfc3339_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t secs = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

// Nothing at `path` and no file beside it whose name starts with its name.
void expect_nothing_at(const std::string& path) {
  EXPECT_FALSE(fs::exists(path)) << path;
  for (const auto& e : fs::directory_iterator(fs::path(path).parent_path())) {
    EXPECT_NE(e.path().filename().string().rfind(fs::path(path).filename().string(), 0), 0u)
        << "left behind: " << e.path();
  }
}

class ReplicaRestoreTest : public ::testing::Test {
 protected:
  // One replica for the suite: batch one, a point in time, batch two, all synced.
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/mcpmem-replica-restore-XXXXXX";
    dir_ = new std::string(mkdtemp(tmpl));
    replica_ = new std::string(*dir_ + "/replica");
    between_ = new std::string;
    setenv("MCP_MEMORY_BASE_DIR", dir_->c_str(), 1);
    setenv("MCP_MEMORY_LITESTREAM", MCP_LITESTREAM, 1);
    Config config = config_from_env({{"HOME", *dir_}, {"MCP_MEMORY_BASE_DIR", *dir_}});
    config.synchronous_full = false;
    config.semantic_dedup_enabled = false;
    auto replicate = ChildProcess::start({MCP_BINARY, "replicate", "--replica", *replica_},
                                         [](std::string_view) {});
    ASSERT_TRUE(replicate.is_ok()) << replicate.status().message();
    {
      auto service = std::move(MemoryService::open(config)).value();
      auto write = [&](int from, int count) {
        for (int i = from; i < from + count; ++i) {
          StoreRequest r;
          r.content = "replica memory number " + std::to_string(i);
          r.tags = {i < kFirstBatch ? "first" : "second"};
          ASSERT_TRUE(service->store(r).is_ok());
        }
      };
      write(0, kFirstBatch);
      std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // synced (1 s interval)
      *between_ = rfc3339_now();
      std::this_thread::sleep_for(std::chrono::milliseconds(1200));
      write(kFirstBatch, kSecondBatch);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2000));
    (*replicate)->terminate();  // one more sync, then it exits
    ASSERT_EQ((*replicate)->wait_for(std::chrono::seconds(60)), std::optional<int>(0));
    db_ = new std::string(config.db_path);
  }
  static void TearDownTestSuite() {
    unsetenv("MCP_MEMORY_BASE_DIR");
    unsetenv("MCP_MEMORY_LITESTREAM");
    fs::remove_all(*dir_);
    delete dir_;
    delete replica_;
    delete between_;
    delete db_;
  }

  static std::string* dir_;
  static std::string* replica_;
  static std::string* between_;  // after the first batch was synced, before the second
  static std::string* db_;
};

std::string* ReplicaRestoreTest::dir_ = nullptr;
std::string* ReplicaRestoreTest::replica_ = nullptr;
std::string* ReplicaRestoreTest::between_ = nullptr;
std::string* ReplicaRestoreTest::db_ = nullptr;

TEST_F(ReplicaRestoreTest, RestoreFromADirectoryGivesBackIdenticalRowsThroughTheBinary) {
  const std::string target = *dir_ + "/restored/from-dir.db";
  auto out = run_child({MCP_BINARY, "restore", "--from", *replica_, "--to", target},
                       std::chrono::seconds(60));
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  ASSERT_EQ(out->exit_code, 0) << out->output;
  EXPECT_NE(out->output.find("Restored 200 memories to " + target + " (newest created "),
            std::string::npos)
      << out->output;
  // Only the database, one file: no candidate, no Litestream .tmp, no -wal or -shm (looked at
  // before the reads below, whose read-only connections leave a -wal and -shm of their own).
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(fs::path(target).parent_path())) {
    files.push_back(e.path().filename().string());
  }
  EXPECT_EQ(files, std::vector<std::string>{"from-dir.db"});
  EXPECT_EQ(integrity(target), "ok");
  const std::string original = all_rows(*db_);
  EXPECT_EQ(std::count(original.begin(), original.end(), '\n'), kFirstBatch + kSecondBatch);
  EXPECT_EQ(all_rows(target), original);
}

TEST_F(ReplicaRestoreTest, TheReportCountsTheMemoriesAndNamesTheNewest) {
  const std::string target = *dir_ + "/report.db";
  auto report = restore_from_replica(MCP_LITESTREAM, {"file://" + *replica_, ""}, {target, false});
  ASSERT_TRUE(report.is_ok()) << report.status().message();
  EXPECT_EQ(report->memories, kFirstBatch + kSecondBatch);
  EXPECT_EQ(report->path, target);
  EXPECT_TRUE(report->integrity_checked);
  ASSERT_TRUE(report->newest_memory_at.has_value());
  Config copy = config_from_env({{"HOME", *dir_}, {"MCP_MEMORY_BASE_DIR", *dir_}});
  copy.db_path = target;
  auto reopened = MemoryService::open(copy);
  ASSERT_TRUE(reopened.is_ok()) << reopened.status().message();
  ListRequest newest;
  newest.page_size = 1;
  auto listed = (*reopened)->list(newest);
  ASSERT_TRUE(listed.is_ok()) << listed.status().message();
  ASSERT_EQ(listed->memories.size(), 1u);
  EXPECT_DOUBLE_EQ(*report->newest_memory_at, listed->memories[0].created_at);
  EXPECT_EQ(listed->memories[0].content,
            "replica memory number " + std::to_string(kFirstBatch + kSecondBatch - 1));
}

TEST_F(ReplicaRestoreTest, ATimestampBetweenTheBatchesGivesTheFirstBatchOnly) {
  const std::string target = *dir_ + "/then.db";
  auto report = restore_from_replica(MCP_LITESTREAM, {*replica_, *between_}, {target, false});
  ASSERT_TRUE(report.is_ok()) << report.status().message();
  EXPECT_EQ(report->memories, kFirstBatch) << "as of " << *between_;
  EXPECT_EQ(integrity(target), "ok");
}

TEST_F(ReplicaRestoreTest, ATimestampBeforeTheFirstWriteFindsNoBackupsAndWritesNothing) {
  const std::string target = *dir_ + "/too-early.db";
  auto report =
      restore_from_replica(MCP_LITESTREAM, {*replica_, "2020-01-01T00:00:00Z"}, {target, false});
  ASSERT_FALSE(report.is_ok());
  EXPECT_EQ(report.status().code(), StatusCode::kNotFound);
  EXPECT_NE(report.status().message().find("no backups found in file://" + *replica_ +
                                           " as old as 2020-01-01T00:00:00Z"),
            std::string::npos)
      << report.status().message();
  expect_nothing_at(target);

  auto out = run_child(
      {MCP_BINARY, "restore", "--from", *replica_, "--timestamp", "yesterday", "--to", target},
      std::chrono::seconds(60));
  ASSERT_TRUE(out.is_ok());
  EXPECT_EQ(out->exit_code, 1);
  EXPECT_NE(out->output.find("error: --timestamp 'yesterday' is not an RFC3339 time"),
            std::string::npos)
      << out->output;
  expect_nothing_at(target);
}

// Needs no replica of the suite's: a test of its own, without the suite's set-up.
TEST(ReplicaRestoreEmpty, AnEmptyDirectoryIsNoReplicaAndLeavesNothingAtTheTarget) {
  char tmpl[] = "/tmp/mcpmem-replica-empty-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  const std::string empty = dir + "/empty-replica";
  fs::create_directories(empty);
  const std::string target = dir + "/from-empty.db";
  auto report = restore_from_replica(MCP_LITESTREAM, {empty, ""}, {target, false});
  ASSERT_FALSE(report.is_ok());
  EXPECT_EQ(report.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(report.status().message(), "no replica at file://" + empty + " (no generations)");
  expect_nothing_at(target);
  fs::remove_all(dir);
}

TEST_F(ReplicaRestoreTest, AnExistingTargetIsRefusedWithoutForceAndKeptWithIt) {
  const std::string target = *dir_ + "/existing.db";
  ASSERT_TRUE(
      restore_from_replica(MCP_LITESTREAM, {*replica_, *between_}, {target, false}).is_ok());
  const std::string before = all_rows(target);

  auto out = run_child({MCP_BINARY, "restore", "--from", *replica_, "--to", target},
                       std::chrono::seconds(60));
  ASSERT_TRUE(out.is_ok());
  EXPECT_EQ(out->exit_code, 1);
  EXPECT_NE(out->output.find("error: " + target + " already exists"), std::string::npos)
      << out->output;
  EXPECT_EQ(all_rows(target), before);

  auto forced = restore_from_replica(MCP_LITESTREAM, {*replica_, ""}, {target, true});
  ASSERT_TRUE(forced.is_ok()) << forced.status().message();
  EXPECT_EQ(forced->memories, kFirstBatch + kSecondBatch);
  ASSERT_FALSE(forced->previous_kept_as.empty());
  EXPECT_EQ(all_rows(forced->previous_kept_as), before);
}

// Litestream failing half-way (a stand-in that leaves its `.tmp` file and a -wal beside the
// candidate, as a restore cut short does): its last log line is the error, and nothing is left.
TEST(ReplicaRestoreFailure, LitestreamsLastErrorIsReportedAndItsTemporaryFilesRemoved) {
  char tmpl[] = "/tmp/mcpmem-replica-fail-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  const std::string fake = dir + "/litestream";
  std::ofstream(fake) << "#!/bin/sh\n"
                         "touch \"$3.tmp\" \"$3.tmp-wal\"\n"
                         "echo 'time=2026-12-07T01:00:00Z level=INFO msg=\"restoring snapshot\"'\n"
                         "echo 'time=2026-12-07T01:00:01Z level=ERROR msg=\"failed to run\" "
                         "error=\"cannot fetch generations: \\\"access denied\\\"\"'\n"
                         "exit 1\n";
  fs::permissions(fake, fs::perms::owner_all);
  const std::string target = dir + "/restored.db";
  auto report = restore_from_replica(fake, {"s3://bucket/mcp-memory", ""}, {target, false});
  ASSERT_FALSE(report.is_ok());
  EXPECT_EQ(report.status().code(), StatusCode::kIoError);
  EXPECT_EQ(report.status().message(),
            "litestream restore from s3://bucket/mcp-memory failed: cannot fetch generations: "
            "\"access denied\"");
  expect_nothing_at(target);
  fs::remove_all(dir);
}

TEST(ReplicaUrl, ADirectoryBecomesAnAbsoluteFileUrlAndHttpsNeedsTheMirror) {
  EXPECT_EQ(local_replica_url({"/srv/replica", ""}).value(), "file:///srv/replica");
  EXPECT_EQ(local_replica_url({"rel/replica", ""}).value(),
            "file://" + (fs::current_path() / "rel/replica").string());
  EXPECT_EQ(local_replica_url({"s3://bucket/mcp-memory", ""}).value(), "s3://bucket/mcp-memory");
  EXPECT_EQ(local_replica_url({"sftp://host/srv/replica", ""}).value(), "sftp://host/srv/replica");
  for (const char* url : {"https://hub:8443/litestream/mcp-memory", "http://hub/litestream"}) {
    auto https = local_replica_url({url, ""});
    ASSERT_FALSE(https.is_ok());
    EXPECT_EQ(https.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(https.status().message().rfind("restoring over HTTP(S) needs the mirror: ", 0), 0u)
        << https.status().message();
  }
  EXPECT_EQ(local_replica_url({"ftp://host/x", ""}).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace mcpmem
