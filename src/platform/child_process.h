// A child process whose output we read line by line: what runs Litestream beside us. Its
// stdout and stderr go to one pipe that a thread reads, handing each line (without the
// newline) to `on_line`; stdin is /dev/null. The child gets the parent's environment, runs in
// its own process group (signals for ours, e.g. Ctrl+C, are ours to pass on) and gets SIGTERM
// when the thread that started it ends (Linux PR_SET_PDEATHSIG): no orphans.
// Thread-safety: terminate() and kill() may be called from any thread, wait_for() from the
// owner's only; on_line runs on the reader thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/status.h"

namespace mcpmem {

class ChildProcess {
 public:
  using LineSink = std::function<void(std::string_view line)>;

  // Starts argv[0] (a path, or a name looked up in PATH) with argv. NotFound when it cannot
  // be executed.
  static Result<std::unique_ptr<ChildProcess>> start(const std::vector<std::string>& argv,
                                                     LineSink on_line);
  // Stops it (terminate(), then kill after 10 s) and waits for it.
  ~ChildProcess();

  int pid() const { return pid_; }
  void terminate();  // SIGTERM: Litestream syncs once more, then exits
  void kill();       // SIGKILL
  // The exit code once it has exited (128 + signal when a signal ended it), nullopt when it
  // still runs after `timeout`. Every line of its output has been delivered by then.
  std::optional<int> wait_for(std::chrono::milliseconds timeout);

 private:
  // `process`: Windows' process handle (POSIX: -1); `output`: the pipe's read end.
  ChildProcess(int pid, std::intptr_t process, std::intptr_t output, LineSink on_line);
  static void read_lines(std::intptr_t output, const LineSink& on_line);
  static size_t read_some(std::intptr_t output, char* buffer, size_t size);  // 0: the end
  static void close_output(std::intptr_t output);
  void release_process();  // Windows: closes the process handle (in the destructor)

  const int pid_;
  const std::intptr_t process_;
  std::thread reader_;
  std::optional<int> exit_code_;
};

// Runs argv to its end and returns what it printed (stdout and stderr) and its exit code, or
// an IoError after `timeout` (the child is killed).
struct ChildOutput {
  int exit_code = 0;
  std::string output;
};
Result<ChildOutput> run_child(const std::vector<std::string>& argv,
                              std::chrono::milliseconds timeout);

// Whether a process with this id exists (any user's): how a state file left by a process that
// died is told from one whose writer still runs.
bool process_exists(int pid);
// This process's id.
int current_process_id();
// Sets an environment variable of this process (setenv, _putenv_s), for what it reads next
// and the children it starts.
void set_environment(const std::string& name, const std::string& value);
// The running program's own file (/proc/self/exe, GetModuleFileNameW), "" if unknown.
std::string executable_path();

}  // namespace mcpmem
