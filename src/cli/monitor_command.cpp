// `mcp-memory monitor`: the sync guide's "Health Monitoring" and "Monitoring Alerts" as a
// command. Polls each --node's /api/health/detailed every --interval seconds (ops/monitor.h)
// and shows a live table on a terminal, JSON lines otherwise (or with --json); --exec runs a
// command per alert; --once polls once and exits 0 (all ok) or 1 (an alert), for cron.
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <mutex>

#include "cli/cli_context.h"
#include "ops/monitor.h"
#include "platform/shutdown_signal.h"

namespace mcpmem::cli {
namespace {

struct MonitorFlags {
  std::vector<std::string> nodes;
  double interval = 30;
  std::vector<std::string> exec;
  bool once = false;
  std::string key_file, ca_file;
  std::string history;  // "" = <base_dir>/monitor-history.json
  bool no_history = false;
  MonitorThresholds limits;
};

// Shows one round and runs --exec for its alerts. Returns whether an alert was raised.
bool report_round(const MonitorRound& round, const MonitorFlags& flags, bool table) {
  if (table) {
    std::cout << "\033[H\033[2J" << round_table(round) << std::flush;  // redraw in place
  } else {
    std::cout << round_json_lines(round) << std::flush;
  }
  for (const Alert& alert : round.alerts) {
    for (const std::string& command : flags.exec) {
      auto ran = run_alert_command(command, alert, round.at);
      if (!ran.is_ok()) {
        std::cerr << "warning: --exec for " << alert_kind_name(alert.kind) << ": "
                  << ran.status().message() << "\n";
      } else if (!ran->empty()) {
        std::cerr << *ran;
      }
    }
  }
  return !round.alerts.empty();
}

int monitor_command(CliContext& ctx, const MonitorFlags& flags) {
  // The key and CA as every client command finds them (--api-key-file, else MCP_SYNC_API_KEY
  // or MCP_API_KEY; --hub-ca, else MCP_MEMORY_HUB_CA).
  if (flags.nodes.empty()) return usage_error("give at least one --node URL");
  auto client =
      hub_client_options({flags.nodes.front(), flags.ca_file, flags.key_file}, ctx.config);
  if (!client.is_ok()) return usage_error(client.status().message());
  MonitorOptions options;
  options.nodes = flags.nodes;
  options.api_key = client->api_key;
  options.ca_file = client->ca_file;
  options.limits = flags.limits;
  options.interval_seconds = flags.interval;
  if (!flags.no_history) {
    options.history_path = flags.history.empty()
                               ? join_path(ctx.config.base_dir, "monitor-history.json")
                               : flags.history;
  }
  auto monitor = Monitor::create(std::move(options));
  if (!monitor.is_ok()) return usage_error(monitor.status().message());
  if (std::string w = monitor->take_warning(); !w.empty()) std::cerr << "warning: " << w << "\n";
  const bool table = !ctx.json && ::isatty(STDOUT_FILENO);

  if (flags.once) {
    auto round = monitor->poll();
    if (!round.is_ok()) return report_error(round.status());
    return report_round(*round, flags, table) ? kExitError : kExitOk;
  }
  // Signals first: every thread made after this inherits the blocked mask.
  std::mutex mu;
  std::condition_variable wake;
  bool stop = false;
  ShutdownSignal on_signal([&](int) {
    std::lock_guard<std::mutex> lock(mu);
    stop = true;
    wake.notify_all();
  });
  for (;;) {
    auto round = monitor->poll();
    if (!round.is_ok()) return report_error(round.status());
    report_round(*round, flags, table);
    std::unique_lock<std::mutex> lock(mu);
    if (wake.wait_for(lock, std::chrono::duration<double>(flags.interval), [&] { return stop; })) {
      return kExitOk;
    }
  }
}

}  // namespace

void add_monitor_command(CLI::App& app, CliContext& ctx, std::vector<Command>& out) {
  auto flags = std::make_shared<MonitorFlags>();
  CLI::App* cmd = app.add_subcommand(
      "monitor",
      "Watch nodes' health and raise the guide's alerts: node down, replication lag > 60 s, "
      "database growth > 10 %/day, memory counts that disagree");
  cmd->add_option("--node", flags->nodes,
                  "A node to watch, e.g. https://hub.local:8443 (repeatable; at most 64)")
      ->required();
  cmd->add_option("--interval", flags->interval,
                  "Seconds between polls (default 30); counts may disagree this long before "
                  "an alert")
      ->check(CLI::Range(1.0, 86400.0));
  cmd->add_option("--exec", flags->exec,
                  "Run this shell command per alert, with MCP_ALERT_KIND, MCP_ALERT_NODE, "
                  "MCP_ALERT_MESSAGE, MCP_ALERT_VALUE, MCP_ALERT_THRESHOLD, MCP_ALERT_TIME set "
                  "(repeatable; 30 s each)");
  cmd->add_option("--max-lag", flags->limits.max_lag_seconds,
                  "Replication lag, in seconds, above which a replica raises an alert (default "
                  "60, as the guide)")
      ->check(CLI::Range(0.0, 86400.0));
  cmd->add_option("--max-growth", flags->limits.max_growth_percent_per_day,
                  "Database growth, in % a day, above which a node raises an alert (default 10)")
      ->check(CLI::Range(0.0, 100000.0));
  cmd->add_flag("--once", flags->once,
                "Poll once and exit: 0 all ok, 1 an alert was raised (for cron)");
  cmd->add_option("--api-key-file", flags->key_file,
                  "File with the nodes' API key (else MCP_SYNC_API_KEY or MCP_API_KEY)")
      ->type_name("FILE");
  cmd->add_option("--hub-ca", flags->ca_file,
                  "Trust this certificate (a node's self-signed cert.pem; MCP_MEMORY_HUB_CA)")
      ->type_name("FILE");
  cmd->add_option("--history", flags->history,
                  "Where sizes and disagreements are remembered between polls and runs "
                  "(default $MCP_MEMORY_BASE_DIR/monitor-history.json)")
      ->type_name("FILE");
  cmd->add_flag("--no-history", flags->no_history,
                "Remember nothing (no growth alerts; counts alert at the first disagreement "
                "that lasts an --interval within this run)");
  out.push_back({cmd, [&ctx, flags] { return monitor_command(ctx, *flags); }});
}

}  // namespace mcpmem::cli
