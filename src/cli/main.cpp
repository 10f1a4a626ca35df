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

namespace {

// Every option of `app` that names a file or folder (type PATH, FILE, DIR or URL|DIR), as this
// build can open it: on Windows a path outside ASCII by its short name (platform/console.h).
void use_usable_paths(CLI::App& app) {
  for (CLI::Option* option : app.get_options()) {
    const std::string type = option->get_type_name();
    const std::string kind = type.substr(0, type.find(':'));  // ":..." = a check's description
    if (kind != "PATH" && kind != "FILE" && kind != "DIR" && kind != "URL|DIR") continue;
    option->transform([name = option->get_name()](std::string value) {
      if (value.find("://") != std::string::npos) return value;
      Result<std::string> usable = usable_path(name, value);
      if (!usable.is_ok()) throw CLI::ValidationError(usable.status().message());
      return *usable;
    });
  }
  for (CLI::App* command : app.get_subcommands({})) use_usable_paths(*command);
}

// The configuration's paths, as use_usable_paths does the options'.
Status use_usable_paths(Config& config) {
  const std::pair<const char*, std::string*> paths[] = {
      {"the data directory (MCP_MEMORY_BASE_DIR)", &config.base_dir},
      {"the database", &config.db_path},
      {"the backups folder (MCP_MEMORY_BACKUPS_PATH)", &config.backups_path},
      {"the models folder", &config.models_dir},
      {"the home folder", &config.home_dir},
      {"litestream (MCP_MEMORY_LITESTREAM)", &config.litestream},
      {"MCP_BACKUP_PASSPHRASE_FILE", &config.backup_passphrase_file},
      {"MCP_SSL_CERT_FILE", &config.ssl_cert_file},
      {"MCP_SSL_KEY_FILE", &config.ssl_key_file},
      {"MCP_MEMORY_HUB_CA", &config.hub_ca_file},
  };
  for (const auto& [what, path] : paths) {
    if (path->empty()) continue;
    MCP_ASSIGN_OR_RETURN(*path, usable_path(what, *path));
  }
  return Status::ok();
}

}  // namespace

int run(int argc, char** argv) {
  use_binary_standard_streams();
  // Before anything can create a file: the database, its -wal/-shm, backups, exports and keys
  // are the owner's alone (platform/file_modes.h).
  make_new_files_private();
  CliContext ctx;
  ctx.config = config_from_env(process_environment());

  CLI::App app{"mcp-memory: memory for AI agents, kept in step across your machines"};
  app.set_version_flag("--version", std::string("mcp-memory ") + kVersion);
  app.require_subcommand(1);
  app.fallthrough();  // global flags may also follow the command
  app.add_option("--db-path", ctx.db_path_flag,
                 "SQLite database (env MCP_MEMORY_SQLITE_PATH; default "
                 "$MCP_MEMORY_BASE_DIR/sqlite_vec.db)")
      ->type_name("PATH");
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
  use_usable_paths(app);

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

  if (Status usable = use_usable_paths(ctx.config); !usable.is_ok()) return report_error(usable);

  for (const Command& c : commands) {
    if (c.app->parsed()) return c.run();
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
