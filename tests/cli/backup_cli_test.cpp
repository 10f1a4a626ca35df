// `backup`, `backup list` and `restore` through the real binary, as a user runs them: plain and
// encrypted backups (passphrase from the environment, a file named in it, or --passphrase-file),
// the listing, restores that give back the same rows, a wrong passphrase and a damaged file that
// leave nothing behind, a backup taken while another process keeps storing, and a server whose
// backups are encrypted (and one that refuses to start when encryption has no passphrase).
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

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "../free_port.h"
#include "../temp_dir.h"

using mcpmem::free_port;

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kPassphrase = "correct horse battery staple";
constexpr int kTimeoutSeconds = 60;

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

unsigned mode_of(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0;
}

// Every memory row (hash, content, tags, type, metadata, times, deletion), in id order.
std::string dump(const std::string& path) {
  sqlite3* db = nullptr;
  std::string out;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db,
                           "SELECT content_hash, content, tags, memory_type, metadata, created_at, "
                           "updated_at, deleted_at FROM memories ORDER BY id",
                           -1, &s, nullptr) == SQLITE_OK) {
      while (sqlite3_step(s) == SQLITE_ROW) {
        for (int c = 0; c < 8; ++c) {
          const unsigned char* t = sqlite3_column_text(s, c);
          out += t ? reinterpret_cast<const char*>(t) : "NULL";
          out += "|";
        }
        out += "\n";
      }
    }
    sqlite3_finalize(s);
  }
  sqlite3_close(db);
  return out;
}

// One HTTP/1.1 request to 127.0.0.1:`port` with the API key; the whole response ("" if none).
std::string http(int port, const std::string& method, const std::string& path,
                 const std::string& key, const std::string& post_body = "{}") {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  std::string response;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    const std::string body = method == "POST" ? post_body : "";
    const std::string req =
        method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Key: " + key +
        "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
        "\r\nConnection: close\r\n\r\n" + body;
    if (::write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
      char buf[4096];
      for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) response.append(buf, n);
    }
  }
  ::close(fd);
  return response;
}

json body_of(const std::string& response) {
  const size_t at = response.find("\r\n\r\n");
  return at == std::string::npos ? json() : json::parse(response.substr(at + 4), nullptr, false);
}

class BackupCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = dir_ / "live.db";
    backups_ = dir_ / "backups";
    env_ = {"HOME=" + dir_.path(),
            "MCP_MEMORY_SQLITE_PATH=" + db_,
            "MCP_MEMORY_BACKUPS_PATH=" + backups_,
            "TZ=UTC",
            "MCP_MEMORY_SQLITE_SYNCHRONOUS=normal",
            "MCP_BACKUP_KDF_COST=15"};
  }
  void TearDown() override {
    for (pid_t pid : servers_) {
      kill(pid, SIGTERM);
      waitpid(pid, nullptr, 0);
    }
  }

  // Runs the binary with `args` and the test's environment plus `extra_env`; safe from many
  // threads (each call has its own output files). Killed after kTimeoutSeconds.
  Proc run(const std::vector<std::string>& args, const std::vector<std::string>& extra_env = {}) {
    static std::atomic<int> calls{0};
    const std::string tag = std::to_string(++calls);
    const std::string out_path = dir_ / ("out." + tag), err_path = dir_ / ("err." + tag);
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
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid;
    Proc r;
    if (posix_spawn(&pid, MCP_BINARY, &fa, nullptr, argv.data(), envp.data()) == 0) {
      const auto deadline =
          std::chrono::steady_clock::now() + std::chrono::seconds(kTimeoutSeconds);
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
    }
    posix_spawn_file_actions_destroy(&fa);
    r.out = slurp(out_path);
    r.err = slurp(err_path);
    fs::remove(out_path);
    fs::remove(err_path);
    return r;
  }

  std::string store(const std::string& content) {
    Proc r = run({"store", content, "--json"});
    EXPECT_EQ(r.code, 0) << r.err;
    return r.code == 0 ? r.j()["content_hash"].get<std::string>() : "";
  }

  std::string passphrase_file() {
    const std::string path = dir_ / "passphrase";
    std::ofstream(path) << kPassphrase << "\n";
    fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
    return path;
  }

  // `serve --http` on `port` with the test's environment, answering /api/backup/status with
  // `key` (or given up on after 10 s); stopped by TearDown.
  void start_serve(int port, const std::string& key) {
    std::vector<std::string> env_s = env_;
    env_s.push_back("MCP_API_KEY=" + key);
    env_s.push_back("PATH=/usr/bin:/bin");
    std::vector<char*> envp;
    for (auto& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);
    const std::string port_arg = std::to_string(port);
    const char* argv[] = {MCP_BINARY, "serve", "--http", "--port", port_arg.c_str(), nullptr};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, (dir_ / "serve.err").c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid = -1;
    EXPECT_EQ(posix_spawn(&pid, MCP_BINARY, &fa, nullptr, const_cast<char**>(argv), envp.data()),
              0);
    posix_spawn_file_actions_destroy(&fa);
    servers_.push_back(pid);
    for (int i = 0; i < 500 && !body_of(http(port, "GET", "/api/backup/status", key)).is_object();
         ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  // Nothing at `path` and no temporary file of a restore beside it.
  void expect_nothing_at(const std::string& path) {
    EXPECT_FALSE(fs::exists(path)) << path;
    for (const auto& e : fs::directory_iterator(fs::path(path).parent_path())) {
      EXPECT_EQ(e.path().filename().string().rfind(fs::path(path).filename().string(), 0),
                std::string::npos)
          << e.path();
    }
  }

  mcpmem::TempDir dir_{"backup-cli"};
  std::string db_, backups_;
  std::vector<std::string> env_;
  std::vector<pid_t> servers_;
};

TEST_F(BackupCliTest, BackupListAndRestoreThroughTheBinary) {
  for (const char* c : {"Postgres 16 needs pgvector", "Deploys happen on Tuesdays",
                        "The staging key rotates monthly"}) {
    store(c);
  }
  Proc plain = run({"backup", "--json"});
  ASSERT_EQ(plain.code, 0) << plain.err;
  json p = plain.j();
  EXPECT_EQ(p["success"], true);
  EXPECT_EQ(p["encrypted"], false);
  EXPECT_EQ(p["memory_count"], 3);
  const std::string plain_path = p["path"];
  EXPECT_EQ(fs::path(plain_path).parent_path(), fs::path(backups_));
  EXPECT_EQ(mode_of(plain_path), 0600u);
  EXPECT_EQ(dump(plain_path), dump(db_));

  // Encrypted: the passphrase from a file named in the environment.
  Proc sealed = run({"backup", "--encrypt"}, {"MCP_BACKUP_PASSPHRASE_FILE=" + passphrase_file()});
  ASSERT_EQ(sealed.code, 0) << sealed.err;
  EXPECT_NE(sealed.out.find("Backed up 3 memories to " + backups_ + "/memory_backup_"),
            std::string::npos)
      << sealed.out;
  EXPECT_NE(sealed.out.find(".db.enc ("), std::string::npos) << sealed.out;
  EXPECT_NE(sealed.out.find("encrypted"), std::string::npos);

  // --to another folder, the passphrase from --passphrase-file (which implies --encrypt).
  const std::string usb = dir_ / "usb";
  Proc elsewhere = run({"backup", "--to", usb, "--passphrase-file", passphrase_file(), "--json"});
  ASSERT_EQ(elsewhere.code, 0) << elsewhere.err;
  EXPECT_EQ(elsewhere.j()["encrypted"], true);
  EXPECT_EQ(elsewhere.j()["memory_count"], 3);
  const std::string usb_backup = elsewhere.j()["path"];
  EXPECT_EQ(slurp(usb_backup).substr(0, 8), "MCPMEMBK");
  EXPECT_EQ(slurp(usb_backup).find("pgvector"), std::string::npos);

  Proc list = run({"backup", "list", "--json"});
  ASSERT_EQ(list.code, 0) << list.err;
  json l = list.j();
  EXPECT_EQ(l["backup_directory"], backups_);
  ASSERT_EQ(l["total_count"], 2);
  EXPECT_EQ(l["backups"][0]["encrypted"], true);  // newest first
  EXPECT_TRUE(l["backups"][0]["memory_count"].is_null());
  EXPECT_EQ(l["backups"][1]["encrypted"], false);
  EXPECT_EQ(l["backups"][1]["memory_count"], 3);
  EXPECT_EQ(l["backups"][1]["path"], plain_path);
  Proc human = run({"backup", "list"});
  EXPECT_NE(human.out.find("2 backups in " + backups_), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("encrypted"), std::string::npos);
  EXPECT_NE(human.out.find("3 memories"), std::string::npos);
  EXPECT_EQ(run({"backup", "list", "--dir", usb, "--json"}).j()["total_count"], 1);

  // Restore the one on the "USB disk", the passphrase from the environment.
  const std::string restored = dir_ / "laptop/memories.db";
  Proc r = run({"restore", "--backup", usb_backup, "--to", restored, "--json"},
               {std::string("MCP_BACKUP_PASSPHRASE=") + kPassphrase});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.j()["memories"], 3);
  EXPECT_EQ(r.j()["decrypted"], true);
  EXPECT_EQ(r.j()["newest_memory_at"].get<std::string>().back(), 'Z');
  EXPECT_EQ(dump(restored), dump(db_));
  EXPECT_EQ(mode_of(restored), 0600u);
  // It is ours: the CLI searches it.
  Proc found = run({"--db-path", restored, "search", "pgvector", "--mode", "keyword", "--json"});
  EXPECT_EQ(found.j()["total_found"], 1);
  // Human output names the count and the newest memory.
  Proc again = run({"restore", "--backup", plain_path, "--to", dir_ / "second.db"});
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_NE(
      again.out.find("Restored 3 memories to " + dir_.path() + "/second.db (newest created 20"),
      std::string::npos)
      << again.out;
}

TEST_F(BackupCliTest, AWrongPassphraseOrAFlippedByteFailsInOneLineAndWritesNothing) {
  store("a secret worth encrypting");
  Proc made = run({"backup", "--json"}, {std::string("MCP_BACKUP_PASSPHRASE=") + kPassphrase});
  ASSERT_EQ(made.code, 0) << made.err;
  const std::string backup = made.j()["path"];
  ASSERT_TRUE(backup.ends_with(".db.enc"));  // a passphrase alone means encrypt
  const std::string target = dir_ / "restored.db";

  Proc wrong = run({"restore", "--backup", backup, "--to", target},
                   {"MCP_BACKUP_PASSPHRASE=correct horse battery stapler"});
  EXPECT_EQ(wrong.code, 1);
  EXPECT_NE(wrong.err.find("error: restoring " + backup + ": wrong passphrase or damaged file"),
            std::string::npos)
      << wrong.err;
  EXPECT_EQ(std::count(wrong.err.begin(), wrong.err.end(), '\n'), 1) << wrong.err;
  expect_nothing_at(target);

  Proc none = run({"restore", "--backup", backup, "--to", target});
  EXPECT_EQ(none.code, 1);
  EXPECT_NE(none.err.find("is encrypted and no passphrase is set"), std::string::npos) << none.err;
  expect_nothing_at(target);

  std::string bytes = slurp(backup);
  for (size_t at : {size_t{20}, size_t{100}, bytes.size() / 2, bytes.size() - 3}) {
    std::string bad = bytes;
    bad[at] ^= 0x04;
    const std::string bad_path = dir_ / "bad.db.enc";
    std::ofstream(bad_path, std::ios::binary | std::ios::trunc) << bad;
    Proc damaged = run({"restore", "--backup", bad_path, "--to", target},
                       {std::string("MCP_BACKUP_PASSPHRASE=") + kPassphrase});
    EXPECT_EQ(damaged.code, 1) << at;
    EXPECT_NE(damaged.err.find("damaged file"), std::string::npos) << at << ": " << damaged.err;
    expect_nothing_at(target);
  }
  Proc cut_file = run({"restore", "--backup", dir_ / "cut.db.enc", "--to", target});
  EXPECT_EQ(cut_file.code, 1);  // missing
  std::ofstream(dir_ / "cut.db.enc", std::ios::binary) << bytes.substr(0, bytes.size() - 100);
  Proc cut = run({"restore", "--backup", dir_ / "cut.db.enc", "--to", target},
                 {std::string("MCP_BACKUP_PASSPHRASE=") + kPassphrase});
  EXPECT_EQ(cut.code, 1);
  EXPECT_NE(cut.err.find("damaged file"), std::string::npos) << cut.err;
  expect_nothing_at(target);
}

TEST_F(BackupCliTest, RestoreNeedsOneSourceAndForceToReplaceAndKeepsTheOldDatabase) {
  store("the backup's memory");
  const std::string backup = run({"backup", "--json"}).j()["path"];
  EXPECT_EQ(run({"restore", "--to", dir_ / "x.db"}).code, 2);
  EXPECT_NE(run({"restore", "--to", dir_ / "x.db"}).err.find("exactly one source: --backup"),
            std::string::npos);
  EXPECT_EQ(run({"restore", "--backup", backup}).code, 2);  // --to is required

  const std::string other = dir_ / "other.db";
  ASSERT_EQ(run({"--db-path", other, "store", "the other database's memory"}).code, 0);
  const std::string before = dump(other);
  Proc refused = run({"restore", "--backup", backup, "--to", other});
  EXPECT_EQ(refused.code, 1);
  EXPECT_NE(refused.err.find("already exists"), std::string::npos);
  EXPECT_NE(refused.err.find("--force"), std::string::npos);
  EXPECT_EQ(dump(other), before);

  Proc forced = run({"restore", "--backup", backup, "--to", other, "--force", "--json"});
  ASSERT_EQ(forced.code, 0) << forced.err;
  EXPECT_EQ(dump(other), dump(db_));
  const std::string kept = forced.j()["previous_kept_as"];
  EXPECT_TRUE(kept.starts_with(other + ".before-restore-")) << kept;
  EXPECT_EQ(dump(kept), before);
}

TEST_F(BackupCliTest, EncryptionWithoutAPassphraseFailsBeforeWritingAnything) {
  store("x");
  Proc r = run({"backup", "--encrypt"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("no passphrase is set"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--passphrase-file"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(backups_) && !fs::is_empty(backups_));
  Proc missing = run({"backup", "--passphrase-file", dir_ / "nope"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find(dir_ / "nope"), std::string::npos) << missing.err;
  // No database: said, and none is created.
  Proc no_db = run({"--db-path", dir_ / "typo.db", "backup"});
  EXPECT_EQ(no_db.code, 1);
  EXPECT_NE(no_db.err.find("no database at " + dir_ / "typo.db"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ / "typo.db"));
}

TEST_F(BackupCliTest, ABackupWhileAnotherProcessStoresHasEveryAcknowledgedMemory) {
  store("before anything");
  std::mutex mu;
  std::vector<std::string> acknowledged;  // stores whose process exited 0
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) {
      std::string hash = store("written by another process, number " + std::to_string(i));
      std::lock_guard lock(mu);
      if (!hash.empty()) acknowledged.push_back(hash);
    }
  });
  while (true) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::lock_guard lock(mu);
    if (acknowledged.size() >= 5) break;
  }
  std::vector<std::string> before;
  {
    std::lock_guard lock(mu);
    before = acknowledged;
  }
  Proc made = run({"backup", "--json"}, {std::string("MCP_BACKUP_PASSPHRASE=") + kPassphrase});
  stop = true;
  writer.join();
  ASSERT_EQ(made.code, 0) << made.err;
  const std::string target = dir_ / "snapshot.db";
  Proc restored = run({"restore", "--backup", made.j()["path"], "--to", target, "--json"},
                      {std::string("MCP_BACKUP_PASSPHRASE=") + kPassphrase});
  ASSERT_EQ(restored.code, 0) << restored.err;
  EXPECT_GE(restored.j()["memories"].get<int64_t>(), static_cast<int64_t>(before.size()) + 1);
  EXPECT_EQ(restored.j()["memories"], made.j()["memory_count"]);
  const std::string rows = dump(target);
  for (const std::string& hash : before) {
    EXPECT_NE(rows.find(hash), std::string::npos) << hash;
  }
}

TEST_F(BackupCliTest, AServerWithAPassphraseMakesEncryptedBackupsAndRefusesToStartWithoutOne) {
  store("served memory");
  const int port = free_port();
  const std::string port_arg = std::to_string(port);
  // Encryption asked for without a passphrase: serve stops at once, saying what to set.
  Proc refused = run({"serve", "--http", "--port", port_arg}, {"MCP_BACKUP_ENCRYPT=true"});
  EXPECT_EQ(refused.code, 1);
  EXPECT_NE(refused.err.find("MCP_BACKUP_PASSPHRASE"), std::string::npos) << refused.err;

  env_.push_back("MCP_BACKUP_PASSPHRASE_FILE=" + passphrase_file());
  start_serve(port, "test-key");
  json status = body_of(http(port, "GET", "/api/backup/status", "test-key"));
  ASSERT_TRUE(status.is_object()) << slurp(dir_ / "serve.err");
  EXPECT_EQ(status["encrypted"], true);
  json now = body_of(http(port, "POST", "/api/backup/now", "test-key"));
  ASSERT_EQ(now["success"], true) << now.dump();
  EXPECT_EQ(now["encrypted"], true);
  EXPECT_EQ(now["memory_count"], 1);
  EXPECT_TRUE(now["filename"].get<std::string>().ends_with(".db.enc"));
  json list = body_of(http(port, "GET", "/api/backup/list", "test-key"));
  ASSERT_EQ(list["total_count"], 1);
  EXPECT_EQ(list["backups"][0]["encrypted"], true);
  EXPECT_EQ(list["backups"][0]["filename"], now["filename"]);
  // What the server wrote restores with the same passphrase file.
  Proc restored = run({"restore", "--backup", backups_ + "/" + now["filename"].get<std::string>(),
                       "--to", dir_ / "from-server.db"});
  ASSERT_EQ(restored.code, 0) << restored.err;
  EXPECT_NE(restored.out.find("Restored 1 memory to "), std::string::npos) << restored.out;
}

}  // namespace

namespace {

// The sync guide's backup_master.sh copies the live file with `cp`: a memory the running server
// committed to the WAL is not in it. `backup` copies it.
TEST_F(BackupCliTest, TheGuidesCpOfALiveDatabaseMissesAMemoryThatBackupKeeps_Issue17) {
  store("stored before the server started");
  const int port = free_port();
  start_serve(port, "test-key");
  const std::string stored = http(port, "POST", "/api/memories", "test-key",
                                  R"({"content": "stored through the running server"})");
  ASSERT_NE(stored.find(" 200 "), std::string::npos) << stored;
  const std::string copy = dir_ / "cp-copy.db";
  fs::copy_file(db_, copy);
  EXPECT_NE(dump(copy).find("stored before the server started"), std::string::npos);
  EXPECT_EQ(dump(copy).find("stored through the running server"), std::string::npos)
      << "the WAL was checkpointed: cp happened to work this time";

  Proc made = run({"backup", "--json"});
  ASSERT_EQ(made.code, 0) << made.err;
  EXPECT_EQ(made.j()["memory_count"], 2);
  EXPECT_NE(dump(made.j()["path"]).find("stored through the running server"), std::string::npos);
}

}  // namespace
