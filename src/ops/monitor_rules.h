// The sync guide's monitoring alerts as pure rules: what `mcp-memory monitor` reads from a
// node's /api/health/detailed (NodeHealth), and when that raises an Alert: replication lag over
// 60 s, database growth over 10 % a day, a node that is down, memory counts that disagree
// between nodes for longer than one polling interval. No I/O here: the poller (ops/monitor.h)
// fetches, the history (ops/monitor_history.h) remembers, these decide. Safe from many threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace mcpmem {

// A detailed health reply is a few kilobytes; anything past this is not one.
inline constexpr int64_t kMaxHealthReplyBytes = 1 << 20;
// Replicas read from one reply at most (Litestream configurations list two or three).
inline constexpr size_t kMaxReplicasPerNode = 64;

struct ReplicaState {
  std::string name;                   // as the node names it, made one line (at most 100 bytes)
  std::optional<double> lag_seconds;  // none: not known yet (no sync since start)
  std::string last_error;             // "" when none; one line, at most 300 bytes
};

// What the rules read from GET /api/health/detailed.
struct NodeHealth {
  std::string status;                  // "healthy" when the server says so
  std::string version;                 // the server's version, "" when absent
  int64_t memories = 0;                // storage.total_memories (else memory_count)
  std::optional<int64_t> size_bytes;   // statistics.database_size_mb, in bytes
  std::string last_modified;           // as the server wrote it, "" when null
  std::vector<ReplicaState> replicas;  // replication.replicas; empty: no replication set up
};

// Parses a reply body. InvalidArgument naming what is missing or wrong when it is not a
// detailed health reply (no memory count). A `replication` section is optional; its absence
// means no replication is configured. At most kMaxReplicasPerNode replicas are read.
Result<NodeHealth> parse_detailed_health(std::string_view body);

enum class AlertKind {
  kNodeDown,          // refused, timed out, or answered other than 200 with a health reply
  kReplicationLag,    // a replica's lag_seconds above the limit
  kReplicationError,  // a replica reports an error
  kDatabaseGrowth,    // the database grew faster than the limit per day
  kCountMismatch,     // nodes hold different numbers of memories for too long
};
// "node_down", "replication_lag", "replication_error", "database_growth", "count_mismatch".
std::string_view alert_kind_name(AlertKind kind);

struct Alert {
  AlertKind kind = AlertKind::kNodeDown;
  std::string node;     // the node's URL; for kCountMismatch, the nodes joined by ","
  std::string message;  // one line for people
  double value = 0;     // the measured figure (seconds, percent a day, memories apart)
  double threshold = 0;
};

// The guide's limits ("Monitoring Alerts"), each overridable for tests and sites.
struct MonitorThresholds {
  double max_lag_seconds = 60;
  double max_growth_percent_per_day = 10;
  // Below this size one SQLite page is a good part of 10 %: growth is not judged.
  int64_t min_growth_base_bytes = 1 << 20;
  // Growth is judged over a day when a sample that old exists, else extrapolated from the
  // oldest sample when it is at least this old (a shorter span makes one import a "trend").
  double min_growth_span_seconds = 6 * 3600;
};

// Replication alerts of one node: one per replica over the lag limit or reporting an error.
std::vector<Alert> replication_alerts(const std::string& node, const NodeHealth& health,
                                      const MonitorThresholds& limits);

struct SizeSample {
  double at = 0;  // Unix seconds
  int64_t bytes = 0;
};
// Growth per day of a database now `size_bytes`, judged against `history` (oldest first): the
// newest sample at least a day old, else the oldest one if at least min_growth_span_seconds
// old, the growth over that span scaled to a day. An alert when that is above the limit.
std::optional<Alert> growth_alert(const std::string& node, const std::vector<SizeSample>& history,
                                  double now, int64_t size_bytes, const MonitorThresholds& limits);

struct NodeCount {
  std::string node;
  int64_t memories = 0;
};
// Whether the nodes that answered agree on the number of memories. `since` is when a
// disagreement was first seen (kept between polls by the caller): set when one starts, cleared
// when the counts agree. An alert once it has lasted longer than `interval_seconds` (sync
// needs a round or two to converge; a real split outlasts them).
std::optional<Alert> count_mismatch_alert(const std::vector<NodeCount>& counts,
                                          std::optional<double>& since, double now,
                                          double interval_seconds);

}  // namespace mcpmem
