// Litestream run by us: found, its version checked, and supervised as a child process that
// replicates the database while we run (restarted with backoff when it dies, stopped after the
// database is closed, its log lines in ours). DESIGN §5.3; notes/litestream.md has what the
// version we ship (0.3.13) was measured to do.
// Thread-safety: LitestreamSupervisor's methods may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "core/config.h"
#include "core/status.h"
#include "core/thread_annotations.h"
#include "platform/child_process.h"

namespace mcpmem {

// The litestream binary: MCP_MEMORY_LITESTREAM when set, else `litestream` beside our own
// executable, else the one `scripts/install-deps` put in the source tree's node_modules
// (`<exe dir>/../node_modules/@flydotio/litestream-linux-x64/litestream`), else `litestream`
// in PATH. Checked to run and to be the 0.3 line (0.5 has other commands and keys).
Result<std::string> find_litestream(const Config& config);

// Where `replicate --replica` writes the configuration it makes: <base_dir>/litestream.yml.
std::string generated_litestream_config_path(const Config& config);
// Where the guide keeps a machine's own litestream.yml: /etc/litestream.yml, and on Windows
// %ProgramData%\litestream\litestream.yml (C:\ProgramData\...).
std::string system_litestream_config_path();

class LitestreamSupervisor {
 public:
  // `guard`, when given, must stay OK for Litestream to run: it is checked before every start
  // and every 2 s while it runs (the replica fence); once it fails, Litestream is
  // stopped and not started again, and state().last_error says why.
  LitestreamSupervisor(std::string binary, std::string config_path,
                       std::function<Status()> guard = {});
  ~LitestreamSupervisor();  // stop()

  // Starts `litestream replicate -config <config_path>`; an error when it cannot be started or
  // exits within its first second (a config it refuses).
  Status start() MCP_EXCLUDES(mu_);
  // SIGTERM (Litestream syncs once more and exits), waits up to 30 s, then SIGKILL.
  void stop() MCP_EXCLUDES(mu_);

  struct State {
    bool running = false;
    int restarts = 0;
    std::string last_error;  // the last line Litestream logged at level ERROR, if any
    bool gave_up = false;    // the guard failed: it will not run again
  };
  State state() const MCP_EXCLUDES(mu_);
  int restarts() const MCP_EXCLUDES(mu_) { return state().restarts; }

 private:
  void supervise(std::unique_ptr<ChildProcess> child) MCP_EXCLUDES(mu_);
  // Litestream's log line into ours; an error line is also kept for state().
  void on_line(std::string_view line) MCP_EXCLUDES(mu_);
  Result<std::unique_ptr<ChildProcess>> launch();

  const std::string binary_;
  const std::string config_path_;
  const std::function<Status()> guard_;
  mutable Mutex mu_;
  std::condition_variable wake_;
  bool stopping_ MCP_GUARDED_BY(mu_) = false;
  int restarts_ MCP_GUARDED_BY(mu_) = 0;
  bool gave_up_ MCP_GUARDED_BY(mu_) = false;
  ChildProcess* running_ MCP_GUARDED_BY(mu_) = nullptr;  // owned by the supervising thread
  std::string last_error_ MCP_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace mcpmem
