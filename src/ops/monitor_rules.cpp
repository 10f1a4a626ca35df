// The monitoring rules of monitor_rules.h, and the reader of a detailed health reply: typed at
// once with the project's non-throwing JSON readers, so a node that answers something else is
// "down" with a reason, never a crash.
#include "ops/monitor_rules.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/json_fields.h"
#include "core/json_parse.h"
#include "core/memory.h"

namespace mcpmem {
namespace {

std::string format_number(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

// Text from the network that is shown (a replica's name and error) is one bounded line with
// no control characters: a hostile node cannot draw on the operator's terminal.
std::string printable_line(std::string text, size_t max_bytes) {
  if (text.size() > max_bytes) text.resize(max_bytes);
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return text;
}

Result<std::vector<ReplicaState>> parse_replicas(const Json& reply) {
  std::vector<ReplicaState> out;
  MCP_ASSIGN_OR_RETURN(Json replication, object_field(reply, "replication"));
  if (!has_field(replication, "replicas")) return out;
  const Json& list = replication["replicas"];
  if (!list.is_array()) return field_error("replication.replicas", "a list");
  for (size_t i = 0; i < list.size() && i < kMaxReplicasPerNode; ++i) {
    const std::string where = "replication.replicas[" + std::to_string(i) + "]";
    if (!list[i].is_object()) return field_error(where, "an object");
    ReplicaState r;
    MCP_ASSIGN_OR_RETURN(r.name, string_field(list[i], "name", "replica " + std::to_string(i)));
    if (has_field(list[i], "lag_seconds")) {
      MCP_ASSIGN_OR_RETURN(double lag, number_field(list[i], "lag_seconds", 0, 0, 1e12));
      r.lag_seconds = lag;
    }
    MCP_ASSIGN_OR_RETURN(r.last_error, string_field(list[i], "last_error"));
    r.name = printable_line(std::move(r.name), 100);
    r.last_error = printable_line(std::move(r.last_error), 300);
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

Result<NodeHealth> parse_detailed_health(std::string_view body) {
  if (static_cast<int64_t>(body.size()) > kMaxHealthReplyBytes) {
    return Status::invalid_argument("the health reply is larger than 1 MiB");
  }
  MCP_ASSIGN_OR_RETURN(Json reply, parse_json(body, "the health reply"));
  if (!reply.is_object()) return Status::invalid_argument("the health reply is not an object");
  NodeHealth h;
  MCP_ASSIGN_OR_RETURN(h.status, string_field(reply, "status"));
  MCP_ASSIGN_OR_RETURN(h.version, string_field(reply, "version"));
  MCP_ASSIGN_OR_RETURN(h.last_modified, string_field(reply, "last_modified"));
  MCP_ASSIGN_OR_RETURN(Json storage, object_field(reply, "storage"));
  constexpr int64_t kMaxCount = int64_t{1} << 50;
  if (has_field(storage, "total_memories")) {
    MCP_ASSIGN_OR_RETURN(h.memories, int_field(storage, "total_memories", 0, 0, kMaxCount));
  } else if (has_field(reply, "memory_count")) {
    MCP_ASSIGN_OR_RETURN(h.memories, int_field(reply, "memory_count", 0, 0, kMaxCount));
  } else {
    return Status::invalid_argument(
        "the health reply has no memory count (storage.total_memories): not an mcp-memory "
        "/api/health/detailed");
  }
  MCP_ASSIGN_OR_RETURN(Json statistics, object_field(reply, "statistics"));
  if (has_field(statistics, "database_size_mb")) {
    MCP_ASSIGN_OR_RETURN(double mb, number_field(statistics, "database_size_mb", 0, 0, 1e9));
    h.size_bytes = static_cast<int64_t>(std::llround(mb * 1048576.0));
  }
  MCP_ASSIGN_OR_RETURN(h.replicas, parse_replicas(reply));
  return h;
}

std::string_view alert_kind_name(AlertKind kind) {
  switch (kind) {
    case AlertKind::kNodeDown:
      return "node_down";
    case AlertKind::kReplicationLag:
      return "replication_lag";
    case AlertKind::kReplicationError:
      return "replication_error";
    case AlertKind::kDatabaseGrowth:
      return "database_growth";
    case AlertKind::kCountMismatch:
      return "count_mismatch";
  }
  return "unknown";
}

std::vector<Alert> replication_alerts(const std::string& node, const NodeHealth& health,
                                      const MonitorThresholds& limits) {
  std::vector<Alert> out;
  for (const ReplicaState& r : health.replicas) {
    if (r.lag_seconds && *r.lag_seconds > limits.max_lag_seconds) {
      out.push_back({AlertKind::kReplicationLag, node,
                     "replica " + r.name + " is " + format_number(*r.lag_seconds, 0) +
                         " s behind (limit " + format_number(limits.max_lag_seconds, 0) + " s)",
                     *r.lag_seconds, limits.max_lag_seconds});
    }
    if (!r.last_error.empty()) {
      out.push_back({AlertKind::kReplicationError, node,
                     "replica " + r.name + " reports: " + r.last_error, 0, 0});
    }
  }
  return out;
}

std::optional<Alert> growth_alert(const std::string& node, const std::vector<SizeSample>& history,
                                  double now, int64_t size_bytes, const MonitorThresholds& limits) {
  constexpr double kDay = 86400;
  const SizeSample* base = nullptr;
  for (const SizeSample& s : history) {
    if (now - s.at >= kDay) base = &s;  // the newest sample at least a day old
  }
  if (base == nullptr && !history.empty() &&
      now - history.front().at >= limits.min_growth_span_seconds) {
    base = &history.front();
  }
  if (base == nullptr || base->bytes < limits.min_growth_base_bytes) return std::nullopt;
  const double span = now - base->at;
  const double grown =
      static_cast<double>(size_bytes - base->bytes) / static_cast<double>(base->bytes);
  const double percent_per_day = grown * 100 * kDay / span;
  if (percent_per_day <= limits.max_growth_percent_per_day) return std::nullopt;
  return Alert{AlertKind::kDatabaseGrowth, node,
               "database grew " + format_number(percent_per_day, 1) + " % a day (from " +
                   format_number(static_cast<double>(base->bytes) / 1048576.0, 1) + " MiB to " +
                   format_number(static_cast<double>(size_bytes) / 1048576.0, 1) + " MiB in " +
                   format_number(span / 3600, 1) + " h; limit " +
                   format_number(limits.max_growth_percent_per_day, 0) + " %)",
               percent_per_day, limits.max_growth_percent_per_day};
}

std::optional<Alert> count_mismatch_alert(const std::vector<NodeCount>& counts,
                                          std::optional<double>& since, double now,
                                          double interval_seconds) {
  if (counts.size() < 2) {
    since.reset();
    return std::nullopt;
  }
  auto [lo, hi] = std::minmax_element(counts.begin(), counts.end(),
                                      [](auto& a, auto& b) { return a.memories < b.memories; });
  if (lo->memories == hi->memories) {
    since.reset();
    return std::nullopt;
  }
  if (!since) since = now;
  if (now - *since < interval_seconds) return std::nullopt;
  std::string nodes, detail;
  for (const NodeCount& c : counts) {
    nodes += (nodes.empty() ? "" : ",") + c.node;
    detail += (detail.empty() ? "" : ", ") + c.node + " " + std::to_string(c.memories);
  }
  const double apart = static_cast<double>(hi->memories - lo->memories);
  return Alert{AlertKind::kCountMismatch, nodes,
               "memory counts disagree for " + format_number(now - *since, 0) + " s: " + detail,
               apart, 0};
}

}  // namespace mcpmem
