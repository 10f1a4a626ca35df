// The three formats of service_definition.h. Each role's command line is decided once
// (role_arguments) and written in each format's own quoting. systemd gets the hardening the
// unit can afford: the data directory (and a hub's file replicas) are the only writable paths,
// nothing gains privileges, /tmp is private, new files are owner-only (UMask=0077, as the
// process sets itself), and it restarts on failure but not after a clean stop.
#include "ops/service_definition.h"

#include <filesystem>

#include "core/markup_escape.h"
#include "platform/windows_command_line.h"

namespace mcpmem {
namespace {

namespace fs = std::filesystem;

struct RoleCommand {
  std::vector<std::string> args;  // after the binary
  std::string description;
};

// `dir`/`name` in the service's own system's form: a Windows service's paths take "\\" even
// when the definition is written elsewhere (`--windows` on Linux).
std::string join(const ServiceSpec& spec, const std::string& dir, const std::string& name) {
  if (spec.format != ServiceFormat::kWindows) return (fs::path(dir) / name).string();
  return dir.ends_with('\\') || dir.ends_with('/') ? dir + name : dir + "\\" + name;
}

// `url_or_var`: the literal URL, or a systemd ${VARIABLE} read from the EnvironmentFile.
RoleCommand role_arguments(const ServiceSpec& spec, bool systemd) {
  switch (spec.role) {
    case ServiceRole::kHub: {
      RoleCommand c{{"serve", "--https", "--replicate"},
                    "mcp-memory hub (HTTPS for spokes, Litestream replication)"};
      for (const std::string& dir : spec.replica_dirs) {
        c.args.push_back("--replica");
        c.args.push_back(dir);
      }
      if (!spec.replica_dirs.empty()) {
        // The first replica's parent is served read-only at /litestream/ (the guide's
        // /var/www/litestream): spokes restore and follow https://HUB/litestream/<name>.
        c.args.push_back("--replica-dir");
        c.args.push_back(fs::path(spec.replica_dirs.front()).parent_path().string());
      }
      return c;
    }
    case ServiceRole::kReplica:
      return {{"replica", "follow", "--from",
               systemd ? "${MCP_MEMORY_REPLICA_URL}" : spec.replica_url, "--db", spec.db_path},
              "mcp-memory read-only replica (follows the hub's Litestream replica)"};
    case ServiceRole::kSync: {
      RoleCommand c{
          {"serve", "--http", "--hub-url", systemd ? "${MCP_MEMORY_HUB_URL}" : spec.hub_url},
          "mcp-memory node (local HTTP + MCP, synced with the hub)"};
      if (!systemd) {
        // No environment file outside systemd: the key is read from a file beside the data.
        c.args.push_back("--hub-api-key-file");
        c.args.push_back(join(spec, spec.base_dir, "hub_api_key"));
      }
      return c;
    }
  }
  return {};
}

// Paths go into unit files unquoted: refuse what systemd would split or expand.
Status check_unit_path(const std::string& what, const std::string& path) {
  for (char c : path) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '"' || c == '\'' || c == '\\' || c == '%' ||
        c == '$' || c == ';') {
      return Status::invalid_argument(what + " " + path +
                                      " has a space, quote, %, $, ; or backslash, which a "
                                      "systemd unit cannot hold unquoted: choose another path");
    }
  }
  return Status::ok();
}

std::string env_template(const ServiceSpec& spec, const std::string& name) {
  std::string t = "# Environment of the " + name +
                  " service (systemd EnvironmentFile). It may hold secrets:\n"
                  "# keep it owner-only (chmod 600). Lines are VARIABLE=value; '#' starts a "
                  "comment.\n";
  switch (spec.role) {
    case ServiceRole::kHub:
      t += "# Spokes on other machines connect to the hub: listen on every address.\n"
           "MCP_HTTP_HOST=0.0.0.0\n"
           "MCP_HTTPS_PORT=8443\n"
           "# The key spokes and clients send. Unset: one is made and kept in the data\n"
           "# directory (api_key, mode 0600).\n"
           "#MCP_API_KEY=\n";
      break;
    case ServiceRole::kReplica:
      t += "# Where the hub serves its Litestream replica.\n";
      t += "MCP_MEMORY_REPLICA_URL=" +
           (spec.replica_url.empty() ? "https://YOUR_CENTRAL_SERVER:8443/litestream/mcp-memory"
                                     : spec.replica_url) +
           "\n";
      t += "# The hub's API key, and its certificate when self-signed.\n"
           "#MCP_API_KEY=\n"
           "#MCP_MEMORY_HUB_CA=/path/to/hub-cert.pem\n";
      break;
    case ServiceRole::kSync:
      t += "MCP_MEMORY_HUB_URL=" +
           (spec.hub_url.empty() ? "https://YOUR_CENTRAL_SERVER:8443" : spec.hub_url) + "\n";
      t += "# The hub's API key, and its certificate when self-signed (its tls/cert.pem).\n"
           "#MCP_SYNC_API_KEY=\n"
           "#MCP_MEMORY_HUB_CA=/path/to/hub-cert.pem\n";
      break;
  }
  return t;
}

Result<ServiceDefinition> systemd_unit(const ServiceSpec& spec, const std::string& name) {
  MCP_RETURN_IF_ERROR(check_unit_path("the binary", spec.binary));
  MCP_RETURN_IF_ERROR(check_unit_path("the data directory", spec.base_dir));
  MCP_RETURN_IF_ERROR(check_unit_path("the database", spec.db_path));
  MCP_RETURN_IF_ERROR(check_unit_path("the environment file", spec.env_file));
  for (const std::string& d : spec.replica_dirs)
    MCP_RETURN_IF_ERROR(check_unit_path("--replica", d));
  if (spec.system_wide && spec.run_as.empty()) {
    return Status::invalid_argument("a system unit needs an account to run as (--run-as)");
  }
  const RoleCommand cmd = role_arguments(spec, /*systemd=*/true);
  std::string exec = spec.binary;
  for (const std::string& a : cmd.args) exec += " " + a;
  std::vector<std::string> writable = {spec.base_dir};
  const std::string db_dir = fs::path(spec.db_path).parent_path().string();
  const fs::path inside = fs::path(db_dir).lexically_relative(spec.base_dir);
  if (inside.empty() || inside.string().starts_with("..")) writable.push_back(db_dir);
  for (const std::string& d : spec.replica_dirs) writable.push_back(d);
  std::string rw;
  for (const std::string& w : writable) rw += (rw.empty() ? "" : " ") + w;

  ServiceDefinition def;
  def.name = name;
  def.file_name = name + ".service";
  def.env_template = env_template(spec, name);
  std::string& u = def.text;
  u = "# Written by `mcp-memory service install --" + service_role_name(spec.role) +
      "`. Secrets and URLs live in\n# " + spec.env_file + ", not here.\n";
  u += "[Unit]\nDescription=" + cmd.description + "\n";
  u += "After=network-online.target\nWants=network-online.target\n\n";
  u += "[Service]\nType=simple\n";
  u += "ExecStart=" + exec + "\n";
  u += "EnvironmentFile=-" + spec.env_file + "\n";
  u += "Environment=MCP_MEMORY_BASE_DIR=" + spec.base_dir + "\n";
  u += "Environment=MCP_MEMORY_SQLITE_PATH=" + spec.db_path + "\n";
  if (spec.system_wide) u += "User=" + spec.run_as + "\n";
  u += "Restart=on-failure\nRestartSec=5\n";
  // A hub stops Litestream after its last sync (up to 30 s) once the database is closed.
  u += "TimeoutStopSec=60\n";
  u += "UMask=0077\n";
  u += "NoNewPrivileges=yes\nPrivateTmp=yes\nPrivateDevices=yes\n";
  u += "ProtectSystem=strict\nProtectHome=read-only\n";
  u += "ReadWritePaths=" + rw + "\n";
  u += "ProtectKernelTunables=yes\nProtectKernelModules=yes\nProtectControlGroups=yes\n";
  u += "RestrictSUIDSGID=yes\nLockPersonality=yes\n";
  u += "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6\n\n";
  u += "[Install]\nWantedBy=" +
       std::string(spec.system_wide ? "multi-user.target" : "default.target") + "\n";
  const std::string ctl = spec.system_wide ? "sudo systemctl" : "systemctl --user";
  def.next_steps = {ctl + " daemon-reload", ctl + " enable --now " + def.file_name,
                    ctl + " status " + def.file_name};
  def.next_steps.push_back(spec.system_wide ? "journalctl -u " + def.file_name + " -f"
                                            : "journalctl --user -u " + def.file_name + " -f");
  return def;
}

Result<ServiceDefinition> launchd_plist(const ServiceSpec& spec) {
  const std::string role = service_role_name(spec.role);
  const std::string label = "io.mcp-memory." + role;
  const RoleCommand cmd = role_arguments(spec, /*systemd=*/false);
  ServiceDefinition def;
  def.name = label;
  def.file_name = label + ".plist";
  std::string& p = def.text;
  p = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
      "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
      "<plist version=\"1.0\">\n<dict>\n";
  p += "    <key>Label</key>\n    <string>" + label + "</string>\n";
  p += "    <key>ProgramArguments</key>\n    <array>\n";
  p += "        <string>" + markup_escape(spec.binary) + "</string>\n";
  for (const std::string& a : cmd.args) p += "        <string>" + markup_escape(a) + "</string>\n";
  p += "    </array>\n";
  p += "    <key>EnvironmentVariables</key>\n    <dict>\n";
  p += "        <key>MCP_MEMORY_BASE_DIR</key>\n        <string>" + markup_escape(spec.base_dir) +
       "</string>\n";
  p += "        <key>MCP_MEMORY_SQLITE_PATH</key>\n        <string>" + markup_escape(spec.db_path) +
       "</string>\n";
  if (spec.role == ServiceRole::kHub) {  // spokes on other machines connect to the hub
    p += "        <key>MCP_HTTP_HOST</key>\n        <string>0.0.0.0</string>\n";
  }
  p += "    </dict>\n";
  if (spec.system_wide && !spec.run_as.empty()) {
    p += "    <key>UserName</key>\n    <string>" + markup_escape(spec.run_as) + "</string>\n";
  }
  p += "    <key>RunAtLoad</key>\n    <true/>\n";
  // Restarted when it fails, not after a clean stop.
  p += "    <key>KeepAlive</key>\n    <dict>\n        <key>SuccessfulExit</key>\n"
       "        <false/>\n    </dict>\n";
  p += "    <key>Umask</key>\n    <integer>63</integer>\n";  // 077
  p += "    <key>StandardErrorPath</key>\n    <string>" +
       markup_escape((fs::path(spec.base_dir) / (role + ".log")).string()) + "</string>\n";
  p += "    <key>ProcessType</key>\n    <string>Background</string>\n";
  p += "</dict>\n</plist>\n";
  const std::string sudo = spec.system_wide ? "sudo " : "";
  def.next_steps = {sudo + "launchctl load <plist path>", sudo + "launchctl start " + label};
  if (spec.role == ServiceRole::kSync) {
    def.next_steps.insert(def.next_steps.begin(),
                          "put the hub's API key in " +
                              (fs::path(spec.base_dir) / "hub_api_key").string() +
                              " (chmod 600) first");
  }
  return def;
}

Result<ServiceDefinition> windows_service(const ServiceSpec& spec, const std::string& name) {
  const RoleCommand cmd = role_arguments(spec, /*systemd=*/false);
  ServiceDefinition def;
  def.name = name;
  def.description = cmd.description;
  // No environment file: `service run` sets what the role needs, then runs its command.
  // `service run [--log F] [--env NAME=value]... NAME -- COMMAND...`; its stderr (a service
  // has none) goes to a log beside the data.
  def.service_argv = {spec.binary, "service", "run", "--log",
                      join(spec, spec.base_dir, name + ".log")};
  std::vector<std::string> env = {"MCP_MEMORY_BASE_DIR=" + spec.base_dir,
                                  "MCP_MEMORY_SQLITE_PATH=" + spec.db_path};
  if (spec.role == ServiceRole::kHub) env.push_back("MCP_HTTP_HOST=0.0.0.0");
  env.insert(env.end(), spec.env.begin(), spec.env.end());
  for (const std::string& e : env) def.service_argv.insert(def.service_argv.end(), {"--env", e});
  def.service_argv.insert(def.service_argv.end(), {name, "--"});
  def.service_argv.insert(def.service_argv.end(), cmd.args.begin(), cmd.args.end());
  // sc.exe reads binPath= as one argument: the command line's own quotes escaped.
  std::string bin_path;
  for (char c : windows_command_line(def.service_argv)) {
    if (c == '"') bin_path += '\\';
    bin_path += c;
  }
  std::string& w = def.text;
  w = ":: " + cmd.description +
      ", as a Windows service.\n"
      ":: mcp-memory.exe is its own service program (`service run` answers the Service\n"
      ":: Control Manager). `mcp-memory service install` on the Windows machine registers it\n"
      ":: itself; these commands do the same, in an administrator Command Prompt:\n";
  w += "sc.exe create " + name + " binPath= \"" + bin_path + "\" start= auto DisplayName= \"" +
       cmd.description + "\"\n";
  w += "sc.exe description " + name + " \"" + cmd.description + "\"\n";
  w +=
      "sc.exe failure " + name + " reset= 86400 actions= restart/5000/restart/5000/restart/60000\n";
  def.next_steps = {"sc.exe start " + name, "sc.exe query " + name};
  if (spec.role == ServiceRole::kSync) {
    def.next_steps.insert(
        def.next_steps.begin(),
        "put the hub's API key in " + join(spec, spec.base_dir, "hub_api_key") + " first");
  }
  return def;
}

}  // namespace

std::string service_role_name(ServiceRole role) {
  switch (role) {
    case ServiceRole::kHub:
      return "hub";
    case ServiceRole::kReplica:
      return "replica";
    case ServiceRole::kSync:
      return "sync";
  }
  return "sync";
}

Result<ServiceDefinition> make_service_definition(const ServiceSpec& spec) {
  const std::string name = "mcp-memory-" + service_role_name(spec.role);
  if (spec.format != ServiceFormat::kWindows) {
    for (const auto& [what, path] :
         {std::pair<const char*, const std::string&>{"the binary", spec.binary},
          {"the data directory", spec.base_dir},
          {"the database", spec.db_path}}) {
      if (!fs::path(path).is_absolute()) {
        return Status::invalid_argument(std::string(what) + " must be an absolute path, not '" +
                                        path + "'");
      }
    }
  }
  if (spec.format != ServiceFormat::kSystemd) {
    if (spec.role == ServiceRole::kSync && spec.hub_url.empty()) {
      return Status::invalid_argument("a sync node's service needs --hub-url https://HUB:8443");
    }
    if (spec.role == ServiceRole::kReplica && spec.replica_url.empty()) {
      return Status::invalid_argument("a replica's service needs --replica-url URL");
    }
  }
  switch (spec.format) {
    case ServiceFormat::kSystemd:
      return systemd_unit(spec, name);
    case ServiceFormat::kLaunchd:
      return launchd_plist(spec);
    case ServiceFormat::kWindows:
      return windows_service(spec, name);
  }
  return Status::internal("unknown service format");
}

}  // namespace mcpmem
