// `mcp-memory replica status` and `mcp-memory promote`: where Litestream's replicas stand, and
// the guide's "the master fails" case made one command. promote turns a followed copy (see
// `replica follow`) into the database that replicates: it stops the follower, takes the replica
// store's fence (replication/replica_fence.h, so the old hub refuses to replicate over it if it
// comes back), and has Litestream ship a new generation of this database before it returns.
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <thread>

#include "cli/cli_context.h"
#include "core/json_parse.h"
#include "core/time_format.h"
#include "platform/child_process.h"
#include "platform/shutdown_signal.h"
#include "replication/replica_fence.h"
#include "replication/replica_status.h"
#include "service/backup_restore.h"
#include "service/wire_json.h"
#include "storage/database.h"

namespace mcpmem::cli {
namespace {

namespace fs = std::filesystem;

constexpr auto kFollowerStopWait = std::chrono::seconds(30);
constexpr auto kFirstSnapshotWait = std::chrono::seconds(60);
constexpr auto kFenceSettle = std::chrono::seconds(3);

// The configuration `replica status` reads: --config, else the one `replicate --replica` made,
// else the guide's /etc/litestream.yml (C:\ProgramData\litestream\litestream.yml on Windows).
Result<std::string> status_config_path(const Config& config, const std::string& flag) {
  if (!flag.empty()) return flag;
  for (const std::string& p :
       {generated_litestream_config_path(config), system_litestream_config_path()}) {
    if (fs::exists(p)) return p;
  }
  return Status::not_found("no Litestream configuration: give --config litestream.yml (none at " +
                           generated_litestream_config_path(config) + " or " +
                           system_litestream_config_path() + ")");
}

std::string size_text(int64_t bytes) {
  char out[32];
  if (bytes >= 1 << 20) {
    std::snprintf(out, sizeof out, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  } else {
    std::snprintf(out, sizeof out, "%.1f KiB", static_cast<double>(bytes) / 1024);
  }
  return out;
}

int status_command(CliContext& ctx, const std::string& config_flag) {
  auto path = status_config_path(ctx.config, config_flag);
  if (!path.is_ok()) return report_error(path.status());
  ReplicationFlags from_file;
  from_file.config_file = *path;
  auto replication = prepare_replication(ctx.config, from_file, /*start=*/false);
  if (!replication.is_ok()) return report_error(replication.status());
  auto replicas = read_replica_status(replication->binary, replication->config_path,
                                      replication->config, unix_now());
  if (!replicas.is_ok()) return report_error(replicas.status());
  bool failed = false;
  if (ctx.json) {
    OJson all = OJson::array();
    for (const ReplicaStatus& s : *replicas) {
      failed = failed || !s.last_error.empty();
      all.push_back(
          OJson{{"db_path", s.db_path},
                {"name", s.name},
                {"where", s.where},
                {"generation", s.generation.empty() ? OJson(nullptr) : OJson(s.generation)},
                {"position", s.position.empty() ? OJson(nullptr) : OJson(s.position)},
                {"last_replicated_at",
                 s.last_replicated_at ? OJson(iso_utc(*s.last_replicated_at)) : OJson(nullptr)},
                {"lag_seconds", s.lag_seconds ? OJson(*s.lag_seconds) : OJson(nullptr)},
                {"size_bytes", s.size_bytes},
                {"generations", s.generations},
                {"snapshots", s.snapshots},
                {"wal_segments", s.wal_segments},
                {"last_error", s.last_error.empty() ? OJson(nullptr) : OJson(s.last_error)}});
    }
    std::cout << OJson{{"config_path", replication->config_path}, {"replicas", all}}.dump(2)
              << "\n";
    return failed ? kExitError : kExitOk;
  }
  std::cout << "Litestream configuration: " << replication->config_path << "\n";
  for (const ReplicaStatus& s : *replicas) {
    std::cout << "\n" << s.name << " -> " << s.where << "  (database " << s.db_path << ")\n";
    if (!s.last_error.empty()) {
      failed = true;
      std::cout << "  error:           " << s.last_error << "\n";
      continue;
    }
    if (s.generation.empty()) {
      std::cout << "  nothing replicated yet\n";
      continue;
    }
    std::cout << "  generation:      " << s.generation << " (" << s.generations << " in all)\n"
              << "  position:        " << (s.position.empty() ? "snapshot only" : s.position)
              << "\n"
              << "  last replicated: " << iso_utc(*s.last_replicated_at) << "\n";
    char lag[32];
    std::snprintf(lag, sizeof lag, "%.1f s", s.lag_seconds.value_or(0));
    std::cout << "  lag:             " << lag << "\n"
              << "  size:            " << size_text(s.size_bytes) << " in " << s.snapshots
              << " snapshot(s) and " << s.wal_segments << " WAL segment(s)\n";
  }
  return failed ? kExitError : kExitOk;
}

// ---- promote ----

struct PromoteFlags {
  std::string db;
  std::string replica;
  std::string sync_interval = "1s";
};

// What `replica follow` keeps beside the database while it runs (<db>.follow).
struct FollowState {
  std::string from;
  int pid = 0;
};

std::optional<FollowState> read_follow_state(const std::string& db) {
  std::ifstream in(db + ".follow", std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  auto j = parse_json(text.str().substr(0, 64 * 1024), db + ".follow");
  if (!j.is_ok() || !j->is_object()) return std::nullopt;
  FollowState state;
  if (j->contains("from") && (*j)["from"].is_string()) state.from = (*j)["from"].get<std::string>();
  if (j->contains("pid") && (*j)["pid"].is_number_integer()) state.pid = (*j)["pid"].get<int>();
  return state;
}

// Stops the follower of `db`, if one runs, and returns the replica it followed ("" if none).
Result<std::string> stop_follower(const std::string& db) {
  auto state = read_follow_state(db);
  if (!state) return std::string();
  if (process_exists(state->pid)) {
    std::fprintf(stderr, "mcp-memory: stopping the follower of %s (pid %d)\n", db.c_str(),
                 state->pid);
    request_shutdown(state->pid);
    const auto deadline = std::chrono::steady_clock::now() + kFollowerStopWait;
    while (process_exists(state->pid)) {
      if (std::chrono::steady_clock::now() > deadline) {
        return Status::failed_precondition("the follower of " + db + " (pid " +
                                           std::to_string(state->pid) +
                                           ") did not stop within 30 s; stop it, then promote");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  std::error_code ec;
  fs::remove(db + ".follow", ec);
  return state->from;
}

// A followed replica's directory: a path or a file:// URL ("" for what we cannot write a fence
// into, such as an https:// replica served by the old hub).
std::string directory_of(const std::string& from) {
  if (from.starts_with("file://")) return from.substr(7);
  if (from.find("://") != std::string::npos) return "";
  return from;
}

std::set<std::string> generations_in(const std::string& replica_dir) {
  std::set<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::path(replica_dir) / "generations", ec)) {
    out.insert(e.path().filename().string());
  }
  return out;
}

// A generation that was not in `before` and has a snapshot: what Litestream ships first.
std::string new_generation(const std::string& replica_dir, const std::set<std::string>& before) {
  for (const std::string& g : generations_in(replica_dir)) {
    if (before.contains(g)) continue;
    std::error_code ec;
    for (const auto& e :
         fs::directory_iterator(fs::path(replica_dir) / "generations" / g / "snapshots", ec)) {
      if (e.path().string().ends_with(".snapshot.lz4")) return g;
    }
  }
  return "";
}

int promote_command(CliContext& ctx, const PromoteFlags& flags) {
  Config config = ctx.config;
  config.db_path = fs::absolute(flags.db).lexically_normal().string();
  if (!fs::is_regular_file(config.db_path)) {
    return report_error(Status::not_found("no database at " + config.db_path));
  }
  auto followed = stop_follower(config.db_path);
  if (!followed.is_ok()) return report_error(followed.status());
  std::string replica = flags.replica.empty() ? directory_of(*followed) : flags.replica;
  if (replica.empty()) {
    return usage_error(
        followed->empty()
            ? "name the replica store this database takes over: --replica DIR"
            : "the followed replica " + *followed +
                  " cannot carry a fence (only a directory can); name the store this database "
                  "replicates to from now on: --replica DIR");
  }
  replica = fs::absolute(directory_of(replica)).lexically_normal().string();
  // Nobody else may write it; opening it as ours puts it back in WAL mode (a followed copy is
  // in rollback-journal mode) and migrates it.
  if (Status free = check_restore_target({config.db_path, /*force=*/true}); !free.is_ok()) {
    return report_error(free);
  }
  // Its own database now: the mark that let a follower replace it goes.
  if (Status own = Database::unmark_followed_copy(config.db_path); !own.is_ok()) {
    return report_error(own);
  }
  int64_t memories = 0;
  {
    auto service = MemoryService::open(config);
    if (!service.is_ok()) return report_error(service.status());
    auto stats = (*service)->stats();
    if (!stats.is_ok()) return report_error(stats.status());
    memories = stats->storage.total_memories;
  }
  const auto before = generations_in(replica);
  auto previous = take_over_fence(replica, fence_owner_name(config.host_name, config.db_path));
  if (!previous.is_ok()) return report_error(previous.status());
  // An old hub still running sees the fence within its guard interval (2 s) and stops; our new
  // generation starts after that, so it is the newest and the one every restore picks.
  std::this_thread::sleep_for(kFenceSettle);
  ReplicationFlags to_replica;
  to_replica.replicas = {replica};
  to_replica.sync_interval = flags.sync_interval;
  auto replication = start_replication(config, to_replica);
  if (!replication.is_ok()) return report_error(replication.status());
  std::string generation;
  const auto deadline = std::chrono::steady_clock::now() + kFirstSnapshotWait;
  while ((generation = new_generation(replica, before)).empty() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  replication->supervisor->stop();
  if (generation.empty()) {
    return report_error(Status::io_error(
        "Litestream shipped no snapshot of " + config.db_path + " to " + replica +
        " within 60 s; the store is fenced for this database: run mcp-memory replicate"));
  }
  if (ctx.json) {
    std::cout << OJson{{"success", true},
                       {"db_path", config.db_path},
                       {"memories", memories},
                       {"replica", replica},
                       {"generation", generation},
                       {"previous_owner", *previous},
                       {"followed", followed->empty() ? OJson(nullptr) : OJson(*followed)}}
                     .dump(2)
              << "\n";
    return kExitOk;
  }
  std::cout << "Promoted " << config.db_path << " (" << memories
            << (memories == 1 ? " memory" : " memories") << ") to the database that replicates to "
            << replica << ", generation " << generation << ".\n";
  if (!previous->empty()) {
    std::cout << "The store belonged to " << *previous
              << "; that database now refuses to replicate over it.\n";
  }
  std::cout << "Serve it as the hub:\n  mcp-memory --db-path " << config.db_path
            << " serve --https --replicate --replica " << replica << "\n";
  return kExitOk;
}

}  // namespace

void add_replica_commands(CLI::App& app, CliContext& ctx, std::vector<Command>& out) {
  CLI::App* replica = app.add_subcommand(
      "replica", "Litestream replicas: where they stand; read-only copies kept current");
  replica->require_subcommand(1);
  add_replica_follow_command(*replica, ctx, out);
  auto config_flag = std::make_shared<std::string>();
  CLI::App* status = replica->add_subcommand(
      "status",
      "Where each replica stands: generation, last position shipped and when, lag, size, last "
      "error (exit 1 when a replica cannot be read)");
  status
      ->add_option("--config", *config_flag,
                   "The litestream.yml (default: the one `replicate --replica` wrote, else "
                   "/etc/litestream.yml, on Windows C:\\ProgramData\\litestream\\litestream.yml)")
      ->type_name("FILE");
  out.push_back({status, [&ctx, config_flag] { return status_command(ctx, *config_flag); }});

  auto flags = std::make_shared<PromoteFlags>();
  CLI::App* promote = app.add_subcommand(
      "promote",
      "Make this database the one that replicates (the guide's 'master fails' case): stops "
      "`replica follow` on it, takes the replica store's fence so the old hub refuses to "
      "replicate over it, and ships a new generation");
  promote->add_option("--db", flags->db, "The followed copy to promote")
      ->required()
      ->type_name("PATH");
  promote
      ->add_option("--replica", flags->replica,
                   "The replica store (a directory) it replicates to from now on (default: "
                   "the one it followed)")
      ->type_name("DIR");
  promote->add_option("--sync-interval", flags->sync_interval,
                      "How often Litestream ships new writes (default 1s)");
  out.push_back({promote, [&ctx, flags] { return promote_command(ctx, *flags); }});
}

}  // namespace mcpmem::cli
