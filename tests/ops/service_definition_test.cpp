// The service definitions of each role and format: the command line each role runs, the
// systemd hardening, secrets kept out of the definition, and what cannot be written safely.
#include "ops/service_definition.h"

#include <gtest/gtest.h>

namespace mcpmem {
namespace {

ServiceSpec spec(ServiceRole role, ServiceFormat format = ServiceFormat::kSystemd) {
  ServiceSpec s;
  s.role = role;
  s.format = format;
  s.binary = "/usr/local/bin/mcp-memory";
  s.base_dir = "/home/ada/.local/share/mcp-memory";
  s.db_path = s.base_dir + "/sqlite_vec.db";
  s.env_file = "/home/ada/.config/mcp-memory/mcp-memory-" + service_role_name(role) + ".env";
  return s;
}

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

TEST(SystemdUnit, EachRoleRunsItsCommand) {
  ServiceSpec hub = spec(ServiceRole::kHub);
  hub.replica_dirs = {"/var/www/litestream/mcp-memory", "/backup/litestream/mcp-memory"};
  auto h = make_service_definition(hub);
  ASSERT_TRUE(h.is_ok()) << h.status().message();
  EXPECT_EQ(h->file_name, "mcp-memory-hub.service");
  EXPECT_TRUE(has_line(h->text,
                       "ExecStart=/usr/local/bin/mcp-memory serve --https --replicate --replica "
                       "/var/www/litestream/mcp-memory --replica /backup/litestream/mcp-memory "
                       "--replica-dir /var/www/litestream"))
      << h->text;
  EXPECT_TRUE(has_line(h->text,
                       "ReadWritePaths=/home/ada/.local/share/mcp-memory "
                       "/var/www/litestream/mcp-memory /backup/litestream/mcp-memory"));
  EXPECT_TRUE(has_line(h->env_template, "MCP_HTTP_HOST=0.0.0.0"));

  auto r = make_service_definition(spec(ServiceRole::kReplica));
  ASSERT_TRUE(r.is_ok());
  EXPECT_TRUE(has_line(r->text,
                       "ExecStart=/usr/local/bin/mcp-memory replica follow --from "
                       "${MCP_MEMORY_REPLICA_URL} --db /home/ada/.local/share/mcp-memory/"
                       "sqlite_vec.db"));

  ServiceSpec sync = spec(ServiceRole::kSync);
  sync.hub_url = "https://hub.local:8443";
  auto s = make_service_definition(sync);
  ASSERT_TRUE(s.is_ok());
  EXPECT_TRUE(has_line(s->text,
                       "ExecStart=/usr/local/bin/mcp-memory serve --http --hub-url "
                       "${MCP_MEMORY_HUB_URL}"));
  EXPECT_TRUE(has_line(s->env_template, "MCP_MEMORY_HUB_URL=https://hub.local:8443"));
  EXPECT_TRUE(has_line(s->env_template, "#MCP_SYNC_API_KEY="));
}

TEST(SystemdUnit, IsHardenedAndReadsSecretsFromItsEnvironmentFile) {
  ServiceSpec s = spec(ServiceRole::kSync);
  s.system_wide = true;
  s.run_as = "mcp-memory";
  auto u = make_service_definition(s);
  ASSERT_TRUE(u.is_ok()) << u.status().message();
  for (const char* line :
       {"NoNewPrivileges=yes", "ProtectSystem=strict",
        "ReadWritePaths=/home/ada/.local/share/mcp-memory", "PrivateTmp=yes", "Restart=on-failure",
        "UMask=0077", "User=mcp-memory", "WantedBy=multi-user.target",
        "EnvironmentFile=-/home/ada/.config/mcp-memory/mcp-memory-sync.env",
        "Environment=MCP_MEMORY_BASE_DIR=/home/ada/.local/share/mcp-memory"}) {
    EXPECT_TRUE(has_line(u->text, line)) << line << "\n" << u->text;
  }
  EXPECT_EQ(u->text.find("API_KEY"), std::string::npos);
  EXPECT_EQ(u->next_steps[1], "sudo systemctl enable --now mcp-memory-sync.service");
  auto user = make_service_definition(spec(ServiceRole::kSync));
  EXPECT_TRUE(has_line(user->text, "WantedBy=default.target"));
  EXPECT_EQ(user->text.find("User="), std::string::npos);
  EXPECT_EQ(user->next_steps[1], "systemctl --user enable --now mcp-memory-sync.service");
}

TEST(SystemdUnit, ADatabaseOutsideTheDataDirectoryIsWritableToo) {
  ServiceSpec s = spec(ServiceRole::kSync);
  s.db_path = "/srv/memories/sqlite_vec.db";
  auto u = make_service_definition(s);
  ASSERT_TRUE(u.is_ok());
  EXPECT_TRUE(has_line(u->text, "ReadWritePaths=/home/ada/.local/share/mcp-memory /srv/memories"));
}

TEST(SystemdUnit, RefusesPathsAUnitCannotHoldAndRelativePaths) {
  ServiceSpec spaced = spec(ServiceRole::kSync);
  spaced.base_dir = "/home/ada/My Memories";
  spaced.db_path = spaced.base_dir + "/sqlite_vec.db";
  EXPECT_NE(make_service_definition(spaced).status().message().find("has a space"),
            std::string::npos);
  ServiceSpec relative = spec(ServiceRole::kSync);
  relative.binary = "mcp-memory";
  EXPECT_NE(make_service_definition(relative).status().message().find("must be an absolute path"),
            std::string::npos);
  ServiceSpec system = spec(ServiceRole::kSync);
  system.system_wide = true;
  EXPECT_NE(make_service_definition(system).status().message().find("--run-as"), std::string::npos);
}

TEST(LaunchdPlist, RunsTheRoleWithTheKeyFromAFileAndRestartsOnFailure) {
  ServiceSpec s = spec(ServiceRole::kSync, ServiceFormat::kLaunchd);
  EXPECT_NE(make_service_definition(s).status().message().find("--hub-url"), std::string::npos);
  s.hub_url = "https://hub.local:8443/?a=1&b=2";
  auto p = make_service_definition(s);
  ASSERT_TRUE(p.is_ok()) << p.status().message();
  EXPECT_EQ(p->file_name, "io.mcp-memory.sync.plist");
  for (const char* line : {"    <string>io.mcp-memory.sync</string>",
                           "        <string>/usr/local/bin/mcp-memory</string>",
                           "        <string>https://hub.local:8443/?a=1&amp;b=2</string>",
                           "        <string>--hub-api-key-file</string>",
                           "        <string>/home/ada/.local/share/mcp-memory/hub_api_key</string>",
                           "    <integer>63</integer>", "        <key>SuccessfulExit</key>"}) {
    EXPECT_TRUE(has_line(p->text, line)) << line << "\n" << p->text;
  }
  EXPECT_TRUE(p->env_template.empty());
  EXPECT_EQ(p->next_steps.back(), "launchctl start io.mcp-memory.sync");
}

TEST(WindowsService, RunsItselfAsTheServiceWithQuotedPaths) {
  ServiceSpec s = spec(ServiceRole::kSync, ServiceFormat::kWindows);
  s.binary = "C:\\Program Files\\mcp-memory\\mcp-memory.exe";
  s.base_dir = "C:\\Users\\Ada\\.local\\share\\mcp-memory";
  s.db_path = s.base_dir + "\\sqlite_vec.db";
  s.hub_url = "https://hub.local:8443";
  auto w = make_service_definition(s);
  ASSERT_TRUE(w.is_ok()) << w.status().message();
  // The Service Control Manager starts `service run`, which sets the environment and runs the
  // role's command.
  const std::vector<std::string> argv = {
      "C:\\Program Files\\mcp-memory\\mcp-memory.exe",
      "service",
      "run",
      "--log",
      "C:\\Users\\Ada\\.local\\share\\mcp-memory\\mcp-memory-sync.log",
      "--env",
      "MCP_MEMORY_BASE_DIR=C:\\Users\\Ada\\.local\\share\\mcp-memory",
      "--env",
      "MCP_MEMORY_SQLITE_PATH=C:\\Users\\Ada\\.local\\share\\mcp-memory\\sqlite_vec.db",
      "mcp-memory-sync",
      "--",
      "serve",
      "--http",
      "--hub-url",
      "https://hub.local:8443",
      "--hub-api-key-file",
      "C:\\Users\\Ada\\.local\\share\\mcp-memory\\hub_api_key"};
  EXPECT_EQ(w->service_argv, argv);
  // sc.exe gets that command line with its quotes escaped inside binPath= "...".
  EXPECT_NE(w->text.find("sc.exe create mcp-memory-sync binPath= \"\\\"C:\\Program Files\\"
                         "mcp-memory\\mcp-memory.exe\\\" service run --log C:\\Users\\Ada\\"),
            std::string::npos)
      << w->text;
  EXPECT_NE(w->text.find(" -- serve --http --hub-url https://hub.local:8443 "), std::string::npos);
  EXPECT_NE(w->text.find("\" start= auto DisplayName= \"mcp-memory node"), std::string::npos);
  EXPECT_NE(w->text.find("sc.exe failure mcp-memory-sync reset= 86400"), std::string::npos);
  EXPECT_EQ(w->next_steps.back(), "sc.exe query mcp-memory-sync");
  // A hub listens beyond loopback: its spokes are other machines.
  s.role = ServiceRole::kHub;
  auto hub = make_service_definition(s);
  ASSERT_TRUE(hub.is_ok()) << hub.status().message();
  EXPECT_NE(hub->text.find(" --env MCP_HTTP_HOST=0.0.0.0 mcp-memory-hub -- serve --https"),
            std::string::npos)
      << hub->text;
  s.format = ServiceFormat::kLaunchd;
  s.binary = "/usr/local/bin/mcp-memory";
  s.base_dir = "/Users/ada/.local/share/mcp-memory";
  s.db_path = s.base_dir + "/sqlite_vec.db";
  auto plist = make_service_definition(s);
  ASSERT_TRUE(plist.is_ok()) << plist.status().message();
  EXPECT_TRUE(has_line(plist->text, "        <key>MCP_HTTP_HOST</key>"));
}

}  // namespace
}  // namespace mcpmem
