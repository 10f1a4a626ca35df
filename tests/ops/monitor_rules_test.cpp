// The monitoring rules and what they read: a detailed health reply (with and without the
// replication section), each alert of the sync guide at and around its limit, the bounded
// history file, and how a round is shown.
#include "ops/monitor_rules.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "ops/monitor.h"
#include "ops/monitor_history.h"

namespace mcpmem {
namespace {

namespace fs = std::filesystem;

constexpr const char* kReply = R"({"status":"healthy","version":"1.2.0",
  "storage":{"backend":"sqlite-vec","total_memories":42},
  "statistics":{"database_size_mb":1.5},
  "memory_count":42,"last_modified":"2026-12-06T10:00:00Z"})";

TEST(DetailedHealth, ReadsCountSizeAndNoReplicationWhenTheSectionIsAbsent) {
  auto h = parse_detailed_health(kReply);
  ASSERT_TRUE(h.is_ok()) << h.status().message();
  EXPECT_EQ(h->status, "healthy");
  EXPECT_EQ(h->version, "1.2.0");
  EXPECT_EQ(h->memories, 42);
  ASSERT_TRUE(h->size_bytes.has_value());
  EXPECT_EQ(*h->size_bytes, 1572864);
  EXPECT_EQ(h->last_modified, "2026-12-06T10:00:00Z");
  EXPECT_TRUE(h->replicas.empty());
}

TEST(DetailedHealth, ReadsEachReplicaWithLagAndError) {
  auto h = parse_detailed_health(R"({"storage":{"total_memories":3},"replication":{"replicas":[
      {"name":"file","lag_seconds":2.5,"last_error":null},
      {"name":"s3","lag_seconds":null,"last_error":"dial tcp: connection refused"}]}})");
  ASSERT_TRUE(h.is_ok()) << h.status().message();
  ASSERT_EQ(h->replicas.size(), 2u);
  EXPECT_EQ(h->replicas[0].name, "file");
  EXPECT_DOUBLE_EQ(*h->replicas[0].lag_seconds, 2.5);
  EXPECT_EQ(h->replicas[0].last_error, "");
  EXPECT_FALSE(h->replicas[1].lag_seconds.has_value());
  EXPECT_EQ(h->replicas[1].last_error, "dial tcp: connection refused");
}

TEST(DetailedHealth, RefusesWhatIsNotAHealthReplyWithAReason) {
  EXPECT_NE(parse_detailed_health("<html>502 Bad Gateway</html>")
                .status()
                .message()
                .find("not valid JSON"),
            std::string::npos);
  EXPECT_NE(
      parse_detailed_health(R"({"status":"healthy"})").status().message().find("no memory count"),
      std::string::npos);
  EXPECT_NE(
      parse_detailed_health(R"({"memory_count":-1})").status().message().find("'memory_count'"),
      std::string::npos);
  EXPECT_FALSE(parse_detailed_health(R"({"memory_count":1,"replication":{"replicas":7}})").is_ok());
  EXPECT_FALSE(parse_detailed_health(std::string(kMaxHealthReplyBytes + 1, ' ')).is_ok());
}

TEST(DetailedHealth, ReadsAtMostTheReplicaCap) {
  std::string many = R"({"memory_count":1,"replication":{"replicas":[)";
  for (size_t i = 0; i < kMaxReplicasPerNode + 10; ++i) {
    many += std::string(i ? "," : "") + R"({"name":"r","lag_seconds":1})";
  }
  many += "]}}";
  auto h = parse_detailed_health(many);
  ASSERT_TRUE(h.is_ok()) << h.status().message();
  EXPECT_EQ(h->replicas.size(), kMaxReplicasPerNode);
}

TEST(ReplicationRule, LagAlertsOnlyAboveSixtySeconds) {
  NodeHealth h;
  h.replicas = {{"at-limit", 60.0, ""}, {"over", 61.0, ""}, {"unknown", std::nullopt, ""}};
  auto alerts = replication_alerts("https://hub:8443", h, {});
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].kind, AlertKind::kReplicationLag);
  EXPECT_EQ(alerts[0].node, "https://hub:8443");
  EXPECT_DOUBLE_EQ(alerts[0].value, 61.0);
  EXPECT_DOUBLE_EQ(alerts[0].threshold, 60.0);
  EXPECT_EQ(alerts[0].message, "replica over is 61 s behind (limit 60 s)");
}

TEST(ReplicationRule, AReplicaErrorIsAnAlertOnOneLineWithoutControlCharacters) {
  auto h = parse_detailed_health(
      R"({"memory_count":1,"replication":{"replicas":[{"name":"s3\u001b[2J","lag_seconds":1,)"
      R"("last_error":"access denied\nretrying"}]}})");
  ASSERT_TRUE(h.is_ok()) << h.status().message();
  auto alerts = replication_alerts("n", *h, {});
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].kind, AlertKind::kReplicationError);
  EXPECT_EQ(alerts[0].message, "replica s3 [2J reports: access denied retrying");
}

TEST(GrowthRule, JudgesADayAgainstTheSampleADayOld) {
  const double now = 1'000'000;
  const int64_t mib = 1 << 20;
  std::vector<SizeSample> history = {
      {now - 2 * 86400, 8 * mib}, {now - 86400, 10 * mib}, {now - 3600, 10 * mib}};
  // 10 % in a day is the limit, not over it.
  EXPECT_FALSE(growth_alert("n", history, now, 11 * mib, {}).has_value());
  auto over = growth_alert("n", history, now, 12 * mib, {});
  ASSERT_TRUE(over.has_value());
  EXPECT_EQ(over->kind, AlertKind::kDatabaseGrowth);
  EXPECT_NEAR(over->value, 20.0, 1e-9);
  EXPECT_EQ(over->message,
            "database grew 20.0 % a day (from 10.0 MiB to 12.0 MiB in 24.0 h; limit 10 %)");
}

TEST(GrowthRule, ExtrapolatesFromSixHoursButNotLess) {
  const double now = 1'000'000;
  const int64_t mib = 1 << 20;
  // 3 % in 6 h is 12 % a day.
  auto six = growth_alert("n", {{now - 6 * 3600, 100 * mib}}, now, 103 * mib, {});
  ASSERT_TRUE(six.has_value());
  EXPECT_NEAR(six->value, 12.0, 1e-9);
  // The same burst seen over 5 h is not yet a trend.
  EXPECT_FALSE(growth_alert("n", {{now - 5 * 3600, 100 * mib}}, now, 103 * mib, {}).has_value());
  EXPECT_FALSE(growth_alert("n", {}, now, 103 * mib, {}).has_value());
}

TEST(GrowthRule, SmallDatabasesAreNotJudged) {
  const double now = 1'000'000;
  // 200 KiB doubling in a day is a few pages.
  EXPECT_FALSE(growth_alert("n", {{now - 86400, 200 << 10}}, now, 400 << 10, {}).has_value());
}

TEST(CountRule, AlertsOnlyWhenADisagreementOutlastsTheInterval) {
  std::optional<double> since;
  std::vector<NodeCount> apart = {{"a", 10}, {"b", 12}};
  EXPECT_FALSE(count_mismatch_alert(apart, since, 100, 30).has_value());
  EXPECT_EQ(since, 100.0);
  EXPECT_FALSE(count_mismatch_alert(apart, since, 129, 30).has_value());
  auto alert = count_mismatch_alert(apart, since, 130, 30);
  ASSERT_TRUE(alert.has_value());
  EXPECT_EQ(alert->kind, AlertKind::kCountMismatch);
  EXPECT_EQ(alert->node, "a,b");
  EXPECT_DOUBLE_EQ(alert->value, 2);
  EXPECT_EQ(alert->message, "memory counts disagree for 30 s: a 10, b 12");
  // Agreement clears it: the next disagreement starts its own clock.
  EXPECT_FALSE(count_mismatch_alert({{"a", 12}, {"b", 12}}, since, 140, 30).has_value());
  EXPECT_FALSE(since.has_value());
  EXPECT_FALSE(count_mismatch_alert(apart, since, 150, 30).has_value());
  EXPECT_EQ(since, 150.0);
  // One node alone has nobody to disagree with.
  EXPECT_FALSE(count_mismatch_alert({{"a", 1}}, since, 500, 30).has_value());
  EXPECT_FALSE(since.has_value());
}

TEST(MonitorHistoryTest, SamplesAreSpacedPrunedAndCapped) {
  MonitorHistory h;
  const double t0 = 1'000'000;
  h.record_size("n", t0, 1);
  h.record_size("n", t0 + 60, 2);  // within the spacing: not kept
  h.record_size("n", t0 + kSampleSpacingSeconds, 3);
  ASSERT_EQ(h.sizes("n").size(), 2u);
  EXPECT_EQ(h.sizes("n")[1].bytes, 3);
  // Days later the old samples are gone.
  h.record_size("n", t0 + kKeepSeconds + 2 * kSampleSpacingSeconds, 4);
  ASSERT_EQ(h.sizes("n").size(), 1u);
  EXPECT_EQ(h.sizes("n")[0].bytes, 4);
  for (size_t i = 0; i < kMaxHistoryNodes + 5; ++i) {
    h.record_size("node" + std::to_string(i), t0 + static_cast<double>(i), 1);
  }
  EXPECT_TRUE(h.sizes("node0").empty());  // the stalest made room
  EXPECT_EQ(h.sizes("node" + std::to_string(kMaxHistoryNodes + 4)).size(), 1u);
}

TEST(MonitorHistoryTest, SavesOwnerOnlyAndReadsBack) {
  const fs::path dir = fs::temp_directory_path() / ("mcpmem-history-" + std::to_string(getpid()));
  fs::remove_all(dir);
  const std::string path = (dir / "sub" / "monitor-history.json").string();
  MonitorHistory h;
  h.record_size("https://a:8443", 1000, 123);
  h.set_mismatch_since("https://a:8443,https://b:8443", 990);
  ASSERT_TRUE(h.save(path).is_ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string warning;
  MonitorHistory back = MonitorHistory::load(path, &warning);
  EXPECT_EQ(warning, "");
  ASSERT_EQ(back.sizes("https://a:8443").size(), 1u);
  EXPECT_EQ(back.sizes("https://a:8443")[0].bytes, 123);
  EXPECT_EQ(back.mismatch_since("https://a:8443,https://b:8443"), 990.0);
  // A damaged file is set aside with a warning, not an error.
  std::ofstream(path) << "{\"version\":1,\"sizes\":{\"x\":[[1,\"big\"]]}}";
  MonitorHistory damaged = MonitorHistory::load(path, &warning);
  EXPECT_NE(warning.find("damaged sample"), std::string::npos) << warning;
  EXPECT_TRUE(damaged.sizes("x").empty());
  fs::remove_all(dir);
}

TEST(MonitorHistoryTest, AFileOverTheCapIsSetAsideWithAWarning) {
  const fs::path path =
      fs::temp_directory_path() / ("mcpmem-history-big-" + std::to_string(getpid()) + ".json");
  {
    std::ofstream out(path);
    out << R"({"version":1,"sizes":{"n":[)";
    while (static_cast<int64_t>(out.tellp()) <= kMaxHistoryBytes) out << "[1.0,1234567890],";
    out << "[1.0,1]]}}";
  }
  std::string warning;
  MonitorHistory h = MonitorHistory::load(path.string(), &warning);
  EXPECT_NE(warning.find("larger than 4 MiB"), std::string::npos) << warning;
  EXPECT_TRUE(h.sizes("n").empty());
  fs::remove(path);
}

TEST(MonitorHistoryTest, AFileKeepsAtMostTheSampleCapPerNode) {
  // record_size's spacing and age limit keep fewer; a file edited by hand may hold more.
  std::string text = R"({"version":1,"sizes":{"n":[)";
  for (size_t i = 0; i < kMaxSamplesPerNode + 50; ++i) {
    text += (i ? "," : "") + std::string("[") + std::to_string(i) + ",1]";
  }
  text += "]}}";
  auto h = MonitorHistory::parse(text);
  ASSERT_TRUE(h.is_ok()) << h.status().message();
  EXPECT_EQ(h->sizes("n").size(), kMaxSamplesPerNode);
}

// Found by health_reply_fuzz: value("version", 0) threw on a string version.
TEST(MonitorHistoryTest, AWronglyTypedVersionIsRefusedNotThrown) {
  auto parsed = MonitorHistory::parse(R"({"version":"1","sizes":{}})");
  EXPECT_EQ(parsed.status().message(), "the monitor history is not version 1");
  EXPECT_FALSE(MonitorHistory::parse(R"({"version":2})").is_ok());
  EXPECT_TRUE(MonitorHistory::parse(R"({"version":1})").is_ok());
}

TEST(MonitorOutput, HealthUrlAcceptsBaseOrHealthPath) {
  EXPECT_EQ(detailed_health_url("https://hub:8443"), "https://hub:8443/api/health/detailed");
  EXPECT_EQ(detailed_health_url("https://hub:8443/"), "https://hub:8443/api/health/detailed");
  EXPECT_EQ(detailed_health_url("https://hub:8443/api/health"),
            "https://hub:8443/api/health/detailed");
  EXPECT_EQ(detailed_health_url("http://127.0.0.1:8000/api/health/detailed"),
            "http://127.0.0.1:8000/api/health/detailed");
}

TEST(MonitorOutput, CreateRefusesBadNodesAndIntervals) {
  EXPECT_FALSE(Monitor::create({}).is_ok());
  MonitorOptions ftp;
  ftp.nodes = {"ftp://hub"};
  EXPECT_NE(Monitor::create(ftp).status().message().find("not an http:// or https:// URL"),
            std::string::npos);
  MonitorOptions many;
  many.nodes.assign(kMaxMonitoredNodes + 1, "http://127.0.0.1:1");
  EXPECT_FALSE(Monitor::create(many).is_ok());
  MonitorOptions fast;
  fast.nodes = {"http://127.0.0.1:1"};
  fast.interval_seconds = 0.5;
  EXPECT_FALSE(Monitor::create(fast).is_ok());
}

TEST(MonitorOutput, JsonLinesAndTableNameEveryNodeAndAlert) {
  MonitorRound round;
  round.at = 1733500000;
  NodeStatus up;
  up.node = "http://127.0.0.1:8000";
  up.up = true;
  up.health.memories = 7;
  up.health.size_bytes = 2 << 20;
  up.health.replicas = {{"file", 3.0, ""}};
  NodeStatus down;
  down.node = "http://127.0.0.1:9";
  down.error = "cannot connect (refused, unreachable or unknown host)";
  round.nodes = {up, down};
  round.alerts = {{AlertKind::kNodeDown, down.node, down.node + " is down: " + down.error, 0, 0}};
  std::string lines = round_json_lines(round);
  std::vector<nlohmann::json> parsed;
  for (size_t at = 0, nl; (nl = lines.find('\n', at)) != std::string::npos; at = nl + 1) {
    parsed.push_back(nlohmann::json::parse(lines.substr(at, nl - at)));
  }
  ASSERT_EQ(parsed.size(), 3u);
  EXPECT_EQ(parsed[0]["type"], "node");
  EXPECT_EQ(parsed[0]["memories"], 7);
  EXPECT_EQ(parsed[0]["replicas"][0]["lag_seconds"], 3.0);
  EXPECT_EQ(parsed[1]["up"], false);
  EXPECT_EQ(parsed[2]["type"], "alert");
  EXPECT_EQ(parsed[2]["kind"], "node_down");
  EXPECT_EQ(parsed[2]["time"], "2024-12-06T15:46:40Z");
  std::string table = round_table(round);
  EXPECT_NE(table.find("http://127.0.0.1:8000  up     7         2.0 MiB    3 s"), std::string::npos)
      << table;
  EXPECT_NE(table.find("DOWN   cannot connect"), std::string::npos) << table;
  EXPECT_NE(table.find("ALERT node_down: http://127.0.0.1:9 is down"), std::string::npos);
}

TEST(MonitorExec, PassesTheAlertInTheEnvironmentNotThroughTheShell) {
  Alert a{AlertKind::kReplicationLag, "https://hub:8443", "lag; $(touch /tmp/never) `x`", 75, 60};
  auto out = run_alert_command(
      "printf '%s|%s|%s|%s|%s' \"$MCP_ALERT_KIND\" \"$MCP_ALERT_NODE\" \"$MCP_ALERT_MESSAGE\" "
      "\"$MCP_ALERT_VALUE\" \"$MCP_ALERT_THRESHOLD\"",
      a, 1733500000);
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  EXPECT_EQ(*out, "replication_lag|https://hub:8443|lag; $(touch /tmp/never) `x`|75|60\n");
  auto flood = run_alert_command("head -c 100000 /dev/zero | tr '\\0' x", a, 0);
  ASSERT_TRUE(flood.is_ok()) << flood.status().message();
  EXPECT_EQ(flood->size(), kMaxExecOutputBytes + 4);  // cut, and marked "...\n"
  auto failed = run_alert_command("exit 3", a, 0);
  EXPECT_NE(failed.status().message().find("exited with 3"), std::string::npos);
}

}  // namespace
}  // namespace mcpmem
