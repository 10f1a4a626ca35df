// Monitor: polls nodes' GET /api/health/detailed (with the API key, over our libcurl client:
// TLS verified, a key sent in clear only to loopback) and applies the rules of
// ops/monitor_rules.h, remembering sizes and disagreements in a MonitorHistory file. Each poll
// asks every node at once (one client per node) and is bounded by kNodeTimeoutMs. Also how a
// round is shown: a table for people, JSON lines for scripts, and `--exec` commands run per
// alert with the alert in their environment.
// Thread-safety: one thread (poll() uses threads of its own inside).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "core/status.h"
#include "ops/monitor_history.h"
#include "ops/monitor_rules.h"

namespace mcpmem {

inline constexpr size_t kMaxMonitoredNodes = 64;
inline constexpr int kNodeConnectTimeoutMs = 5'000;
inline constexpr int kNodeTimeoutMs = 15'000;
// An --exec command gets this long per alert, then is killed; its output is shown up to
// kMaxExecOutputBytes.
inline constexpr auto kExecTimeout = std::chrono::seconds(30);
inline constexpr size_t kMaxExecOutputBytes = 4096;

struct MonitorOptions {
  std::vector<std::string> nodes;  // base URLs: https://hub:8443 (a health path is accepted)
  std::string api_key;             // sent as X-API-Key; "" for none
  std::string ca_file;             // a PEM to trust (a hub's self-signed cert.pem)
  double interval_seconds = 30;
  std::string history_path;  // "" keeps no history (no growth or lasting-mismatch rules)
  MonitorThresholds limits;
};

struct NodeStatus {
  std::string node;
  bool up = false;
  std::string error;  // why it is down
  NodeHealth health;  // when up
  double latency_ms = 0;
};

struct MonitorRound {
  double at = 0;  // Unix seconds
  std::vector<NodeStatus> nodes;
  std::vector<Alert> alerts;
};

// `node` as the URL of its detailed health: "https://hub:8443/" and
// "https://hub:8443/api/health" both give "https://hub:8443/api/health/detailed".
std::string detailed_health_url(const std::string& node);

class Monitor {
 public:
  // InvalidArgument when there is no node, more than kMaxMonitoredNodes, a node that is not an
  // http(s) URL, or an interval outside 1 s .. 1 day. Loads the history (warnings via
  // take_warning()).
  static Result<Monitor> create(MonitorOptions options);

  // Asks every node once, applies the rules, updates and saves the history. An error only
  // when the history cannot be saved.
  Result<MonitorRound> poll();
  // A warning to show once (a damaged history that was set aside), "" when none.
  std::string take_warning();

 private:
  explicit Monitor(MonitorOptions options) : options_(std::move(options)) {}
  NodeStatus ask(const std::string& node) const;

  MonitorOptions options_;
  MonitorHistory history_;
  std::string warning_;
};

// One JSON object per line: {"type":"node",...} for each node, {"type":"alert",...} for each
// alert, every line with "time" (ISO 8601 UTC).
std::string round_json_lines(const MonitorRound& round);
// The table people read: one row per node, then the alerts (or "no alerts").
std::string round_table(const MonitorRound& round);

// Runs `command` with /bin/sh, the alert in its environment: MCP_ALERT_KIND, MCP_ALERT_NODE,
// MCP_ALERT_MESSAGE, MCP_ALERT_VALUE, MCP_ALERT_THRESHOLD, MCP_ALERT_TIME. Returns its
// output (at most kMaxExecOutputBytes); an error when it cannot run, exits non-zero or
// outlasts kExecTimeout.
Result<std::string> run_alert_command(const std::string& command, const Alert& alert, double at);

}  // namespace mcpmem
