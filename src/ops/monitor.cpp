// Monitor: one poll asks every node at once (a thread and an HttpClient each, every request
// bounded by kNodeTimeoutMs), then applies the rules in node order so output is stable. The
// history is saved after every poll: a cron job's next `monitor --once` sees this one.
#include "ops/monitor.h"

#include <cstdio>
#include <future>

#include "core/memory.h"
#include "core/time_format.h"
#include "platform/child_process.h"
#include "platform/http_client.h"
#include "platform/url.h"

namespace mcpmem {
namespace {

std::string node_set_key(const std::vector<std::string>& nodes) {
  std::string key;
  for (const std::string& n : nodes) key += (key.empty() ? "" : ",") + n;
  return key;
}

std::string describe_failure(HttpFailure failure, const std::string& fallback) {
  switch (failure) {
    case HttpFailure::kCannotConnect:
      return "cannot connect (refused, unreachable or unknown host)";
    case HttpFailure::kConnectTimeout:
      return "no connection within " + std::to_string(kNodeConnectTimeoutMs / 1000) + " s";
    case HttpFailure::kTimeout:
      return "no answer within " + std::to_string(kNodeTimeoutMs / 1000) + " s";
    case HttpFailure::kUntrustedCertificate:
      return "its TLS certificate is not trusted (give --hub-ca with its cert.pem)";
    case HttpFailure::kInsecure:
      return "refused to send the API key over plain http to another machine: use https://";
    default:
      return fallback;
  }
}

std::string pad(const std::string& text, size_t width) {
  return text.size() >= width ? text + " " : text + std::string(width - text.size(), ' ');
}

}  // namespace

std::string detailed_health_url(const std::string& node) {
  std::string base = trim_trailing_slashes(node);
  for (const char* suffix : {"/api/health/detailed", "/api/health"}) {
    if (base.ends_with(suffix)) {
      base.resize(base.size() - std::string_view(suffix).size());
      break;
    }
  }
  return base + "/api/health/detailed";
}

Result<Monitor> Monitor::create(MonitorOptions options) {
  if (options.nodes.empty()) return Status::invalid_argument("give at least one --node URL");
  if (options.nodes.size() > kMaxMonitoredNodes) {
    return Status::invalid_argument("at most " + std::to_string(kMaxMonitoredNodes) +
                                    " nodes can be monitored at once");
  }
  for (std::string& n : options.nodes) {
    if (!n.starts_with("http://") && !n.starts_with("https://")) {
      return Status::invalid_argument("--node " + n + " is not an http:// or https:// URL");
    }
    n = trim_trailing_slashes(n);
  }
  if (!(options.interval_seconds >= 1 && options.interval_seconds <= 86400)) {
    return Status::invalid_argument("--interval must be between 1 and 86400 seconds");
  }
  Monitor m(std::move(options));
  if (!m.options_.history_path.empty()) {
    m.history_ = MonitorHistory::load(m.options_.history_path, &m.warning_);
  }
  return m;
}

std::string Monitor::take_warning() { return std::exchange(warning_, ""); }

NodeStatus Monitor::ask(const std::string& node) const {
  NodeStatus s;
  s.node = node;
  HttpRequest req;
  req.url = detailed_health_url(node);
  if (!options_.api_key.empty()) req.headers.push_back({"X-API-Key", options_.api_key});
  req.ca_file = options_.ca_file;
  req.connect_timeout_ms = kNodeConnectTimeoutMs;
  req.timeout_ms = kNodeTimeoutMs;
  req.max_response_bytes = kMaxHealthReplyBytes;
  req.follow_redirects = false;  // the key travels in X-API-Key
  HttpClient client;
  const auto started = std::chrono::steady_clock::now();
  auto reply = client.send(req);
  s.latency_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  if (!reply.is_ok()) {
    s.error = describe_failure(client.last_failure(), reply.status().message());
    return s;
  }
  if (reply->status != 200) {
    s.error = "answered HTTP " + std::to_string(reply->status) +
              (reply->status == 401 || reply->status == 403
                   ? " (check the API key: --api-key-file, MCP_SYNC_API_KEY or MCP_API_KEY)"
                   : "");
    return s;
  }
  auto health = parse_detailed_health(reply->body);
  if (!health.is_ok()) {
    s.error = health.status().message();
    return s;
  }
  s.up = true;
  s.health = std::move(*health);
  return s;
}

Result<MonitorRound> Monitor::poll() {
  MonitorRound round;
  round.at = unix_now();
  std::vector<std::future<NodeStatus>> asked;
  for (const std::string& node : options_.nodes) {
    asked.push_back(std::async(std::launch::async, [this, node] { return ask(node); }));
  }
  for (auto& f : asked) round.nodes.push_back(f.get());

  std::vector<NodeCount> counts;
  for (const NodeStatus& s : round.nodes) {
    if (!s.up) {
      round.alerts.push_back({AlertKind::kNodeDown, s.node, s.node + " is down: " + s.error, 0, 0});
      continue;
    }
    counts.push_back({s.node, s.health.memories});
    for (Alert& a : replication_alerts(s.node, s.health, options_.limits)) {
      round.alerts.push_back(std::move(a));
    }
    if (s.health.size_bytes && !options_.history_path.empty()) {
      if (auto grew = growth_alert(s.node, history_.sizes(s.node), round.at, *s.health.size_bytes,
                                   options_.limits)) {
        round.alerts.push_back(std::move(*grew));
      }
      history_.record_size(s.node, round.at, *s.health.size_bytes);
    }
  }
  // Counts are compared among the nodes that answered; a node that is down is its own alert.
  const std::string key = node_set_key(options_.nodes);
  std::optional<double> since = history_.mismatch_since(key);
  if (auto apart = count_mismatch_alert(counts, since, round.at, options_.interval_seconds)) {
    round.alerts.push_back(std::move(*apart));
  }
  history_.set_mismatch_since(key, since);
  if (!options_.history_path.empty()) MCP_RETURN_IF_ERROR(history_.save(options_.history_path));
  return round;
}

std::string round_json_lines(const MonitorRound& round) {
  const std::string time = iso_utc(round.at);
  std::string out;
  for (const NodeStatus& s : round.nodes) {
    Json j = {{"type", "node"}, {"time", time}, {"node", s.node}, {"up", s.up}};
    if (s.up) {
      j["memories"] = s.health.memories;
      j["size_bytes"] = s.health.size_bytes ? Json(*s.health.size_bytes) : Json(nullptr);
      j["last_modified"] = s.health.last_modified;
      j["version"] = s.health.version;
      Json replicas = Json::array();
      for (const ReplicaState& r : s.health.replicas) {
        replicas.push_back({{"name", r.name},
                            {"lag_seconds", r.lag_seconds ? Json(*r.lag_seconds) : Json(nullptr)},
                            {"last_error", r.last_error}});
      }
      j["replicas"] = std::move(replicas);
      j["latency_ms"] = static_cast<int64_t>(s.latency_ms);
    } else {
      j["error"] = s.error;
    }
    out += j.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
  }
  for (const Alert& a : round.alerts) {
    Json j = {{"type", "alert"},         {"time", time},         {"kind", alert_kind_name(a.kind)},
              {"node", a.node},          {"message", a.message}, {"value", a.value},
              {"threshold", a.threshold}};
    out += j.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
  }
  return out;
}

std::string round_table(const MonitorRound& round) {
  std::string out = "mcp-memory monitor  " + iso_utc(round.at) + "\n\n";
  size_t width = 4;
  for (const NodeStatus& s : round.nodes) width = std::max(width, s.node.size() + 2);
  out += pad("NODE", width) + pad("STATE", 7) + pad("MEMORIES", 10) + pad("SIZE", 11) +
         pad("LAG", 8) + "LATENCY\n";
  for (const NodeStatus& s : round.nodes) {
    if (!s.up) {
      out += pad(s.node, width) + "DOWN   " + s.error + "\n";
      continue;
    }
    char size[32] = "-", lag[32] = "-", latency[32];
    if (s.health.size_bytes) {
      std::snprintf(size, sizeof size, "%.1f MiB",
                    static_cast<double>(*s.health.size_bytes) / 1048576.0);
    }
    double worst = -1;
    for (const ReplicaState& r : s.health.replicas) {
      if (r.lag_seconds) worst = std::max(worst, *r.lag_seconds);
    }
    if (worst >= 0) std::snprintf(lag, sizeof lag, "%.0f s", worst);
    std::snprintf(latency, sizeof latency, "%.0f ms", s.latency_ms);
    out += pad(s.node, width) + pad("up", 7) + pad(std::to_string(s.health.memories), 10) +
           pad(size, 11) + pad(lag, 8) + latency + "\n";
  }
  out += "\n";
  if (round.alerts.empty()) return out + "no alerts\n";
  for (const Alert& a : round.alerts) {
    out += "ALERT " + std::string(alert_kind_name(a.kind)) + ": " + a.message + "\n";
  }
  return out;
}

Result<std::string> run_alert_command(const std::string& command, const Alert& alert, double at) {
  char value[64], threshold[64];
  std::snprintf(value, sizeof value, "%g", alert.value);
  std::snprintf(threshold, sizeof threshold, "%g", alert.threshold);
  // env(1) sets the variables for this child only: our own environment is left alone (other
  // threads may read it), and no shell ever sees the alert's text as code.
  std::vector<std::string> argv = {"env",
                                   "MCP_ALERT_KIND=" + std::string(alert_kind_name(alert.kind)),
                                   "MCP_ALERT_NODE=" + alert.node,
                                   "MCP_ALERT_MESSAGE=" + alert.message,
                                   std::string("MCP_ALERT_VALUE=") + value,
                                   std::string("MCP_ALERT_THRESHOLD=") + threshold,
                                   "MCP_ALERT_TIME=" + iso_utc(at),
                                   "/bin/sh",
                                   "-c",
                                   command};
  MCP_ASSIGN_OR_RETURN(ChildOutput out, run_child(argv, kExecTimeout));
  if (out.output.size() > kMaxExecOutputBytes) {
    out.output.resize(kMaxExecOutputBytes);
    out.output += "...\n";
  }
  if (out.exit_code != 0) {
    return Status::io_error("--exec command exited with " + std::to_string(out.exit_code) +
                            (out.output.empty() ? "" : ": " + out.output.substr(0, 200)));
  }
  return out.output;
}

}  // namespace mcpmem
