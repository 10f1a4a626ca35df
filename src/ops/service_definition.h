// Service definitions for `mcp-memory service install`: a systemd unit (Linux), a launchd
// plist (macOS) or a Windows service (mcp-memory.exe is its own service program: `service run`
// answers the Service Control Manager), for the three roles of the sync
// guide: the hub (`serve --https --replicate`: the master database, served to spokes and
// replicated by Litestream), a read-only replica (`replica follow`), and a syncing node
// (`serve --http --hub-url`). Text only: the caller writes the files (ops stays free of where
// they go). Secrets never appear in a definition: systemd reads them from an EnvironmentFile
// (owner-only), launchd and Windows from files the server reads itself.
// Thread-safety: pure functions, safe from many threads.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace mcpmem {

enum class ServiceRole { kHub, kReplica, kSync };
enum class ServiceFormat { kSystemd, kLaunchd, kWindows };

struct ServiceSpec {
  ServiceRole role = ServiceRole::kSync;
  ServiceFormat format = ServiceFormat::kSystemd;
  bool system_wide = false;  // systemd system unit / LaunchDaemon; else the user's own
  std::string binary;        // absolute path of mcp-memory
  std::string base_dir;      // the data directory (MCP_MEMORY_BASE_DIR); the only writable path
  std::string db_path;       // the database (inside base_dir unless set elsewhere)
  std::string run_as;        // system-wide services: systemd User=, launchd UserName
  std::string env_file;      // systemd: EnvironmentFile= with the secrets and URLs
  std::vector<std::string> replica_dirs;  // hub: Litestream file replicas (writable too)
  std::string hub_url;                    // sync: literal URL (launchd, Windows); systemd: ${...}
  std::string replica_url;                // replica: literal URL (launchd, Windows)
  std::vector<std::string> env;           // Windows: more NAME=value for `service run --env`
};

struct ServiceDefinition {
  std::string name;         // "mcp-memory-hub"
  std::string description;  // "mcp-memory hub (HTTPS for spokes, Litestream replication)"
  std::string file_name;    // "mcp-memory-hub.service", "io.mcp-memory.hub.plist", "" (Windows)
  std::string text;         // the unit, the plist, or the sc.exe commands that register it
  // Windows: the service's command line (binary, `service run <name>`, its environment, then
  // the role's command), for the Service Control Manager.
  std::vector<std::string> service_argv;
  // The environment file a systemd unit reads (a template with every variable the role
  // uses, commented); "" for other formats.
  std::string env_template;
  std::vector<std::string> next_steps;  // the commands that enable and start it
};

// "hub", "replica", "sync".
std::string service_role_name(ServiceRole role);

// The definition for `spec`. InvalidArgument when something it needs is missing: a binary or
// data directory that is not absolute, a launchd or Windows sync node without hub_url, a
// replica without replica_url there, or a path with a character the format cannot hold.
Result<ServiceDefinition> make_service_definition(const ServiceSpec& spec);

}  // namespace mcpmem
