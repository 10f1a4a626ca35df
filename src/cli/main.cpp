// mcp-memory: the one binary. main() only wires the command families together, parses the
// command line (CLI11), and maps outcomes to exit codes: 0 ok, 1 operational error, 2 usage.
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <iostream>

#include "cli/cli_context.h"
#include "core/version.h"
#include "platform/console.h"
#include "platform/file_modes.h"

namespace mcpmem::cli {

Result<std::unique_ptr<MemoryService>> CliContext::open_service() {
  return MemoryService::open(config);
}

int report_error(const Status& status) {
  std::cerr << "error: " << status.message() << "\n";
  return kExitError;
}

int usage_error(const std::string& message) {
  std::cerr << "error: " << message << "\n";
  return kExitUsage;
}

int run(int argc, char** argv) {
  use_binary_standard_streams();
  // Before anything can create a file: the database, its -wal/-shm, backups, exports and keys
  // are the owner's alone (platform/file_modes.h).
  make_new_files_private();
  CliContext ctx;
  ctx.config = config_from_env();

  CLI::App app{"mcp-memory: memory for AI agents, kept in step across your machines"};
  app.set_version_flag("--version", std::string("mcp-memory ") + kVersion);
  app.require_subcommand(1);
  app.fallthrough();  // global flags may also follow the command
  app.add_option("--db-path", ctx.db_path_flag,
                 "SQLite database (env MCP_MEMORY_SQLITE_PATH; default "
                 "$MCP_MEMORY_BASE_DIR/sqlite_vec.db)");
  app.add_flag("--json", ctx.json, "Print machine-readable JSON");
  app.add_flag("--verbose,-v", ctx.verbose, "Log more on stderr");

  std::vector<Command> commands;
  add_memory_commands(app, ctx, commands);
  add_serve_command(app, ctx, commands);
  add_file_sync_commands(app, ctx, commands);
  add_sync_command(app, ctx, commands);
  add_model_commands(app, ctx, commands);
  add_replication_commands(app, ctx, commands);
  add_backup_command(app, ctx, commands);
  add_restore_command(app, ctx, commands);
  add_replica_commands(app, ctx, commands);
  add_monitor_command(app, ctx, commands);
  add_service_command(app, ctx, commands);
  add_doctor_command(app, ctx, commands);
  add_index_commands(app, ctx, commands);

  if (argc > 2 && std::string_view(argv[1]) == "service" && std::string_view(argv[2]) == "run") {
    return run_service_command(std::vector<std::string>(argv + 3, argv + argc));
  }
  // Name an unknown command plainly (CLI11 would only say that a command is required).
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--db-path") {
      ++i;
      continue;
    }
    if (arg.empty() || arg[0] == '-') continue;
    bool known = false;
    std::string names;
    for (const CLI::App* top : app.get_subcommands({})) {
      known = known || top->get_name() == arg;
      names += (names.empty() ? "" : ", ") + top->get_name();
    }
    if (!known) return usage_error("unknown command '" + arg + "' (commands: " + names + ")");
    break;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);  // prints help/version to stdout, errors to stderr
    return code == 0 ? kExitOk : kExitUsage;
  }
  auto logger = spdlog::get("mcp-memory");  // made already when `service run` runs a command
  if (!logger) logger = spdlog::stderr_logger_mt("mcp-memory");
  spdlog::set_default_logger(logger);
  spdlog::set_level(ctx.verbose ? spdlog::level::debug : spdlog::level::warn);
  if (!ctx.db_path_flag.empty()) ctx.config.db_path = ctx.db_path_flag;

  for (const Command& c : commands) {
    if (!c.app->parsed()) continue;
    for (Status usable : {check_path_encoding("the data directory", ctx.config.base_dir),
                          check_path_encoding("the database", ctx.config.db_path)}) {
      if (!usable.is_ok()) return report_error(usable);
    }
    return c.run();
  }
  return usage_error("no command given (try --help)");
}

}  // namespace mcpmem::cli

int main(int argc, char** argv) {
  try {
    std::vector<std::string> args = mcpmem::utf8_arguments(argc, argv);
    std::vector<char*> utf8_argv;
    for (std::string& a : args) utf8_argv.push_back(a.data());
    utf8_argv.push_back(nullptr);
    return mcpmem::cli::run(static_cast<int>(args.size()), utf8_argv.data());
  } catch (const std::exception& e) {
    // Third-party exceptions that escaped their edge: still one line and a non-zero exit.
    std::cerr << "error: " << e.what() << "\n";
    return mcpmem::cli::kExitError;
  }
}
