// Litestream run by us: found, its version checked, and supervised as a child process that
// replicates the database while we run (restarted with backoff when it dies, stopped after the
// database is closed, its log lines in ours). DESIGN §5.3; notes/litestream.md has what the
// version we ship (0.3.13) was measured to do.
// Thread-safety: LitestreamSupervisor's methods may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
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

class LitestreamSupervisor {
 public:
  LitestreamSupervisor(std::string binary, std::string config_path);
  ~LitestreamSupervisor();  // stop()

  // Starts `litestream replicate -config <config_path>`; an error when it cannot be started or
  // exits within its first second (a config it refuses).
  Status start() MCP_EXCLUDES(mu_);
  // SIGTERM (Litestream syncs once more and exits), waits up to 30 s, then SIGKILL.
  void stop() MCP_EXCLUDES(mu_);

  int restarts() const MCP_EXCLUDES(mu_);

 private:
  void supervise(std::unique_ptr<ChildProcess> child) MCP_EXCLUDES(mu_);
  Result<std::unique_ptr<ChildProcess>> launch() const;

  const std::string binary_;
  const std::string config_path_;
  mutable Mutex mu_;
  std::condition_variable wake_;
  bool stopping_ MCP_GUARDED_BY(mu_) = false;
  int restarts_ MCP_GUARDED_BY(mu_) = 0;
  ChildProcess* running_ MCP_GUARDED_BY(mu_) = nullptr;  // owned by the supervising thread
  std::thread thread_;
};

}  // namespace mcpmem
