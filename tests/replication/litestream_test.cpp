// The real Litestream (the npm package scripts/install-deps installs) run by the real binary:
// `mcp-memory replicate --replica DIR` while 10,000 memories are written, then
// `litestream restore` into a new file: the same rows, integrity ok, and our service opens the
// copy (Litestream's _litestream_* tables are tolerated). Also: a configuration Litestream would
// misread is refused before Litestream starts.
#include "replication/litestream.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "../temp_dir.h"
#include "database_probe.h"
#include "platform/child_process.h"
#include "service/memory_service.h"

namespace mcpmem {
namespace {

namespace fs = std::filesystem;

class LitestreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = config_from_env({{"HOME", dir_.path()}, {"MCP_MEMORY_BASE_DIR", dir_.path()}});
    config_.litestream = MCP_LITESTREAM;
    config_.synchronous_full = false;
    config_.semantic_dedup_enabled = false;
    setenv("MCP_MEMORY_BASE_DIR", dir_.path().c_str(), 1);
    setenv("MCP_MEMORY_LITESTREAM", MCP_LITESTREAM, 1);
  }
  void TearDown() override {
    unsetenv("MCP_MEMORY_BASE_DIR");
    unsetenv("MCP_MEMORY_LITESTREAM");
  }
  TempDir dir_{"litestream"};
  Config config_;
};

TEST_F(LitestreamTest, TenThousandMemoriesWrittenWhileReplicatingRestoreIdentically) {
  const std::string replica = dir_ / "replica";
  std::string log;
  std::mutex log_mu;
  auto replicate = ChildProcess::start({MCP_BINARY, "replicate", "--replica", replica},
                                       [&](std::string_view line) {
                                         std::lock_guard<std::mutex> lock(log_mu);
                                         log.append(line).push_back('\n');
                                       });
  ASSERT_TRUE(replicate.is_ok()) << replicate.status().message();
  {
    auto service = std::move(MemoryService::open(config_)).value();
    for (int batch = 0; batch < 10; ++batch) {
      std::vector<StoreRequest> requests(1000);
      for (int i = 0; i < 1000; ++i) {
        requests[i].content = "replicated memory " + std::to_string(batch * 1000 + i);
        requests[i].tags = {"batch" + std::to_string(batch)};
      }
      auto stored = service->store_batch(requests);
      ASSERT_TRUE(stored.is_ok()) << stored.status().message();
      std::this_thread::sleep_for(std::chrono::milliseconds(200));  // a steady writer
    }
    EXPECT_EQ(service->stats().value().storage.total_memories, 10000);
  }
  // What was acknowledged more than a sync interval (1 s) ago is in the replica.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  (*replicate)->terminate();  // Litestream syncs once more on SIGTERM
  auto code = (*replicate)->wait_for(std::chrono::seconds(60));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0) << log;
  EXPECT_NE(log.find("mcp-memory: replicating until Ctrl+C or SIGTERM"), std::string::npos) << log;
  EXPECT_EQ(fs::status(dir_ / "litestream.yml").permissions() & fs::perms::others_read,
            fs::perms::none);

  const std::string restored = dir_ / "restored.db";
  auto out = run_child({MCP_LITESTREAM, "restore", "-o", restored, "file://" + replica},
                       std::chrono::seconds(120));
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  ASSERT_EQ(out->exit_code, 0) << out->output;
  EXPECT_EQ(integrity(restored), "ok");
  const std::string original = all_rows(config_.db_path);
  EXPECT_EQ(std::count(original.begin(), original.end(), '\n'), 10000);
  EXPECT_EQ(all_rows(restored), original);

  // Our service opens the restored copy, Litestream's tables and all.
  Config copy = config_;
  copy.db_path = restored;
  auto reopened = MemoryService::open(copy);
  ASSERT_TRUE(reopened.is_ok()) << reopened.status().message();
  EXPECT_EQ((*reopened)->stats().value().storage.total_memories, 10000);
  SearchRequest r;
  r.query = "replicated memory 4242";
  r.mode = SearchMode::kExact;
  EXPECT_EQ((*reopened)->search(r).value().results.size(), 1u);
}

TEST_F(LitestreamTest, AConfigurationLitestreamWouldMisreadStopsBeforeItStarts) {
  const std::string yml = dir_ / "litestream.yml";
  std::ofstream(yml) << "dbs:\n  - path: " << config_.db_path
                     << "\n    replicas:\n      - type: file\n        path: " << dir_.path()
                     << "/r\n        sync-interval: 1\n";
  auto out = run_child({MCP_BINARY, "replicate", "--config", yml}, std::chrono::seconds(30));
  ASSERT_TRUE(out.is_ok());
  EXPECT_EQ(out->exit_code, 1);
  EXPECT_NE(out->output.find("sync-interval: '1' is not a duration with a unit"), std::string::npos)
      << out->output;
  EXPECT_FALSE(fs::exists(dir_ / "r"));
}

TEST_F(LitestreamTest, TheVersionWeDriveIsFound) {
  auto found = find_litestream(config_);
  ASSERT_TRUE(found.is_ok()) << found.status().message();
  Config missing = config_;
  missing.litestream = dir_ / "no-litestream";
  auto none = find_litestream(missing);
  EXPECT_FALSE(none.is_ok());
}

}  // namespace
}  // namespace mcpmem
