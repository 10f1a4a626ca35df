// Replica stores with the real Litestream: the fence that keeps two databases out of one store,
// where a replica stands (`replica status`, /api/replication/status, the detailed health), and
// promotion: a copy becomes the database that replicates, and the old hub, running or
// restarted, refuses to replicate over it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "../temp_dir.h"
#include "core/json_parse.h"
#include "core/time_format.h"
#include "http/rest_api.h"
#include "platform/child_process.h"
#include "replication/litestream.h"
#include "replication/replica_fence.h"
#include "replication/replica_status.h"
#include "service/memory_service.h"

namespace mcpmem {
namespace {

namespace fs = std::filesystem;

class ReplicaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = config_from_env({{"HOME", dir_.path()}, {"MCP_MEMORY_BASE_DIR", dir_ / "hub"}});
    config_.litestream = MCP_LITESTREAM;
    config_.synchronous_full = false;
    config_.semantic_dedup_enabled = false;
    fs::create_directories(dir_ / "hub");
  }

  // The command line of the binary with this test's hub environment.
  std::vector<std::string> cli(const std::string& base_dir, std::vector<std::string> args) const {
    std::vector<std::string> argv = {"/usr/bin/env", "MCP_MEMORY_BASE_DIR=" + base_dir,
                                     std::string("MCP_MEMORY_LITESTREAM=") + MCP_LITESTREAM,
                                     MCP_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
  ChildOutput run(const std::string& base_dir, std::vector<std::string> args) const {
    auto out = run_child(cli(base_dir, std::move(args)), std::chrono::seconds(120));
    EXPECT_TRUE(out.is_ok()) << out.status().message();
    return out.is_ok() ? *out : ChildOutput{-1, out.status().message()};
  }

  void remember(MemoryService& service, const std::string& content) {
    StoreRequest r;
    r.content = content;
    ASSERT_TRUE(service.store(r).is_ok());
  }

  TempDir dir_{"replica"};
  Config config_;
};

TEST_F(ReplicaTest, TheFirstDatabaseClaimsAStoreAndAnotherIsRefused) {
  const std::string store = dir_ / "store";
  const std::string hub = fence_owner_name("hub", "/data/hub.db");
  const std::string laptop = fence_owner_name("laptop", "/data/copy.db");
  ASSERT_TRUE(claim_or_check_fence(store, hub).is_ok());
  EXPECT_TRUE(claim_or_check_fence(store, hub).is_ok());  // ours already
  Status refused = claim_or_check_fence(store, laptop);
  EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.message().find("belongs to hub:/data/hub.db"), std::string::npos)
      << refused.message();

  auto previous = take_over_fence(store, laptop);
  ASSERT_TRUE(previous.is_ok());
  EXPECT_EQ(*previous, hub);
  EXPECT_TRUE(claim_or_check_fence(store, laptop).is_ok());
  EXPECT_FALSE(claim_or_check_fence(store, hub).is_ok());
  auto fence = read_fence(store);
  ASSERT_TRUE(fence.is_ok() && fence->has_value());
  EXPECT_EQ((*fence)->previous_owner, hub);

  // A damaged fence is never read as "no fence".
  std::ofstream(store + "/" + kFenceFileName, std::ios::trunc) << "{\"own";
  EXPECT_EQ(claim_or_check_fence(store, hub).code(), StatusCode::kCorruption);
  EXPECT_TRUE(take_over_fence(store, hub).is_ok());  // promote replaces it on purpose
  EXPECT_TRUE(claim_or_check_fence(store, hub).is_ok());
}

TEST_F(ReplicaTest, StatusShowsGenerationPositionAndALagThatGrowsWhileLitestreamIsDown) {
  const std::string store = dir_ / "store";
  auto config = litestream_config_for(config_.db_path, {store});
  ASSERT_TRUE(config.is_ok()) << config.status().message();
  const std::string yml = dir_ / "litestream.yml";
  std::ofstream(yml) << litestream_config_yaml(*config);
  auto service = std::move(MemoryService::open(config_)).value();
  auto supervisor = std::make_unique<LitestreamSupervisor>(MCP_LITESTREAM, yml);
  ASSERT_TRUE(supervisor->start().is_ok());
  ReplicationMonitor monitor(MCP_LITESTREAM, yml, *config, supervisor.get());
  for (int i = 0; i < 5; ++i) remember(*service, "replicated status memory " + std::to_string(i));
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));

  auto report = monitor.report();
  EXPECT_TRUE(report.supervised);
  EXPECT_TRUE(report.running);
  ASSERT_EQ(report.replicas.size(), 1u);
  const ReplicaStatus& s = report.replicas[0];
  EXPECT_EQ(s.name, "file");
  EXPECT_EQ(s.where, store);
  EXPECT_EQ(s.generation.size(), 16u);
  EXPECT_TRUE(s.position.starts_with(s.generation + "/")) << s.position;
  EXPECT_EQ(s.lag_seconds.value_or(-1), 0.0);
  EXPECT_GT(s.size_bytes, 0);
  EXPECT_EQ(s.snapshots, 1);
  EXPECT_GE(s.wal_segments, 1);
  EXPECT_TRUE(s.last_error.empty()) << s.last_error;

  // The REST route and the detailed health carry the same figures.
  RestApi rest(*service, "test", {}, nullptr, &monitor);
  auto answer = parse_json(rest.replication_status(Request{}).body, "status");
  ASSERT_TRUE(answer.is_ok());
  EXPECT_EQ((*answer)["enabled"], true);
  EXPECT_EQ((*answer)["replicas"][0]["generation"], s.generation);
  auto health = parse_json(rest.health_detailed(Request{}).body, "health");
  ASSERT_TRUE(health.is_ok());
  EXPECT_EQ((*health)["replication"]["replicas"][0]["name"], "file");
  RestApi without(*service, "test");
  EXPECT_EQ(parse_json(without.replication_status(Request{}).body, "s").value()["enabled"], false);

  // Litestream stopped, a write waits: the lag is the time since the last shipped segment.
  supervisor->stop();
  remember(*service, "written while Litestream is down");
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  auto later = read_replica_status(MCP_LITESTREAM, yml, *config, unix_now());
  ASSERT_TRUE(later.is_ok());
  EXPECT_GE((*later)[0].lag_seconds.value_or(0), 1.0);

  // The guide's hub configuration: two unnamed file replicas, both "file" to Litestream, each
  // reported from its own directory.
  auto two = litestream_config_for(config_.db_path, {store, dir_ / "empty"});
  ASSERT_TRUE(two.is_ok());
  auto both = read_replica_status(MCP_LITESTREAM, yml, *two, unix_now());
  ASSERT_TRUE(both.is_ok());
  ASSERT_EQ(both->size(), 2u);
  EXPECT_EQ((*both)[0].generation, s.generation);
  EXPECT_EQ((*both)[1].name, "file");
  EXPECT_TRUE((*both)[1].generation.empty());
  EXPECT_EQ((*both)[1].size_bytes, 0);

  // A store that cannot be listed is an error of that replica, not of the report.
  auto broken = litestream_config_for(config_.db_path, {"sftp://127.0.0.1:1/nowhere"});
  ASSERT_TRUE(broken.is_ok());
  std::ofstream(yml, std::ios::trunc) << litestream_config_yaml(*broken);
  auto unreachable = read_replica_status(MCP_LITESTREAM, yml, *broken, unix_now());
  ASSERT_TRUE(unreachable.is_ok());
  EXPECT_FALSE((*unreachable)[0].last_error.empty());
}

TEST_F(ReplicaTest, APromotedCopyReplicatesAndTheOldHubRefuses) {
  const std::string store = dir_ / "store";
  const std::string hub_dir = dir_ / "hub";
  std::string hub_log;
  std::mutex log_mu;
  auto hub = ChildProcess::start(cli(hub_dir, {"replicate", "--replica", store}),
                                 [&](std::string_view line) {
                                   std::lock_guard<std::mutex> lock(log_mu);
                                   hub_log.append(line).push_back('\n');
                                 });
  ASSERT_TRUE(hub.is_ok());
  auto printed = run(hub_dir, {"replication", "config", "--replica", store});
  EXPECT_EQ(printed.exit_code, 0) << printed.output;
  EXPECT_NE(printed.output.find("path: " + store), std::string::npos) << printed.output;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(run(hub_dir, {"store", "written on the hub " + std::to_string(i)}).exit_code, 0);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  EXPECT_EQ(run(hub_dir, {"--json", "replica", "status"}).exit_code, 0);

  // The laptop's copy (what `replica follow` keeps), promoted while the old hub still runs.
  const std::string laptop_dir = dir_ / "laptop";
  fs::create_directories(laptop_dir);
  const std::string copy = laptop_dir + "/copy.db";
  auto restored = run_child({MCP_LITESTREAM, "restore", "-o", copy, "file://" + store},
                            std::chrono::seconds(60));
  ASSERT_TRUE(restored.is_ok() && restored->exit_code == 0);
  auto promoted = run(laptop_dir, {"--json", "promote", "--db", copy, "--replica", store});
  ASSERT_EQ(promoted.exit_code, 0) << promoted.output;
  auto fence = read_fence(store);
  ASSERT_TRUE(fence.is_ok() && fence->has_value());
  EXPECT_EQ((*fence)->owner, fence_owner_name(config_.host_name, copy));

  // The old hub saw the fence and stopped replicating, saying why.
  auto code = (*hub)->wait_for(std::chrono::seconds(15));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 1);
  {
    std::lock_guard<std::mutex> lock(log_mu);
    EXPECT_NE(hub_log.find("belongs to " + (*fence)->owner), std::string::npos) << hub_log;
  }
  // Written on the old hub after it was fenced: never reaches the store.
  EXPECT_EQ(run(hub_dir, {"store", "written on the fenced hub"}).exit_code, 0);
  auto again = run(hub_dir, {"replicate", "--replica", store});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.output.find("mcp-memory promote made it the hub"), std::string::npos)
      << again.output;

  // Clients write to the promoted copy, which replicates; a restore has its memories only.
  auto new_hub =
      ChildProcess::start(cli(laptop_dir, {"--db-path", copy, "replicate", "--replica", store}),
                          [](std::string_view) {});
  ASSERT_TRUE(new_hub.is_ok());
  EXPECT_EQ(run(laptop_dir, {"--db-path", copy, "store", "written on the new hub"}).exit_code, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  (*new_hub)->terminate();
  ASSERT_TRUE((*new_hub)->wait_for(std::chrono::seconds(30)).has_value());
  const std::string check = dir_ / "check.db";
  auto last = run_child({MCP_LITESTREAM, "restore", "-o", check, "file://" + store},
                        std::chrono::seconds(60));
  ASSERT_TRUE(last.is_ok() && last->exit_code == 0) << (last.is_ok() ? last->output : "");
  auto listed = run(laptop_dir, {"--db-path", check, "--json", "list"});
  EXPECT_NE(listed.output.find("written on the new hub"), std::string::npos) << listed.output;
  EXPECT_NE(listed.output.find("written on the hub 2"), std::string::npos);
  EXPECT_EQ(listed.output.find("written on the fenced hub"), std::string::npos);
}

}  // namespace
}  // namespace mcpmem
