// `mcp-memory replica follow`: keeps a read-only copy of a hub's database current from its
// Litestream replica, a directory or the hub's https://HUB/litestream/<name>
// (replication/replica_follow.h has the rounds and why readers never see a torn file). One
// line per round on stderr, or one JSON object per round on stdout with --json. SIGTERM or
// Ctrl+C ends it after the round in progress (exit 0); the state file <db>.follow exists
// exactly while it runs.
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <mutex>

#include "cli/cli_context.h"
#include "core/time_format.h"
#include "platform/child_process.h"
#include "platform/shutdown_signal.h"
#include "replication/litestream.h"
#include "replication/replica_follow.h"
#include "service/wire_json.h"
#include "storage/database.h"

namespace mcpmem::cli {
namespace {

namespace fs = std::filesystem;

struct FollowFlags {
  std::string from;
  std::string db;
  std::string interval = "10s";
  bool once = false;
  std::string hub_ca;
  std::string api_key_file;
  std::string cache;
};

// "10s", "500ms", "2m", "1h", or plain seconds; between 0.1 s and a day.
Result<std::chrono::milliseconds> parse_interval(const std::string& text) {
  size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  const std::string unit = text.substr(used);
  double scale = 0;
  if (used == 0)
    scale = 0;
  else if (unit.empty() || unit == "s")
    scale = 1000;
  else if (unit == "ms")
    scale = 1;
  else if (unit == "m")
    scale = 60'000;
  else if (unit == "h")
    scale = 3'600'000;
  const double ms = value * scale;
  if (scale == 0 || !(ms >= 100 && ms <= 86'400'000)) {
    return Status::invalid_argument("--interval " + text +
                                    ": give a duration from 100ms to 24h, e.g. 10s or 1m");
  }
  return std::chrono::milliseconds(static_cast<int64_t>(ms));
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

OJson optional_time(const std::optional<double>& t) {
  return t ? OJson(iso_utc(*t)) : OJson(nullptr);
}

void report_round(const CliContext& ctx, const FollowRound& r) {
  if (ctx.json) {
    std::cout << OJson{{"event", "round"},
                       {"at", iso_utc(now_seconds())},
                       {"changed", r.changed},
                       {"memories", r.memories},
                       {"newest_memory_at", optional_time(r.newest_memory_at)},
                       {"newest_replica_file", r.newest_replica_file},
                       {"newest_replica_file_at", optional_time(r.newest_replica_file_at)},
                       {"lag_seconds", r.lag_seconds ? OJson(*r.lag_seconds) : OJson(nullptr)},
                       {"files_fetched", r.files_fetched},
                       {"bytes_fetched", r.bytes_fetched},
                       {"files_removed", r.files_removed}}
                     .dump()
              << std::endl;
    return;
  }
  std::string line = r.changed ? "restored " : "unchanged, ";
  line += std::to_string(r.memories) + (r.memories == 1 ? " memory" : " memories");
  if (r.newest_memory_at) line += " (newest created " + iso_utc(*r.newest_memory_at) + ")";
  if (r.lag_seconds) {
    char lag[64];
    std::snprintf(lag, sizeof lag, ", lag %.1f s", *r.lag_seconds);
    line += lag;
  }
  if (r.files_fetched > 0) {
    line += ", fetched " + std::to_string(r.files_fetched) + " files (" +
            std::to_string(r.bytes_fetched) + " bytes)";
  }
  std::fprintf(stderr, "mcp-memory: follow: %s\n", line.c_str());
}

void report_failed_round(const CliContext& ctx, const Status& st) {
  if (ctx.json) {
    std::cout
        << OJson{{"event", "error"}, {"at", iso_utc(now_seconds())}, {"error", st.message()}}.dump()
        << std::endl;
  }
  std::fprintf(stderr, "error: follow round failed: %s\n", st.message().c_str());
}

Result<FollowOptions> follow_options(const CliContext& ctx, const FollowFlags& flags) {
  FollowOptions o;
  o.db_path = fs::absolute(flags.db).lexically_normal().string();
  o.cache_dir = flags.cache;
  if (is_remote_replica(flags.from)) {
    o.from = flags.from;
    MCP_ASSIGN_OR_RETURN(
        auto hub, hub_client_options({flags.from, flags.hub_ca, flags.api_key_file}, ctx.config));
    o.mirror.ca_file = hub.ca_file;
    o.mirror.api_key = hub.api_key;
  } else {
    if (!flags.cache.empty()) return Status::invalid_argument("--cache is for https:// sources");
    o.from = fs::absolute(flags.from).lexically_normal().string();
  }
  MCP_ASSIGN_OR_RETURN(o.litestream, find_litestream(ctx.config));
  return o;
}

struct StopFlag {
  std::mutex mu;
  std::condition_variable wake;
  bool stop = false;
};

int follow_command(CliContext& ctx, const FollowFlags& flags) {
  auto interval = parse_interval(flags.interval);
  if (!interval.is_ok()) return usage_error(interval.status().message());
  // Signals first: every thread made after this inherits the blocked mask.
  StopFlag stop;
  ShutdownSignal on_signal([&stop](int) {
    std::lock_guard lock(stop.mu);
    stop.stop = true;
    stop.wake.notify_all();
  });
  auto options = follow_options(ctx, flags);
  if (!options.is_ok()) return report_error(options.status());
  const std::string& db = options->db_path;
  if (std::error_code ec; fs::exists(db, ec)) {
    auto in_use = Database::file_in_use(db);
    if (in_use.is_ok() && *in_use) {
      return report_error(Status::failed_precondition(
          "cannot follow onto " + db +
          ": a process writes it (it has a -wal beside it); a followed copy is read-only, so "
          "stop that process or pick another --db"));
    }
  }
  ReplicaFollower follower(*options);
  FollowState state{options->from, current_process_id(), iso_utc(now_seconds()),
                    is_remote_replica(options->from) ? follower.options().cache_dir : ""};
  if (Status st = write_follow_state(db, state); !st.is_ok()) return report_error(st);
  if (!flags.once) {
    std::fprintf(stderr, "mcp-memory: following %s onto %s every %.1f s (state in %s)\n",
                 options->from.c_str(), db.c_str(), interval->count() / 1000.0,
                 follow_state_path(db).c_str());
  }
  int exit_code = kExitOk;
  for (;;) {
    auto round = follower.run_round();
    if (round.is_ok()) {
      report_round(ctx, *round);
    } else if (flags.once) {
      exit_code = report_error(round.status());
    } else {
      report_failed_round(ctx, round.status());
    }
    if (flags.once) break;
    std::unique_lock lock(stop.mu);
    if (stop.wake.wait_for(lock, *interval, [&stop] { return stop.stop; })) break;
  }
  remove_follow_state(db);
  return exit_code;
}

}  // namespace

void add_replica_follow_command(CLI::App& replica, CliContext& ctx, std::vector<Command>& out) {
  auto flags = std::make_shared<FollowFlags>();
  CLI::App* cmd = replica.add_subcommand(
      "follow",
      "Keep a read-only copy of a hub's database current from its Litestream replica: restore, "
      "check, and swap it in atomically every --interval");
  cmd->add_option("--from", flags->from,
                  "The replica: https://HUB:8443/litestream/mcp-memory (served by `serve "
                  "--replica-dir`) or a replica directory")
      ->required()
      ->type_name("URL|DIR");
  cmd->add_option("--db", flags->db, "The copy to keep current (replaced each round)")
      ->required()
      ->type_name("PATH");
  cmd->add_option("--interval", flags->interval, "Time between rounds (default 10s)");
  cmd->add_flag("--once", flags->once, "One round, then exit (1 when it failed)");
  cmd->add_option("--hub-ca", flags->hub_ca,
                  "Trust this certificate for the hub (its self-signed cert.pem; "
                  "MCP_MEMORY_HUB_CA)")
      ->type_name("FILE");
  cmd->add_option("--api-key-file", flags->api_key_file,
                  "File with the hub's API key (else MCP_SYNC_API_KEY or MCP_API_KEY)")
      ->type_name("FILE");
  cmd->add_option("--cache", flags->cache,
                  "Where an https:// replica is mirrored (default <db>.mirror)")
      ->type_name("DIR");
  out.push_back({cmd, [&ctx, flags]() -> int { return follow_command(ctx, *flags); }});
}

}  // namespace mcpmem::cli
