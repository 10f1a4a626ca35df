// The real `mcp-memory` binary on temporary databases: every command and its JSON shape, exit
// codes, bad input that must change nothing, two writer processes, and kill -9 mid-run.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

extern char** environ;

#include "../free_port.h"
#include "../temp_dir.h"
#include "../tiny_bert.h"

using mcpmem::free_port;

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Proc {
  int code = -1;
  std::string out, err;
  json j() const { return json::parse(out); }
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = dir_ / "cli.db";
    env_ = {"HOME=" + dir_.path(), "MCP_MEMORY_SQLITE_PATH=" + db_, "TZ=UTC",
            "MCP_MEMORY_SQLITE_SYNCHRONOUS=normal"};
  }

  // Starts the binary with `args` and the test's environment (plus `extra_env`), its standard
  // streams as `actions` say (none: inherited), without waiting: its pid, or 0.
  pid_t spawn(const std::vector<std::string>& args, const std::vector<std::string>& extra_env,
              const posix_spawn_file_actions_t* actions) {
    std::vector<std::string> argv_s = {MCP_BINARY};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_s = env_;
    env_s.insert(env_s.end(), extra_env.begin(), extra_env.end());
    env_s.push_back("PATH=/usr/bin:/bin");
    std::vector<char*> envp;
    for (auto& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);
    pid_t pid = 0;
    return posix_spawn(&pid, MCP_BINARY, actions, nullptr, argv.data(), envp.data()) == 0 ? pid : 0;
  }

  // Runs the binary with `args`, `input` on stdin, and the test's environment.
  Proc run(const std::vector<std::string>& args, const std::string& input = "",
           const std::vector<std::string>& extra_env = {}) {
    std::string in_path = dir_ / "stdin", out_path = dir_ / "stdout", err_path = dir_ / "stderr";
    std::ofstream(in_path, std::ios::binary) << input;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, in_path.c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    Proc r;
    if (pid_t pid = spawn(args, extra_env, &fa); pid != 0) {
      int status = 0;
      waitpid(pid, &status, 0);
      r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    posix_spawn_file_actions_destroy(&fa);
    r.out = slurp(out_path);
    r.err = slurp(err_path);
    return r;
  }

  // Starts the binary with `args` and the test's environment, without waiting: its pid.
  pid_t start(const std::vector<std::string>& args) {
    const pid_t pid = spawn(args, {}, nullptr);
    EXPECT_NE(pid, 0) << "could not start " << MCP_BINARY;
    return pid;
  }

  // Imports `count` memories whose contents content(i) gives, through a Python-service export.
  void import_notes(int count, const std::function<std::string(int)>& content) {
    nlohmann::json file = {{"export_metadata", {{"source_machine", "test"}}},
                           {"memories", nlohmann::json::array()}};
    for (int i = 0; i < count; ++i) {
      file["memories"].push_back({{"content", content(i)},
                                  {"tags", nlohmann::json::array()},
                                  {"metadata", nlohmann::json::object()},
                                  {"created_at", 1.7e9 + i},
                                  {"updated_at", 1.7e9 + i}});
    }
    std::ofstream(dir_ / "notes.json") << file.dump();
    ASSERT_EQ(run({"import", dir_ / "notes.json"}).code, 0);
  }
  std::string store(const std::string& content, std::vector<std::string> more = {}) {
    std::vector<std::string> args = {"store", content, "--json"};
    args.insert(args.end(), more.begin(), more.end());
    Proc r = run(args);
    EXPECT_EQ(r.code, 0) << r.err;
    return r.j()["content_hash"];
  }
  // A full dump of the memories table: equal dumps mean nothing changed.
  std::string dump() {
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(db_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) return "";
    sqlite3_stmt* s = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db,
                           "SELECT content_hash, tags, memory_type, metadata, deleted_at "
                           "FROM memories ORDER BY id",
                           -1, &s, nullptr) == SQLITE_OK) {
      while (sqlite3_step(s) == SQLITE_ROW) {
        for (int c = 0; c < 5; ++c) {
          const unsigned char* t = sqlite3_column_text(s, c);
          out += t ? reinterpret_cast<const char*>(t) : "NULL";
          out += "|";
        }
        out += "\n";
      }
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return out;
  }
  int64_t count(const std::string& sql) {
    sqlite3* db = nullptr;
    sqlite3_open(db_.c_str(), &db);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr);
    int64_t n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    sqlite3_finalize(s);
    sqlite3_close(db);
    return n;
  }

  mcpmem::TempDir dir_{"cli"};
  std::string db_;
  std::vector<std::string> env_;
};

TEST_F(CliTest, StorePrintsPythonShapedJsonAndHumanText) {
  Proc r = run({"store", "Postgres needs pgvector", "--tags", "infra, db", "--type", "reference",
                "--metadata", R"({"project":"atlas"})", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  json j = r.j();
  EXPECT_EQ(j["success"], true);
  EXPECT_EQ(j["message"], "Memory stored successfully");
  EXPECT_EQ(j["content_hash"].get<std::string>().size(), 64u);
  EXPECT_EQ(j.size(), 3u);
  Proc dup = run({"store", "postgres needs PGVECTOR"});
  EXPECT_EQ(dup.code, 3);  // a duplicate: nothing stored, distinct from an error
  EXPECT_NE(dup.out.find("Duplicate content detected (exact match)"), std::string::npos);
  Proc human = run({"store", "Deploys happen on Tuesdays"});
  EXPECT_NE(human.out.find("Memory stored successfully (hash: "), std::string::npos);
  Proc piped = run({"store", "-", "--json"}, "from stdin\nwith two lines\n");
  ASSERT_EQ(piped.code, 0) << piped.err;
  Proc got = run({"get", piped.j()["content_hash"], "--json"});
  EXPECT_EQ(got.j()["content"], "from stdin\nwith two lines\n");
}

TEST_F(CliTest, SearchJsonHasThePythonServiceShape) {
  store("Postgres 16 needs the pgvector extension", {"--tags", "db"});
  store("Deploys happen on Tuesdays after the standup", {"--tags", "ops"});
  Proc r = run({"search", "pgvector postgres", "--json", "--limit", "5"});
  ASSERT_EQ(r.code, 0) << r.err;
  json j = r.j();
  for (const char* k : {"results", "total_found", "query", "search_type", "processing_time_ms"}) {
    EXPECT_TRUE(j.contains(k)) << k;
  }
  EXPECT_EQ(j["search_type"], "semantic");
  EXPECT_EQ(j["query"], "pgvector postgres");
  ASSERT_EQ(j["total_found"], 2);
  const json& hit = j["results"][0];
  EXPECT_TRUE(hit["similarity_score"].is_number_float());
  EXPECT_TRUE(hit["relevance_reason"].is_string());
  const json& m = hit["memory"];
  EXPECT_EQ(m["content"], "Postgres 16 needs the pgvector extension");
  EXPECT_TRUE(m["created_at"].is_number_float());
  EXPECT_TRUE(m["updated_at"].is_number_float());
  EXPECT_EQ(m["created_at_iso"].get<std::string>().back(), 'Z');
  EXPECT_TRUE(m["tags"].is_array());
  EXPECT_TRUE(m["memory_type"].is_null());
  EXPECT_TRUE(m["metadata"].is_object());
  for (const char* mode : {"exact", "keyword", "hybrid"}) {
    Proc mr = run({"search", "pgvector", "--mode", mode, "--json"});
    ASSERT_EQ(mr.code, 0) << mr.err;
    EXPECT_EQ(mr.j()["search_type"], mode);
    EXPECT_GE(mr.j()["total_found"].get<int>(), 1);
  }
  Proc filtered = run({"search", "deploys", "--tags", "db", "--json"});
  EXPECT_EQ(filtered.j()["total_found"], 1);
  Proc timed = run({"search", "", "--time", "today", "--json"});
  EXPECT_EQ(timed.j()["total_found"], 2);
  Proc human = run({"search", "tuesday deploys"});
  EXPECT_NE(human.out.find("Deploys happen on Tuesdays"), std::string::npos);
  // --json also works before the command.
  EXPECT_EQ(run({"--json", "search", "x", "--mode", "keyword"}).j()["total_found"], 0);
}

TEST_F(CliTest, ListGetUpdateDeleteStatsTags) {
  std::string a = store("alpha note about caching", {"--tags", "tmp,cache"});
  store("beta note about queues", {"--tags", "tmp", "--type", "decision"});
  store("gamma note about logging", {"--tags", "keep"});
  json list = run({"list", "--page-size", "2", "--json"}).j();
  EXPECT_EQ(list["total"], 3);
  EXPECT_EQ(list["page"], 1);
  EXPECT_EQ(list["page_size"], 2);
  EXPECT_EQ(list["has_more"], true);
  EXPECT_EQ(list["memories"].size(), 2u);
  EXPECT_EQ(run({"list", "--type", "decision", "--json"}).j()["total"], 1);
  EXPECT_EQ(run({"list", "--tags", "tmp", "--json"}).j()["total"], 2);
  EXPECT_NE(run({"list"}).out.find("gamma note about logging"), std::string::npos);

  Proc got = run({"get", a});
  EXPECT_EQ(got.code, 0);
  EXPECT_NE(got.out.find("alpha note about caching"), std::string::npos);

  Proc up = run({"update", a, "--tags", "cache,hot", "--metadata", R"({"ttl":60})", "--json"});
  ASSERT_EQ(up.code, 0) << up.err;
  EXPECT_EQ(up.j()["memory"]["tags"], json({"cache", "hot"}));
  EXPECT_EQ(up.j()["memory"]["metadata"]["ttl"], 60);
  EXPECT_EQ(run({"update", a}).code, 2);  // nothing to update

  json dry = run({"delete", "--tags", "tmp", "--dry-run", "--json"}).j();
  EXPECT_EQ(dry["dry_run"], true);
  EXPECT_EQ(dry["matched"], 1);
  EXPECT_EQ(run({"list", "--json"}).j()["total"], 3);
  EXPECT_EQ(run({"delete", "--tags", "tmp", "--json"}).j()["deleted"], 1);
  EXPECT_EQ(run({"delete", a, "--json"}).j()["deleted"], 1);
  EXPECT_EQ(run({"get", a}).code, 1);
  EXPECT_EQ(run({"delete", "--after", "2000-01-01", "--json"}).j()["deleted"], 1);

  store("from laptop", {"--tags", "source:laptop"});
  json stats = run({"stats", "--by-source", "--json"}).j();
  EXPECT_EQ(stats["total_memories"], 1);
  EXPECT_EQ(stats["deleted_memories"], 3);
  EXPECT_EQ(stats["embedding_model"], "hash-384");
  EXPECT_EQ(stats["sources"]["laptop"], 1);
  EXPECT_NE(run({"stats", "--by-source"}).out.find("laptop"), std::string::npos);
  json tags = run({"tags", "--json"}).j();
  EXPECT_EQ(tags["tags"][0]["tag"], "source:laptop");
  EXPECT_EQ(tags["tags"][0]["count"], 1);
}

TEST_F(CliTest, DatabasePathFlagEnvAndDefaults) {
  std::string other = dir_ / "other.db";
  ASSERT_EQ(run({"--db-path", other, "store", "in the other db"}).code, 0);
  EXPECT_TRUE(fs::exists(other));
  EXPECT_EQ(run({"stats", "--json", "--db-path", other}).j()["total_memories"], 1);
  EXPECT_EQ(run({"stats", "--json"}).j()["total_memories"], 0);
  // Without MCP_MEMORY_SQLITE_PATH: $MCP_MEMORY_BASE_DIR, else ~/.local/share/mcp-memory.
  env_ = {"HOME=" + dir_.path(), "TZ=UTC"};
  ASSERT_EQ(run({"store", "default place"}).code, 0);
  EXPECT_TRUE(fs::exists(dir_ / ".local/share/mcp-memory/sqlite_vec.db"));
  ASSERT_EQ(run({"store", "base dir place"}, "", {"MCP_MEMORY_BASE_DIR=" + dir_ / "base"}).code, 0);
  EXPECT_TRUE(fs::exists(dir_ / "base/sqlite_vec.db"));
}

TEST_F(CliTest, BadInputGetsAClearErrorAndChangesNothing) {
  store("the only memory");
  const std::string before = dump();
  ASSERT_FALSE(before.empty());
  struct Case {
    std::vector<std::string> args;
    std::string input;
    int code;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{"store", "bad \xff\xfe bytes"}, "", 1, "UTF-8"},
      {{"store", "-"}, "also \xc0\xaf bad", 1, "UTF-8"},
      {{"store", "-"}, std::string(10 << 20, 'x'), 1, "limit"},
      {{"store", "ok", "--metadata", "{not json"}, "", 2, "not valid JSON"},
      {{"store", "ok", "--metadata", "[1,2]"}, "", 2, "JSON object"},
      {{"store", "ok", "--no-such-flag"}, "", 2, "no-such-flag"},
      {{"frobnicate"}, "", 2, "frobnicate"},
      {{"delete"}, "", 2, "refusing"},
      {{"delete", "--before", "someday"}, "", 2, "not a date"},
      {{"get", std::string(64, 'a')}, "", 1, "no memory"},
      {{"search", "x", "--time", "whenever"}, "", 1, "time expression"},
      {{"search", "x", "--mode", "psychic"}, "", 2, "psychic"},
      {{"search", "x", "--limit", "0"}, "", 2, "limit"},
      {{"update", std::string(64, 'b'), "--tags", "x"}, "", 1, "no memory"},
  };
  for (const Case& c : cases) {
    Proc r = run(c.args, c.input);
    SCOPED_TRACE(c.args[0] + (c.args.size() > 1 ? " " + c.args[1].substr(0, 20) : ""));
    EXPECT_EQ(r.code, c.code) << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n') <= 3, true) << r.err;
    EXPECT_EQ(dump(), before);
  }
}

TEST_F(CliTest, AFileThatIsNotADatabaseIsLeftAlone) {
  std::string junk = "this is a text file, not SQLite\n" + std::string(5000, 'j');
  std::ofstream(db_) << junk;
  Proc r = run({"stats"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("not an mcp-memory database"), std::string::npos) << r.err;
  EXPECT_EQ(slurp(db_), junk);
}

// Two processes, each storing 1000 memories one command at a time, at once.
TEST_F(CliTest, TwoConcurrentWriterProcessesLoseNothing) {
  ASSERT_EQ(run({"stats"}).code, 0);  // create the database first
  // Semantic dedup would (rightly) call these look-alike notes duplicates: this test is about
  // locking, so it is off.
  const std::string script =
      "i=0; fails=0; while [ $i -lt 1000 ]; do "
      "\"$BIN\" store \"writer $W note $i about topic $((i * 7919 % 1000))\" >/dev/null "
      "2>>\"$ERR\" || fails=$((fails+1)); i=$((i+1)); done; exit $fails";
  std::vector<pid_t> pids;
  for (const char* w : {"A", "B"}) {
    std::string bin = std::string("BIN=") + MCP_BINARY, ww = std::string("W=") + w;
    std::string err = "ERR=" + dir_.path() + "/err_" + w, path = "MCP_MEMORY_SQLITE_PATH=" + db_;
    std::string home = "HOME=" + dir_.path();
    const char* env[] = {bin.c_str(),
                         ww.c_str(),
                         err.c_str(),
                         path.c_str(),
                         home.c_str(),
                         "MCP_SEMANTIC_DEDUP_ENABLED=false",
                         "MCP_MEMORY_SQLITE_SYNCHRONOUS=normal",
                         "PATH=/usr/bin:/bin",
                         nullptr};
    const char* argv[] = {"/bin/sh", "-c", script.c_str(), nullptr};
    pid_t pid;
    ASSERT_EQ(posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv),
                          const_cast<char**>(env)),
              0);
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "failed stores";
  }
  EXPECT_EQ(slurp(dir_ / "err_A") + slurp(dir_ / "err_B"), "");
  EXPECT_EQ(count("SELECT COUNT(*) FROM memories WHERE deleted_at IS NULL"), 2000);
}

// kill -9 in the middle of a long run of stores: the database is intact and every store that
// reported success is there.
TEST_F(CliTest, KillNineMidRunLosesNoAcknowledgedStore) {
  ASSERT_EQ(run({"stats"}).code, 0);
  const std::string log = dir_ / "acked";
  const std::string script =
      "i=0; while [ $i -lt 10000 ]; do "
      "\"$BIN\" store \"durable note $i with words $((i * 31 % 977))\" --json >>\"$LOG\" "
      "|| exit 1; i=$((i+1)); done";
  std::string bin = std::string("BIN=") + MCP_BINARY, logv = "LOG=" + log;
  std::string path = "MCP_MEMORY_SQLITE_PATH=" + db_, home = "HOME=" + dir_.path();
  const char* env[] = {bin.c_str(),
                       logv.c_str(),
                       path.c_str(),
                       home.c_str(),
                       "MCP_SEMANTIC_DEDUP_ENABLED=false",
                       "PATH=/usr/bin:/bin",
                       nullptr};
  const char* argv[] = {"/bin/sh", "-c", script.c_str(), nullptr};
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  pid_t pid;
  ASSERT_EQ(posix_spawn(&pid, "/bin/sh", nullptr, &attr, const_cast<char**>(argv),
                        const_cast<char**>(env)),
            0);
  // Killed once several stores were acknowledged (not after a fixed time: a sanitized binary
  // starts ten times slower), while the next one runs.
  auto acknowledged = [&] {
    const std::string text = slurp(log);
    size_t n = 0;
    for (size_t p = 0; (p = text.find("\"content_hash\": \"", p)) != std::string::npos; ++p) ++n;
    return n;
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (acknowledged() < 8 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(-pid, SIGKILL);  // the loop and the mcp-memory it is running, mid-write
  int status = 0;
  waitpid(pid, &status, 0);
  posix_spawnattr_destroy(&attr);
  // waitpid reaps only the shell: the killed mcp-memory may still hold its lock for a moment.
  for (int i = 0; i < 500 && kill(-pid, 0) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }

  std::set<std::string> acked;
  std::istringstream lines(slurp(log));
  std::string buffer((std::istreambuf_iterator<char>(lines)), std::istreambuf_iterator<char>());
  // The log holds pretty-printed JSON objects back to back; the last may be cut off.
  size_t pos = 0;
  while ((pos = buffer.find("\"content_hash\": \"", pos)) != std::string::npos) {
    pos += 17;
    std::string hash = buffer.substr(pos, 64);
    size_t obj_end = buffer.find('}', pos);
    if (hash.size() == 64 && obj_end != std::string::npos) acked.insert(hash);
  }
  ASSERT_GT(acked.size(), 5u) << "the run should have stored something within 60 s";
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_.c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)), "ok");
  sqlite3_finalize(s);
  sqlite3_prepare_v2(db, "SELECT 1 FROM memories WHERE content_hash = ?", -1, &s, nullptr);
  for (const std::string& h : acked) {
    sqlite3_bind_text(s, 1, h.c_str(), -1, SQLITE_TRANSIENT);
    EXPECT_EQ(sqlite3_step(s), SQLITE_ROW) << h;
    sqlite3_reset(s);
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  EXPECT_EQ(run({"stats", "--json"}).code, 0);
}

TEST_F(CliTest, HelpAndVersion) {
  Proc help = run({"--help"});
  EXPECT_EQ(help.code, 0);
  for (const char* cmd : {"store", "search", "list", "get", "update", "delete", "stats", "tags"}) {
    EXPECT_NE(help.out.find(cmd), std::string::npos) << cmd;
  }
  EXPECT_NE(run({"--version"}).out.find("mcp-memory"), std::string::npos);
  EXPECT_EQ(run({}).code, 2);
}

// --- Issue 15: file modes and the port in use -------------------------------------------------

unsigned mode_of(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0;
}

// GET `path` on 127.0.0.1:`port` over a fresh connection; the status code, or 0 if none.
int http_status(int port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  int status = 0;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    const std::string req =
        "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (::write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
      char buf[64] = {};
      if (::read(fd, buf, sizeof buf - 1) > 12) status = std::atoi(buf + 9);
    }
  }
  ::close(fd);
  return status;
}

class CliServeTest : public CliTest {
 protected:
  void TearDown() override {
    for (pid_t pid : servers_) {
      kill(pid, SIGTERM);
      waitpid(pid, nullptr, 0);
    }
  }
  // `serve --http` on `port` in the background, answering /api/health; its pid.
  pid_t start_serve(int port) {
    std::vector<std::string> env_s = env_;
    env_s.push_back("PATH=/usr/bin:/bin");
    std::vector<char*> envp;
    for (auto& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);
    const std::string port_arg = std::to_string(port);
    const char* argv[] = {MCP_BINARY, "serve", "--http", "--port", port_arg.c_str(), nullptr};
    pid_t pid = -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, (dir_ / "serve.err").c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    EXPECT_EQ(posix_spawn(&pid, MCP_BINARY, &fa, nullptr, const_cast<char**>(argv), envp.data()),
              0);
    posix_spawn_file_actions_destroy(&fa);
    servers_.push_back(pid);
    for (int i = 0; i < 500 && http_status(port, "/api/health") != 200; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return pid;
  }
  std::vector<pid_t> servers_;
};

// A fresh serve makes an owner-only base dir, database, -wal, -shm and API key, whatever the
// umask it was started with (the test's is usually 022).
TEST_F(CliServeTest, AFreshServeKeepsEveryFileToItsOwner_Issue15) {
  env_ = {"HOME=" + dir_.path(), "TZ=UTC"};
  const std::string base = dir_ / ".local/share/mcp-memory";
  const int port = free_port();
  start_serve(port);
  ASSERT_EQ(http_status(port, "/api/health"), 200) << slurp(dir_ / "serve.err");
  EXPECT_EQ(mode_of(base), 0700u);
  for (const char* f : {"/sqlite_vec.db", "/sqlite_vec.db-wal", "/sqlite_vec.db-shm", "/api_key"}) {
    EXPECT_EQ(mode_of(base + f), 0600u) << f;
  }
}

// Files an older version left readable by everyone are tightened when opened, one line each.
TEST_F(CliTest, ExistingOpenFilesAreTightenedWithALogLine_Issue15) {
  env_ = {"HOME=" + dir_.path(), "TZ=UTC"};
  const std::string base = dir_ / ".local/share/mcp-memory", db = base + "/sqlite_vec.db";
  ASSERT_EQ(run({"store", "old note"}).code, 0);
  ASSERT_EQ(::chmod(db.c_str(), 0644), 0);
  ASSERT_EQ(::chmod(base.c_str(), 0755), 0);
  Proc r = run({"stats", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.j()["total_memories"], 1);
  EXPECT_EQ(mode_of(db), 0600u);
  EXPECT_EQ(mode_of(base), 0700u);
  EXPECT_NE(r.err.find("tightened mode of " + db + " from 0644 to 0600"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("tightened mode of " + base + " from 0755 to 0700"), std::string::npos)
      << r.err;
  // Once: the next run has nothing to say.
  EXPECT_EQ(run({"stats"}).err.find("tightened"), std::string::npos);
}

TEST_F(CliTest, AnExportIsOwnerOnly_Issue15) {
  store("exported note");
  const std::string file = dir_ / "out.json";
  Proc r = run({"export", "--output", file});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(mode_of(file), 0600u);
}

// A second serve on a port in use used to start (SO_REUSEPORT) and take half the connections.
TEST_F(CliServeTest, ASecondServeOnAPortInUseFailsNamingThePort_Issue15) {
  const int port = free_port();
  start_serve(port);
  ASSERT_EQ(http_status(port, "/api/health"), 200) << slurp(dir_ / "serve.err");
  db_ = dir_ / "second.db";  // another database, as in the report
  env_[1] = "MCP_MEMORY_SQLITE_PATH=" + db_;
  Proc second = run({"serve", "--http", "--port", std::to_string(port)});
  EXPECT_EQ(second.code, 1);
  EXPECT_NE(second.err.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << second.err;
  for (int i = 0; i < 20; ++i) EXPECT_EQ(http_status(port, "/api/health"), 200);
}

}  // namespace

TEST_F(CliTest, ReindexKilledHalfWayResumesAndTheOldVectorsServeUntilTheSwitch) {
  // A tiny BERT (tests/fixtures/bert-tiny) as the new model.
  const std::string model_dir = mcpmem::testing_util::make_tiny_bert(dir_.path());
  import_notes(5000, [](int i) { return "reindexed note " + std::to_string(i); });

  // Killed once ten batches were committed.
  std::string model_arg = "bert:" + model_dir;
  const pid_t pid = start({"reindex", "--model", model_arg});
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  int64_t done = 0;
  while ((done = count("SELECT count(*) FROM memory_vectors_next")) < 640 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the reindex finished before it could be killed";
  ASSERT_GE(done, 640);

  Proc list = run({"model", "list"});
  EXPECT_NE(list.out.find("reindex to bert:tiny in progress"), std::string::npos) << list.out;
  // The old vectors still answer, and the new model is refused until the switch.
  Proc found = run({"search", "reindexed note 4321", "--json"});
  ASSERT_EQ(found.code, 0) << found.err;
  EXPECT_EQ(found.j()["results"][0]["memory"]["content"], "reindexed note 4321");
  Proc refused = run({"search", "note"}, "", {"MCP_MEMORY_EMBEDDING_MODEL=" + model_arg});
  EXPECT_EQ(refused.code, 1);
  EXPECT_NE(refused.err.find("mcp-memory reindex"), std::string::npos) << refused.err;

  Proc resumed = run({"reindex", "--model", model_arg, "--json"});
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  auto report = resumed.j();
  EXPECT_GE(report["resumed"].get<int64_t>(), 640);
  EXPECT_EQ(report["resumed"].get<int64_t>() + report["embedded"].get<int64_t>(), 5000);
  EXPECT_EQ(report["to_model"], "bert:tiny");
  EXPECT_EQ(count("SELECT count(*) FROM memory_vectors"), 5000);
  EXPECT_EQ(count("SELECT count(*) FROM sqlite_master WHERE name = 'memory_vectors_next'"), 0);
  Proc after = run({"stats", "--json"});
  EXPECT_EQ(after.j()["embedding_model"], "bert:tiny");
  EXPECT_EQ(run({"search", "reindexed note 12"}).code, 0);
}

// kill -9 while the index file is written, at several moments: whatever is left (the old
// file, the new one, a temporary file) never changes an answer.
TEST_F(CliTest, IndexRebuildKilledAtAnyMomentNeverChangesAnAnswer) {
  const char* words[] = {"alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "zeta"};
  import_notes(20000, [&](int i) {
    std::string content = "indexed note " + std::to_string(i);
    for (int w = 0; w < 6; ++w) content += std::string(" ") + words[(i * 7 + w * 3) % 8];
    return content;
  });
  auto answer = [&](const std::vector<std::string>& env) {
    Proc p =
        run({"search", "gamma delta omega indexed note 1234", "--limit", "10", "--json"}, "", env);
    EXPECT_EQ(p.code, 0) << p.err;
    std::vector<std::string> hashes;
    const json reply = p.j();
    for (const auto& r : reply["results"]) hashes.push_back(r["memory"]["content_hash"]);
    return hashes;
  };
  const auto exact = answer({"MCP_MEMORY_INDEX_FILE=0"});
  ASSERT_EQ(exact.size(), 10u);
  ASSERT_EQ(answer({}), exact);  // writes the file
  ASSERT_TRUE(fs::exists(db_ + ".index"));

  for (int delay_ms : {5, 40, 120, 250}) {
    const pid_t pid = start({"index", "rebuild"});
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_EQ(answer({}), exact) << "killed after " << delay_ms << " ms";
  }
  // The killed writers' temporary files are gone (the next process removed them).
  for (const auto& e : fs::directory_iterator(dir_.path())) {
    EXPECT_EQ(e.path().string().find(".partial-"), std::string::npos) << e.path();
  }
  // A truncated file (as a full disk or a crash outside our writer could leave) too.
  fs::resize_file(db_ + ".index", fs::file_size(db_ + ".index") / 2);
  EXPECT_EQ(answer({}), exact);
  Proc status = run({"index", "status", "--json"});
  ASSERT_EQ(status.code, 0) << status.err;
  EXPECT_EQ(status.j()["rows"], 20000);
  EXPECT_EQ(status.j()["file_mapped"], true);
}
