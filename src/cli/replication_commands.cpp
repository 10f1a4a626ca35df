// `mcp-memory replicate` and `mcp-memory replication config`: Litestream (the guide's Phase 2)
// driven by us. `replicate` runs `litestream replicate` as a supervised child until Ctrl+C or
// SIGTERM, from the guide's litestream.yml (checked strictly first) or from a configuration
// made for this database (--replica); `replication config` prints that configuration for
// people who run Litestream as its own service. `serve --replicate` uses start_replication().
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>

#include "cli/cli_context.h"
#include "platform/durable_file.h"
#include "platform/secret_file.h"
#include "platform/shutdown_signal.h"
#include "replication/litestream.h"
#include "replication/litestream_config.h"
#include "replication/replica_fence.h"

namespace mcpmem::cli {
namespace {

namespace fs = std::filesystem;

Result<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::not_found("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Writes `text` to `path` readable by the owner only (a configuration may hold credentials),
// whole or not at all.
Status write_private(const std::string& path, const std::string& text) {
  const std::string partial = temporary_path_beside(path);
  MCP_RETURN_IF_ERROR(create_secret_file(partial, text));
  Status placed = replace_file(partial, path);
  if (!placed.is_ok()) {
    std::error_code ec;
    fs::remove(partial, ec);
  }
  return placed;
}

// The configuration the flags name: the file, checked, or one made for this database.
Result<LitestreamConfig> chosen_config(const Config& config, const ReplicationFlags& flags) {
  if (!flags.config_file.empty() && !flags.replicas.empty()) {
    return Status::invalid_argument("give --config or --replica, not both");
  }
  if (!flags.config_file.empty()) {
    MCP_ASSIGN_OR_RETURN(auto text, read_text(flags.config_file));
    MCP_ASSIGN_OR_RETURN(auto parsed, parse_litestream_config(text, flags.config_file));
    const fs::path ours = fs::weakly_canonical(config.db_path);
    bool replicates_ours = false;
    for (const LitestreamDb& db : parsed.dbs) {
      replicates_ours = replicates_ours || fs::weakly_canonical(db.path) == ours;
    }
    if (!replicates_ours) {
      parsed.warnings.push_back(flags.config_file +
                                " does not replicate this machine's database (" + ours.string() +
                                ")");
    }
    return parsed;
  }
  if (flags.replicas.empty()) {
    return Status::invalid_argument(
        "name where to replicate: --replica DIR|s3://...|sftp://... or --config litestream.yml");
  }
  return litestream_config_for(config.db_path, flags.replicas, flags.sync_interval);
}

void print_warnings(const LitestreamConfig& config) {
  for (const std::string& w : config.warnings) spdlog::warn("{}", w);
}

int replicate_command(CliContext& ctx, const ReplicationFlags& flags) {
  // Signals first: every thread made after this inherits the blocked mask.
  std::mutex mu;
  std::condition_variable stopped;
  bool stop = false;
  ShutdownSignal on_signal([&](int) {
    std::lock_guard<std::mutex> lock(mu);
    stop = true;
    stopped.notify_all();
  });
  auto replication = start_replication(ctx.config, flags);
  if (!replication.is_ok()) return report_error(replication.status());
  std::fprintf(stderr, "mcp-memory: replicating until Ctrl+C or SIGTERM\n");
  LitestreamSupervisor& supervisor = *replication->supervisor;
  {
    std::unique_lock<std::mutex> lock(mu);
    while (!stopped.wait_for(lock, std::chrono::seconds(1), [&] { return stop; })) {
      if (supervisor.state().gave_up) break;
    }
  }
  if (const auto state = supervisor.state(); state.gave_up) {
    supervisor.stop();
    return report_error(Status::failed_precondition(state.last_error));
  }
  std::fprintf(stderr, "mcp-memory: stopping Litestream after its last sync\n");
  supervisor.stop();
  return kExitOk;
}

int config_command(CliContext& ctx, const ReplicationFlags& flags) {
  auto config = chosen_config(ctx.config, flags);
  if (!config.is_ok()) return report_error(config.status());
  print_warnings(*config);
  std::cout << litestream_config_yaml(*config);
  return kExitOk;
}

void add_flags(CLI::App* cmd, ReplicationFlags& flags) {
  cmd->add_option("--config", flags.config_file,
                  "A litestream.yml to use (checked strictly first), e.g. the guide's "
                  "/etc/litestream.yml")
      ->type_name("FILE");
  cmd->add_option("--replica", flags.replicas,
                  "Where to replicate this database: a directory, or file://, s3://, gcs://, "
                  "abs://, sftp:// URL (repeatable)")
      ->type_name("URL|DIR");
  cmd->add_option("--sync-interval", flags.sync_interval,
                  "How often Litestream ships new writes with --replica (default 1s)");
}

}  // namespace

Result<Replication> prepare_replication(const Config& config, const ReplicationFlags& flags,
                                        bool start) {
  Replication out;
  MCP_ASSIGN_OR_RETURN(out.config, chosen_config(config, flags));
  print_warnings(out.config);
  MCP_ASSIGN_OR_RETURN(out.binary, find_litestream(config));
  std::string path = flags.config_file;
  if (path.empty()) {
    path = generated_litestream_config_path(config);
    MCP_RETURN_IF_ERROR(write_private(path, litestream_config_yaml(out.config)));
  }
  out.config_path = fs::absolute(path).string();
  if (!start) return out;
  // The fence of every directory replica of our database: claimed, or checked to be ours.
  const std::string owner = fence_owner_name(config.host_name, config.db_path);
  const fs::path ours = fs::weakly_canonical(config.db_path);
  std::vector<std::string> fenced;
  for (const LitestreamDb& db : out.config.dbs) {
    if (fs::weakly_canonical(db.path) != ours) continue;
    for (const LitestreamReplica& r : db.replicas) {
      if (const std::string dir = replica_directory(r); !dir.empty()) {
        fenced.push_back(dir);
      } else {
        spdlog::warn(
            "replica {} has no fence (only directory replicas carry one): make sure no "
            "other database replicates into it",
            r.url);
      }
    }
  }
  auto guard = [fenced, owner]() -> Status {
    for (const std::string& dir : fenced) MCP_RETURN_IF_ERROR(claim_or_check_fence(dir, owner));
    return Status::ok();
  };
  out.supervisor = std::make_unique<LitestreamSupervisor>(out.binary, out.config_path, guard);
  MCP_RETURN_IF_ERROR(out.supervisor->start());
  return out;
}

void add_replication_commands(CLI::App& app, CliContext& ctx, std::vector<Command>& out) {
  auto flags = std::make_shared<ReplicationFlags>();
  CLI::App* replicate = app.add_subcommand(
      "replicate", "Replicate the database with Litestream until stopped (the guide's Phase 2)");
  add_flags(replicate, *flags);
  out.push_back({replicate, [&ctx, flags] { return replicate_command(ctx, *flags); }});

  CLI::App* replication = app.add_subcommand("replication", "Litestream configuration");
  replication->require_subcommand(1);
  auto config_flags = std::make_shared<ReplicationFlags>();
  CLI::App* config = replication->add_subcommand(
      "config",
      "Print the litestream.yml for this database (--replica), or check one (--config) and "
      "print it as Litestream will read it");
  auto print = std::make_shared<bool>(true);
  config->add_flag("--print", *print, "Print it (the default; nothing else is done with it)");
  add_flags(config, *config_flags);
  out.push_back(
      {config, [&ctx, config_flags, print] { return config_command(ctx, *config_flags); }});
}

}  // namespace mcpmem::cli
