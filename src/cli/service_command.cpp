// `mcp-memory service install`: writes the service definition of one role (ops/
// service_definition.h) where the service manager looks for it, with an owner-only
// environment file for its secrets, and prints the commands that enable and start it. On
// Windows it registers the service with the Service Control Manager instead, and
// `service run` is what that manager starts. --dry-run prints everything and writes nothing;
// --windows elsewhere only prints (the sc.exe commands to run there).
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/cli_context.h"
#include "core/memory.h"
#include "ops/service_definition.h"
#include "platform/child_process.h"
#include "platform/durable_file.h"
#include "platform/file_modes.h"
#include "platform/secret_file.h"
#include "platform/system_service.h"
#include "platform/windows_command_line.h"

namespace mcpmem::cli {
namespace {

namespace fs = std::filesystem;

inline constexpr const char* kSystemDataDir = "/var/lib/mcp-memory";
inline constexpr const char* kLaunchdSystemDataDir = "/Library/Application Support/mcp-memory";
inline constexpr const char* kSystemAccount = "mcp-memory";

struct ServiceFlags {
  bool hub = false, replica = false, sync = false;
  bool dry_run = false;
  bool system = false, user = false;
  bool launchd = false, windows = false;
  std::string unit_dir, env_file, data_dir, binary, run_as, hub_url, replica_url;
  std::vector<std::string> replica_dirs;
  std::vector<std::string> env;
};

struct RunFlags {
  std::string name;
  std::string log;                   // where the log and errors go (a service has no stderr)
  std::vector<std::string> env;      // NAME=value, set before the command runs
  std::vector<std::string> command;  // after NAME, --env and --: the role's command line
};

// `service run NAME --env K=V ... -- serve ...`: what the Windows Service Control Manager
// starts. The environment first (a service gets the system's, not its installer's), then the
// command, in this process, as the service NAME.
int run_command(const RunFlags& f) {
  for (const std::string& e : f.env) {
    const size_t eq = e.find('=');
    if (eq == std::string::npos || eq == 0) return usage_error("--env wants NAME=value: " + e);
    set_environment(e.substr(0, eq), e.substr(eq + 1));
  }
  // A service starts without standard streams: Windows' C runtime gives its stderr no
  // descriptor, and freopen() cannot reopen it. The log is a file of its own, and the logger
  // (which run() finds registered, flushing each line) and std::cerr (unit-buffered) write there.
  std::ofstream log;
  std::streambuf* const cerr_before = std::cerr.rdbuf();
  struct Restore {
    std::streambuf* cerr_before;
    ~Restore() {  // before the log closes: nothing may write to it after
      std::cerr.rdbuf(cerr_before);
      spdlog::set_default_logger(std::make_shared<spdlog::logger>("mcp-memory"));  // no sinks
    }
  } restore{cerr_before};
  if (!f.log.empty()) {
    log.open(f.log, std::ios::app | std::ios::binary);
    if (!log) return report_error(Status::io_error("cannot open the log " + f.log));
    std::cerr.rdbuf(log.rdbuf());
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log, /*force_flush=*/true);
    spdlog::register_logger(std::make_shared<spdlog::logger>("mcp-memory", std::move(sink)));
  }
  std::vector<std::string> args = {"mcp-memory"};
  args.insert(args.end(), f.command.begin(), f.command.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  auto code =
      run_as_service(f.name, [&] { return run(static_cast<int>(args.size()), argv.data()); });
  if (!code.is_ok()) return report_error(code.status());
  return *code;
}

int uninstall_command(const ServiceFlags& f) {
  const std::string role = f.hub ? "hub" : f.replica ? "replica" : "sync";
  if (Status st = unregister_service("mcp-memory-" + role); !st.is_ok()) return report_error(st);
  std::cout << "removed the Windows service mcp-memory-" << role << "\n";
  return kExitOk;
}

Result<ServiceSpec> spec_from(const CliContext& ctx, const ServiceFlags& f) {
  if (f.hub + f.replica + f.sync > 1) {
    return Status::invalid_argument("give one role: --hub, --replica or --sync");
  }
  if (f.system && f.user) return Status::invalid_argument("give --system or --user, not both");
  if (f.launchd && f.windows) {
    return Status::invalid_argument("give --launchd or --windows, not both");
  }
  ServiceSpec s;
  s.role = f.hub ? ServiceRole::kHub : f.replica ? ServiceRole::kReplica : ServiceRole::kSync;
  s.format = f.launchd                             ? ServiceFormat::kLaunchd
             : f.windows || kWindowsServiceManager ? ServiceFormat::kWindows
                                                   : ServiceFormat::kSystemd;
  s.system_wide = f.system;
  s.binary = f.binary.empty() ? executable_path() : f.binary;
  if (s.binary.empty())
    return Status::invalid_argument("cannot tell where mcp-memory is: give --binary");
  // A system service keeps its data in its own directory, owned by its own account; a user
  // service uses the user's (MCP_MEMORY_BASE_DIR and --db-path honoured).
  if (!f.data_dir.empty()) {
    s.base_dir = f.data_dir;
  } else {
    s.base_dir = !f.system   ? ctx.config.base_dir
                 : f.launchd ? kLaunchdSystemDataDir
                             : kSystemDataDir;
  }
  const bool own_db = !ctx.db_path_flag.empty() || (f.data_dir.empty() && !f.system);
  s.db_path = own_db ? ctx.config.db_path : s.base_dir + "/sqlite_vec.db";
  s.run_as = f.run_as.empty() ? kSystemAccount : f.run_as;
  s.hub_url = f.hub_url;
  s.replica_url = f.replica_url;
  s.replica_dirs = f.replica_dirs;
  if (!f.env.empty() && s.format != ServiceFormat::kWindows) {
    return Status::invalid_argument("--env is for Windows services; a systemd unit reads " +
                                    std::string("its environment file (--env-file)"));
  }
  s.env = f.env;
  if (s.role == ServiceRole::kHub && s.replica_dirs.empty()) {
    s.replica_dirs.push_back(s.base_dir + "/litestream/mcp-memory");
  }
  const std::string name = "mcp-memory-" + service_role_name(s.role);
  if (!f.env_file.empty()) {
    s.env_file = f.env_file;
  } else if (f.system) {
    s.env_file = "/etc/mcp-memory/" + name + ".env";
  } else if (!ctx.config.home_dir.empty()) {
    s.env_file = ctx.config.home_dir + "/.config/mcp-memory/" + name + ".env";
  } else {
    return Status::invalid_argument("HOME is not set: give --env-file");
  }
  return s;
}

Result<std::string> unit_directory(const CliContext& ctx, const ServiceFlags& f) {
  if (!f.unit_dir.empty()) return f.unit_dir;
  if (f.launchd) {
    if (f.system) return std::string("/Library/LaunchDaemons");
  } else if (f.system) {
    return std::string("/etc/systemd/system");
  }
  if (ctx.config.home_dir.empty())
    return Status::invalid_argument("HOME is not set: give --unit-dir");
  return ctx.config.home_dir + (f.launchd ? "/Library/LaunchAgents" : "/.config/systemd/user");
}

// Writes `text` to `path` whole or not at all, owner-only.
Status write_file(const std::string& path, const std::string& text) {
  MCP_RETURN_IF_ERROR(create_private_directories(fs::path(path).parent_path().string()));
  const std::string partial = temporary_path_beside(path);
  MCP_RETURN_IF_ERROR(create_secret_file(partial, text));
  Status placed = replace_file(partial, path);
  if (!placed.is_ok()) {
    std::error_code ec;
    fs::remove(partial, ec);
  }
  return placed.with_context("writing " + path);
}

int install_command(CliContext& ctx, const ServiceFlags& f) {
  auto spec = spec_from(ctx, f);
  if (!spec.is_ok()) return usage_error(spec.status().message());
  auto def = make_service_definition(*spec);
  if (!def.is_ok()) return usage_error(def.status().message());
  const bool windows = spec->format == ServiceFormat::kWindows;
  std::string unit_path, env_path;
  if (!windows) {
    auto dir = unit_directory(ctx, f);
    if (!dir.is_ok()) return usage_error(dir.status().message());
    unit_path = (fs::path(*dir) / def->file_name).string();
  }
  if (!def->env_template.empty()) env_path = spec->env_file;
  std::vector<std::string> steps;
  if (spec->system_wide && spec->format == ServiceFormat::kSystemd) {
    steps.push_back("sudo useradd --system --home-dir " + spec->base_dir +
                    " --shell /usr/sbin/nologin " + spec->run_as + "   # once");
    steps.push_back("sudo install -d -m 0700 -o " + spec->run_as + " " + spec->base_dir);
  }
  for (const std::string& s : def->next_steps) {
    std::string step = s;
    if (auto at = step.find("<plist path>"); at != std::string::npos)
      step.replace(at, 12, unit_path);
    steps.push_back(step);
  }

  bool env_kept = false;
  // --windows on another system prints what to run there.
  const bool write = !f.dry_run && (!windows || kWindowsServiceManager);
  if (write && windows) {
    Status registered =
        register_service({def->name, def->description, def->description, def->service_argv});
    if (!registered.is_ok()) return report_error(registered);
  } else if (write) {
    if (Status st = write_file(unit_path, def->text); !st.is_ok()) return report_error(st);
    if (!env_path.empty()) {
      Status made = create_private_directories(fs::path(env_path).parent_path().string());
      if (made.is_ok()) made = create_secret_file(env_path, def->env_template);
      if (made.code() == StatusCode::kAlreadyExists) {
        env_kept = true;  // it holds the user's secrets: never overwritten
      } else if (!made.is_ok()) {
        return report_error(made.with_context("writing " + env_path));
      }
    }
    if (!spec->system_wide) {
      if (Status st = create_private_directories(spec->base_dir); !st.is_ok()) {
        return report_error(st);
      }
    }
  }
  if (ctx.json) {
    Json j = {{"role", service_role_name(spec->role)},
              {"written", write},
              {"path", unit_path},
              {"definition", def->text},
              {"env_path", env_path},
              {"env_template", def->env_template},
              {"env_kept", env_kept},
              {"next_steps", steps},
              {"service_argv", def->service_argv}};
    std::cout << j.dump(2) << "\n";
    return kExitOk;
  }
  if (!write) {
    if (!unit_path.empty()) std::cout << "# " << unit_path << "\n";
    std::cout << def->text;
    if (!env_path.empty()) std::cout << "\n# " << env_path << " (mode 0600)\n" << def->env_template;
  } else if (windows) {
    std::cout << "registered the Windows service " << def->name << " (automatic start, restarts "
              << "after a failure): " << windows_command_line(def->service_argv) << "\n";
  } else {
    std::cout << "wrote " << unit_path << "\n";
    if (!env_path.empty()) {
      std::cout << (env_kept ? "kept " : "wrote ") << env_path
                << (env_kept ? " (it exists; not overwritten)" : " (mode 0600): fill it in")
                << "\n";
    }
  }
  std::cout << "\n" << (write ? "then run:" : "to install, run:") << "\n";
  for (const std::string& s : steps) std::cout << "  " << s << "\n";
  return kExitOk;
}

}  // namespace

int run_service_command(const std::vector<std::string>& args) {
  RunFlags f;
  size_t i = 0;
  for (; i < args.size() && f.name.empty(); ++i) {
    if (args[i] == "--log" && i + 1 < args.size()) {
      f.log = args[++i];
    } else if (args[i] == "--env" && i + 1 < args.size()) {
      f.env.push_back(args[++i]);
    } else if (args[i].rfind("--", 0) == 0) {
      return usage_error("service run: unknown option " + args[i]);
    } else {
      f.name = args[i];
    }
  }
  if (i < args.size() && args[i] == "--") ++i;
  f.command.assign(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
  if (f.name.empty() || f.command.empty()) {
    return usage_error("usage: service run [--log FILE] [--env NAME=value]... NAME -- COMMAND...");
  }
  return run_command(f);
}

void add_service_command(CLI::App& app, CliContext& ctx, std::vector<Command>& out) {
  auto f = std::make_shared<ServiceFlags>();
  CLI::App* cmd = app.add_subcommand("service", "Run mcp-memory as a system service");
  cmd->require_subcommand(1);
  CLI::App* install = cmd->add_subcommand(
      "install",
      "Write a systemd unit (default on Linux), launchd plist (--launchd), or register a "
      "Windows service (on Windows; --windows elsewhere prints the sc.exe commands) for a hub, "
      "replica or syncing node, and print how to start it");
  install->add_flag("--hub", f->hub, "The hub: serve --https --replicate (Litestream)");
  install->add_flag("--replica", f->replica,
                    "A read-only replica: replica follow --from $MCP_MEMORY_REPLICA_URL");
  install->add_flag("--sync", f->sync,
                    "A node synced with a hub: serve --http --hub-url (the default)");
  install->add_flag("--dry-run", f->dry_run, "Print the files and commands, write nothing");
  install->add_flag("--system", f->system,
                    "A system service (runs as --run-as, data in /var/lib/mcp-memory)");
  install->add_flag("--user", f->user, "A service of the current user (the default)");
  install->add_flag("--launchd", f->launchd, "A macOS launchd plist instead of a systemd unit");
  install->add_flag("--windows", f->windows,
                    "Print the sc.exe commands that register the Windows service");
  install
      ->add_option("--unit-dir", f->unit_dir,
                   "Where to write the unit or plist (default: where the service manager "
                   "looks)")
      ->type_name("DIR");
  install
      ->add_option("--env-file", f->env_file,
                   "The systemd EnvironmentFile (default /etc/mcp-memory/<name>.env, or "
                   "~/.config/mcp-memory/<name>.env)")
      ->type_name("FILE");
  install
      ->add_option("--data-dir", f->data_dir,
                   "The service's data directory (default: yours, or /var/lib/mcp-memory "
                   "with --system)")
      ->type_name("DIR");
  install->add_option("--binary", f->binary, "The mcp-memory to run (default: this one)")
      ->type_name("FILE");
  install->add_option("--run-as", f->run_as, "The account of a --system service (mcp-memory)");
  install->add_option("--hub-url", f->hub_url, "The hub a --sync node syncs with");
  install->add_option("--env", f->env,
                      "Windows: NAME=value the service runs with (repeatable), e.g. "
                      "MCP_HTTP_PORT=8001 or MCP_MEMORY_HUB_CA=C:\\ca.pem");
  install->add_option("--replica-url", f->replica_url, "Where a --replica follows from");
  install
      ->add_option("--replica-dir", f->replica_dirs,
                   "A directory the --hub replicates to (repeatable; default "
                   "<data dir>/litestream/mcp-memory); the first one's parent is served at "
                   "/litestream/ for spokes to restore and follow")
      ->type_name("DIR");
  out.push_back({install, [&ctx, f] { return install_command(ctx, *f); }});

  auto uninstall_flags = std::make_shared<ServiceFlags>();
  CLI::App* uninstall = cmd->add_subcommand(
      "uninstall", "Windows: stop and remove the service of a role (--hub, --replica, --sync)");
  uninstall->add_flag("--hub", uninstall_flags->hub, "The hub's service");
  uninstall->add_flag("--replica", uninstall_flags->replica, "The replica's service");
  uninstall->add_flag("--sync", uninstall_flags->sync, "The syncing node's service (the default)");
  out.push_back({uninstall, [uninstall_flags] { return uninstall_command(*uninstall_flags); }});

  // Listed for --help; run() hands `service run ...` to run_service_command before CLI11 sees
  // it, since what follows NAME is another command line, which CLI11 would parse as ours.
  cmd->add_subcommand(
      "run",
      "What the Windows Service Control Manager starts (`service install` registers it): "
      "service run [--log FILE] [--env NAME=value]... NAME -- COMMAND...; from a console it "
      "runs COMMAND in the foreground");
}

}  // namespace mcpmem::cli
