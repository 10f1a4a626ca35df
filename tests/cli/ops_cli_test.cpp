// The operator's commands through the real binary, as a cron job or a person runs them:
// `monitor --once` against two real `serve --http` nodes (healthy: exit 0; memory counts that
// stay apart for an --interval: count_mismatch, exit 1, and --exec gets the alert; a node
// stopped: node_down, exit 1), `doctor` on a healthy, a world-readable and a damaged database,
// and `service install` writing a unit systemd-analyze accepts.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "../free_port.h"

using mcpmem::free_port;

extern char** environ;

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kKey = "ops-cli-test-key";

struct Proc {
  int code = -1;
  std::string out, err;
  // stdout as JSON lines.
  std::vector<json> lines() const {
    std::vector<json> v;
    std::istringstream in(out);
    for (std::string l; std::getline(in, l);) v.push_back(json::parse(l));
    return v;
  }
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

unsigned mode_of(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 0777) : 0;
}

bool accepts_connections(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

class OpsCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mcpmem-ops-cli-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override {
    for (pid_t pid : servers_) {
      if (pid > 0) {
        kill(pid, SIGTERM);
        waitpid(pid, nullptr, 0);
      }
    }
    fs::remove_all(dir_);
  }

  std::vector<std::string> env_for(const std::string& node) const {
    return {"HOME=" + dir_,
            "MCP_MEMORY_BASE_DIR=" + dir_ + "/" + node,
            std::string("MCP_API_KEY=") + kKey,
            "MCP_MEMORY_SQLITE_SYNCHRONOUS=normal",
            "PATH=/usr/bin:/bin",
            "TZ=UTC"};
  }

  // Spawns the binary with `args` as node `node`; stdout and stderr to files named by `tag`.
  pid_t spawn(const std::string& node, const std::vector<std::string>& args,
              const std::string& tag) {
    std::vector<std::string> argv_s = {MCP_BINARY};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_s = env_for(node);
    std::vector<char*> envp;
    for (auto& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, (dir_ + "/" + tag + ".out").c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, (dir_ + "/" + tag + ".err").c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid = -1;
    if (posix_spawn(&pid, MCP_BINARY, &fa, nullptr, argv.data(), envp.data()) != 0) pid = -1;
    posix_spawn_file_actions_destroy(&fa);
    return pid;
  }

  // Runs the binary to its end (killed after 60 s).
  Proc run(const std::string& node, const std::vector<std::string>& args) {
    static int calls = 0;
    const std::string tag = "run" + std::to_string(++calls);
    Proc r;
    pid_t pid = spawn(node, args, tag);
    if (pid < 0) return r;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    int status = 0;
    while (waitpid(pid, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = slurp(dir_ + "/" + tag + ".out");
    r.err = slurp(dir_ + "/" + tag + ".err");
    return r;
  }

  // `serve --http` for `node` on a free port, answering within 10 s; returns its URL.
  std::string serve(const std::string& node, size_t* index = nullptr) {
    const int port = free_port();
    servers_.push_back(spawn(node, {"serve", "--http", "--port", std::to_string(port)}, node));
    if (index) *index = servers_.size() - 1;
    for (int i = 0; i < 500 && !accepts_connections(port); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return "http://127.0.0.1:" + std::to_string(port);
  }

  void stop_server(size_t index) {
    kill(servers_[index], SIGTERM);
    waitpid(servers_[index], nullptr, 0);
    servers_[index] = -1;
  }

  void store(const std::string& node, const std::string& content) {
    Proc r = run(node, {"store", content});
    ASSERT_EQ(r.code, 0) << r.err;
  }

  std::string dir_;
  std::vector<pid_t> servers_;
};

std::vector<json> alerts_of(const Proc& p) {
  std::vector<json> out;
  for (const json& l : p.lines()) {
    if (l["type"] == "alert") out.push_back(l);
  }
  return out;
}

TEST_F(OpsCliTest, MonitorOnceIsQuietWhenHealthyAndRaisesCountMismatchAndNodeDown) {
  store("hub", "Deploys happen on Tuesdays");
  store("laptop", "Deploys happen on Tuesdays");
  const std::string hub = serve("hub");
  size_t laptop_index = 0;
  const std::string laptop = serve("laptop", &laptop_index);
  const std::vector<std::string> monitor = {"monitor", "--once", "--json", "--interval", "1",
                                            "--node",  hub,      "--node", laptop};

  Proc healthy = run("monitor", monitor);
  EXPECT_EQ(healthy.code, 0) << healthy.out << healthy.err;
  auto lines = healthy.lines();
  ASSERT_EQ(lines.size(), 2u) << healthy.out;
  for (const json& l : lines) {
    EXPECT_EQ(l["type"], "node");
    EXPECT_EQ(l["up"], true) << l.dump();
    EXPECT_EQ(l["memories"], 1);
    EXPECT_TRUE(l["size_bytes"].is_number());
  }
  EXPECT_EQ(mode_of(dir_ + "/monitor/monitor-history.json"), 0600u);

  // The laptop stores one more and does not sync: the first poll sees the counts apart, the
  // next one an --interval later raises the alert (and runs --exec with it).
  store("laptop", "The staging key rotates monthly");
  Proc first = run("monitor", monitor);
  EXPECT_EQ(first.code, 0) << first.out;
  EXPECT_TRUE(alerts_of(first).empty()) << first.out;
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  std::vector<std::string> with_exec = monitor;
  const std::string got = dir_ + "/alert.txt";
  with_exec.insert(
      with_exec.end(),
      {"--exec", "echo \"$MCP_ALERT_KIND|$MCP_ALERT_VALUE|$MCP_ALERT_NODE\" >> " + got});
  Proc apart = run("monitor", with_exec);
  EXPECT_EQ(apart.code, 1) << apart.out << apart.err;
  auto alerts = alerts_of(apart);
  ASSERT_EQ(alerts.size(), 1u) << apart.out;
  EXPECT_EQ(alerts[0]["kind"], "count_mismatch");
  EXPECT_EQ(alerts[0]["value"], 1.0);
  EXPECT_NE(alerts[0]["message"].get<std::string>().find(hub + " 1, " + laptop + " 2"),
            std::string::npos)
      << alerts[0].dump();
  EXPECT_EQ(slurp(got), "count_mismatch|1|" + hub + "," + laptop + "\n");

  // The laptop goes down: node_down, exit 1; a table when asked for none of JSON is not a tty.
  stop_server(laptop_index);
  Proc down = run("monitor", monitor);
  EXPECT_EQ(down.code, 1) << down.out;
  alerts = alerts_of(down);
  ASSERT_EQ(alerts.size(), 1u) << down.out;
  EXPECT_EQ(alerts[0]["kind"], "node_down");
  EXPECT_EQ(alerts[0]["node"], laptop);
  EXPECT_NE(alerts[0]["message"].get<std::string>().find("cannot connect"), std::string::npos);

  // A wrong key is a node that does not answer as it should, named as such.
  Proc bad_key = run("monitor", {"monitor", "--once", "--node", hub, "--api-key-file",
                                 (fs::path(dir_) / "nope").string()});
  EXPECT_EQ(bad_key.code, 2);
  EXPECT_NE(bad_key.err.find("error: cannot read"), std::string::npos) << bad_key.err;
  std::ofstream(dir_ + "/wrong-key") << "wrong\n";
  Proc wrong =
      run("monitor", {"monitor", "--once", "--node", hub, "--api-key-file", dir_ + "/wrong-key"});
  EXPECT_EQ(wrong.code, 1);
  EXPECT_NE(wrong.out.find("answered HTTP 401 (check the API key"), std::string::npos) << wrong.out;
}

// The replication alerts from a real server's /api/health/detailed: a replica that has not
// shipped the newest write for longer than --max-lag (the Litestream of --litestream-config,
// run as its own service, is stopped), and a replica that cannot be read (an SFTP server that
// is not there).
TEST_F(OpsCliTest, MonitorRaisesReplicationLagAndErrorFromARealServer) {
  const std::string replica = dir_ + "/replica";
  pid_t litestream = spawn("hub", {"replicate", "--replica", replica}, "replicate");
  ASSERT_GT(litestream, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  store("hub", "Replicated before Litestream stopped");
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  kill(litestream, SIGTERM);
  waitpid(litestream, nullptr, 0);
  store("hub", "Written while Litestream is stopped");
  // The configuration of a Litestream run as its own service: that replica, and one on an SFTP
  // server that is not there.
  const std::string yml = dir_ + "/litestream.yml";
  std::ofstream(yml) << "dbs:\n  - path: " << dir_ << "/hub/sqlite_vec.db\n    replicas:\n"
                     << "      - type: file\n        path: " << replica << "\n"
                     << "      - url: sftp://mcp@127.0.0.1:1/nowhere\n";

  const int port = free_port();
  servers_.push_back(
      spawn("hub", {"serve", "--http", "--port", std::to_string(port), "--litestream-config", yml},
            "hub"));
  for (int i = 0; i < 500 && !accepts_connections(port); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  const std::string hub = "http://127.0.0.1:" + std::to_string(port);
  Proc lagging = run(
      "monitor", {"monitor", "--once", "--json", "--no-history", "--max-lag", "1", "--node", hub});
  EXPECT_EQ(lagging.code, 1) << lagging.out << lagging.err;
  std::map<std::string, json> by_kind;
  for (const json& a : alerts_of(lagging)) by_kind[a["kind"]] = a;
  ASSERT_TRUE(by_kind.contains("replication_lag")) << lagging.out;
  EXPECT_GE(by_kind["replication_lag"]["value"].get<double>(), 1.0);
  EXPECT_EQ(by_kind["replication_lag"]["node"], hub);
  ASSERT_TRUE(by_kind.contains("replication_error")) << lagging.out;
  EXPECT_NE(by_kind["replication_error"]["message"].get<std::string>().find("sftp"),
            std::string::npos)
      << by_kind["replication_error"].dump();

  // The guide's limit (60 s) is not reached: only the unreadable replica is reported.
  Proc within = run("monitor", {"monitor", "--once", "--json", "--no-history", "--node", hub});
  EXPECT_EQ(within.code, 1);
  for (const json& a : alerts_of(within)) EXPECT_EQ(a["kind"], "replication_error") << a.dump();
}

TEST_F(OpsCliTest, MonitorPollsEveryIntervalUntilSigterm) {
  const std::string down = "http://127.0.0.1:" + std::to_string(free_port());
  pid_t pid = spawn("m", {"monitor", "--interval", "1", "--node", down}, "watch");
  ASSERT_GT(pid, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);  // stopped, not failed: alerts are output, not errors
  Proc watched;
  watched.out = slurp(dir_ + "/watch.out");
  int polls = 0;
  for (const json& l : watched.lines()) polls += l["type"] == "node" ? 1 : 0;
  EXPECT_GE(polls, 2) << watched.out;
  EXPECT_LE(polls, 4) << watched.out;
}

TEST_F(OpsCliTest, MonitorUsageErrorsExitTwo) {
  EXPECT_EQ(run("m", {"monitor", "--once"}).code, 2);
  Proc zero = run("m", {"monitor", "--once", "--node", "http://127.0.0.1:1", "--interval", "0"});
  EXPECT_EQ(zero.code, 2);
  Proc ftp = run("m", {"monitor", "--once", "--node", "ftp://hub"});
  EXPECT_EQ(ftp.code, 2);
  EXPECT_EQ(ftp.err, "error: --node ftp://hub is not an http:// or https:// URL\n");
}

TEST_F(OpsCliTest, DoctorPassesFixesModesAndFailsOnADamagedFile) {
  store("node", "Postgres 16 needs pgvector");
  Proc healthy = run("node", {"doctor"});
  EXPECT_EQ(healthy.code, 0) << healthy.out << healthy.err;
  EXPECT_NE(healthy.out.find("ok    integrity    integrity_check: ok"), std::string::npos)
      << healthy.out;

  const std::string db = dir_ + "/node/sqlite_vec.db";
  fs::permissions(db, fs::perms(0644));
  Proc open = run("node", {"doctor", "--json"});
  EXPECT_EQ(open.code, 1);
  json report = json::parse(open.out);
  EXPECT_EQ(report["ok"], false);
  bool reported = false;
  for (const json& c : report["checks"]) {
    if (c["check"] == "file_modes") {
      EXPECT_EQ(c["status"], "fail");
      reported =
          c["detail"].get<std::string>().find(db + " is 0644 (want 0600)") != std::string::npos;
    }
  }
  EXPECT_TRUE(reported) << open.out;
  Proc fixed = run("node", {"doctor", "--fix"});
  EXPECT_EQ(fixed.code, 0) << fixed.out;
  EXPECT_NE(fixed.out.find("ok    file_modes   tightened mode of " + db + " from 0644 to 0600"),
            std::string::npos)
      << fixed.out;
  EXPECT_NE(fixed.out.find("[fixed]\n"), std::string::npos) << fixed.out;
  EXPECT_EQ(mode_of(db), 0600u);

  std::ofstream(dir_ + "/broken.db", std::ios::binary) << std::string(4096, '\x5a');
  Proc broken = run("node", {"--db-path", dir_ + "/broken.db", "doctor"});
  EXPECT_EQ(broken.code, 1);
  EXPECT_NE(broken.out.find("fail  database     "), std::string::npos) << broken.out;
  EXPECT_NE(broken.out.find("not a database"), std::string::npos) << broken.out;
}

TEST_F(OpsCliTest, ServiceInstallWritesAUnitSystemdAnalyzeAccepts) {
  Proc dry =
      run("node", {"service", "install", "--hub", "--dry-run", "--unit-dir", dir_ + "/units"});
  ASSERT_EQ(dry.code, 0) << dry.err;
  EXPECT_NE(dry.out.find("# " + dir_ + "/units/mcp-memory-hub.service\n"), std::string::npos);
  EXPECT_NE(dry.out.find(
                "\nExecStart=" + std::string(MCP_BINARY) + " serve --https --replicate --replica " +
                dir_ + "/node/litestream/mcp-memory --replica-dir " + dir_ + "/node/litestream\n"),
            std::string::npos)
      << dry.out;
  EXPECT_NE(dry.out.find("\nMCP_HTTP_HOST=0.0.0.0\n"), std::string::npos);
  EXPECT_NE(dry.out.find("  systemctl --user enable --now mcp-memory-hub.service\n"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ + "/units"));  // a dry run writes nothing

  Proc made = run("node", {"service", "install", "--sync", "--unit-dir", dir_ + "/units",
                           "--hub-url", "https://hub.local:8443"});
  ASSERT_EQ(made.code, 0) << made.err;
  const std::string unit = dir_ + "/units/mcp-memory-sync.service";
  const std::string env = dir_ + "/.config/mcp-memory/mcp-memory-sync.env";
  EXPECT_NE(made.out.find("wrote " + unit), std::string::npos) << made.out;
  EXPECT_EQ(mode_of(env), 0600u);
  EXPECT_NE(slurp(env).find("\nMCP_MEMORY_HUB_URL=https://hub.local:8443\n"), std::string::npos);
  // The environment file holds the user's secrets: a second install keeps it.
  std::ofstream(env, std::ios::app) << "MCP_SYNC_API_KEY=secret\n";
  Proc again = run("node", {"service", "install", "--sync", "--unit-dir", dir_ + "/units"});
  EXPECT_NE(again.out.find("kept " + env), std::string::npos) << again.out;
  EXPECT_NE(slurp(env).find("MCP_SYNC_API_KEY=secret"), std::string::npos);
  EXPECT_EQ(slurp(unit).find("secret"), std::string::npos);

  if (::access("/usr/bin/systemd-analyze", X_OK) != 0) {
    GTEST_SKIP() << "systemd-analyze is not installed (scripts/install-deps)";
  }
  // verify prints a line for every setting it cannot parse (and still exits 0): none may.
  const std::string verify =
      "/usr/bin/systemd-analyze verify " + unit + " > " + dir_ + "/verify.txt 2>&1";
  EXPECT_EQ(std::system(verify.c_str()), 0) << slurp(dir_ + "/verify.txt");
  EXPECT_EQ(slurp(dir_ + "/verify.txt"), "");
}

TEST_F(OpsCliTest, ServiceInstallUsageErrors) {
  Proc two = run("node", {"service", "install", "--hub", "--sync", "--dry-run"});
  EXPECT_EQ(two.code, 2);
  EXPECT_EQ(two.err, "error: give one role: --hub, --replica or --sync\n");
  Proc mac = run("node", {"service", "install", "--launchd", "--dry-run"});
  EXPECT_EQ(mac.code, 2);
  EXPECT_EQ(mac.err, "error: a sync node's service needs --hub-url https://HUB:8443\n");
  Proc win = run("node", {"service", "install", "--windows", "--replica", "--replica-url",
                          "https://hub:8443/litestream/mcp-memory"});
  EXPECT_EQ(win.code, 0) << win.err;
  EXPECT_NE(win.out.find("replica follow --from https://hub:8443/litestream/mcp-memory --db "),
            std::string::npos)
      << win.out;
}

}  // namespace
