// CliContext: what every command of the `mcp-memory` binary shares: the merged Config
// (defaults, environment, then global flags), the output mode, and how a command reports its
// outcome. Commands return an exit code: 0 ok, 1 operational error, 2 usage error; errors are
// one line on stderr ("error: what failed: why").
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/status.h"
#include "replication/litestream.h"
#include "replication/litestream_config.h"
#include "service/memory_service.h"
#include "sync/sync_client.h"

namespace mcpmem::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;
inline constexpr int kExitUsage = 2;
// `store` stored nothing because the memory is already there (exact or semantic duplicate):
// not an error, but scripts need to tell it from a store.
inline constexpr int kExitDuplicate = 3;

struct CliContext {
  Config config;
  std::string db_path_flag;  // --db-path; overrides the environment when set
  bool json = false;         // --json: machine-readable output on stdout
  bool verbose = false;

  // Opens the service on the configured database (flags applied).
  Result<std::unique_ptr<MemoryService>> open_service();
};

// A registered command: its CLI11 subcommand and what runs when it was chosen.
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

// The whole command line: main() calls it, and `service run` for the command it runs.
int run(int argc, char** argv);
// `service run ...`: the arguments after "run" (service_command.cpp).
int run_service_command(const std::vector<std::string>& args);

// Print "error: <message>" to stderr and return kExitError / kExitUsage.
int report_error(const Status& status);
int usage_error(const std::string& message);

// The hub a spoke syncs with: the flags, else the config's hub_url, hub_ca_file and
// hub_api_key (MCP_MEMORY_HUB_URL, MCP_MEMORY_HUB_CA, MCP_SYNC_API_KEY or MCP_API_KEY); the key
// comes from key_file when given. Used by `sync` and `serve --hub-url`.
struct HubFlags {
  std::string url, ca_file, key_file;
};
Result<SyncClientOptions> hub_client_options(const HubFlags& flags, const Config& config);

// Litestream beside us (`replicate`, `serve --replicate`): a litestream.yml, or replicas for
// which one is made (<base_dir>/litestream.yml).
struct ReplicationFlags {
  std::string config_file;
  std::vector<std::string> replicas;
  std::string sync_interval = "1s";
};
// Litestream as the flags configure it: the checked configuration, the file Litestream reads,
// the binary, and the supervisor once started.
struct Replication {
  std::string binary;
  std::string config_path;
  LitestreamConfig config;
  std::unique_ptr<LitestreamSupervisor> supervisor;
};
// Checks the configuration and finds Litestream (writing the generated configuration for
// --replica); with `start`, also claims or checks each directory replica's fence
// (replication/replica_fence.h) and starts Litestream under supervision, guarded by the fence.
Result<Replication> prepare_replication(const Config& config, const ReplicationFlags& flags,
                                        bool start);
inline Result<Replication> start_replication(const Config& config, const ReplicationFlags& flags) {
  return prepare_replication(config, flags, /*start=*/true);
}

void add_memory_commands(CLI::App& app, CliContext& ctx, std::vector<Command>& out);
void add_serve_command(CLI::App& app, CliContext& ctx, std::vector<Command>& out);
void add_file_sync_commands(CLI::App& app, CliContext& ctx, std::vector<Command>& out);
void add_sync_command(CLI::App& app, CliContext& ctx, std::vector<Command>& out);
void add_model_commands(CLI::App& app, CliContext& ctx, std::vector<Command>& out);
void add_replication_commands(CLI::App& app, CliContext& ctx, std::vector<Command>& out);
void add_backup_command(CLI::App& app, CliContext& ctx, std::vector<Command>& out);
void add_restore_command(CLI::App& app, CliContext& ctx, std::vector<Command>& out);
void add_replica_commands(CLI::App& app, CliContext& ctx, std::vector<Command>& out);
void add_monitor_command(CLI::App& app, CliContext& ctx, std::vector<Command>& out);
void add_service_command(CLI::App& app, CliContext& ctx, std::vector<Command>& out);
void add_doctor_command(CLI::App& app, CliContext& ctx, std::vector<Command>& out);
void add_index_commands(CLI::App& app, CliContext& ctx, std::vector<Command>& out);
// `replica follow`, added to the `replica` parent command that main() makes.
void add_replica_follow_command(CLI::App& replica, CliContext& ctx, std::vector<Command>& out);

}  // namespace mcpmem::cli
