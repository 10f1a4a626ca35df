// ChildProcess with fork and exec: one pipe for stdout and stderr, /dev/null for stdin, the
// parent's environment, close-on-exec everywhere else so the child holds none of our sockets or
// database files (but its own pipe's read end: see start); its own process group, and SIGTERM
// when we die.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "platform/child_process.h"

extern char** environ;

namespace mcpmem {

namespace {

// argv[0] as a path to execute: itself when it names a directory, else the first match in PATH.
std::string resolve_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  for (size_t start = 0; start <= dirs.size();) {
    size_t colon = dirs.find(':', start);
    if (colon == std::string::npos) colon = dirs.size();
    std::string candidate = dirs.substr(start, colon - start);
    candidate = (candidate.empty() ? "." : candidate) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = colon + 1;
  }
  return "";
}

}  // namespace

Result<std::unique_ptr<ChildProcess>> ChildProcess::start(const std::vector<std::string>& argv,
                                                          LineSink on_line) {
  if (argv.empty()) return Status::invalid_argument("no program to start");
  const std::string program = resolve_program(argv[0]);
  if (program.empty() || ::access(program.c_str(), X_OK) != 0) {
    return Status::not_found("cannot run " + argv[0] + ": not found or not executable");
  }
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return Status::io_error(std::string("pipe: ") + std::strerror(errno));
  }
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = ::getpid();
  // fork, not posix_spawn: the child must be in its own process group (a terminal's Ctrl+C or
  // a group signal reaches us, and we stop it in order: Litestream after the database is
  // closed) and must die with us (PR_SET_PDEATHSIG), so a killed server never leaves an
  // orphan replicating beside the next one. Only system calls between fork and exec.
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return Status::io_error(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);  // the parent is gone already
    const int null_in = ::open("/dev/null", O_RDONLY);
    if (null_in < 0 || ::dup2(null_in, 0) < 0 || ::dup2(fds[1], 1) < 0 || ::dup2(fds[1], 2) < 0) {
      ::_exit(127);
    }
    // The child holds the pipe's read end too (fd 3, kept across exec), so the pipe outlives
    // us: when we are killed, Litestream's "signal received" line must not hit a broken pipe,
    // which a Go program dies of (SIGPIPE on fd 1 or 2) before its final sync. Nothing reads
    // fd 3; what it writes after we are gone waits in the pipe's buffer (64 KiB on Linux).
    if (fds[0] == 3 ? ::fcntl(3, F_SETFD, 0) < 0 : ::dup2(fds[0], 3) < 0) ::_exit(127);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);
    ::execve(program.c_str(), args.data(), environ);
    ::_exit(127);
  }
  ::close(fds[1]);
  return std::unique_ptr<ChildProcess>(new ChildProcess(pid, -1, fds[0], std::move(on_line)));
}

size_t ChildProcess::read_some(std::intptr_t output, char* buffer, size_t size) {
  for (;;) {
    const ssize_t n = ::read(static_cast<int>(output), buffer, size);
    if (n < 0 && errno == EINTR) continue;
    return n > 0 ? static_cast<size_t>(n) : 0;
  }
}

void ChildProcess::close_output(std::intptr_t output) { ::close(static_cast<int>(output)); }

void ChildProcess::terminate() { ::kill(pid_, SIGTERM); }
void ChildProcess::kill() { ::kill(pid_, SIGKILL); }

std::optional<int> ChildProcess::wait_for(std::chrono::milliseconds timeout) {
  if (exit_code_) return exit_code_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      if (reader_.joinable()) reader_.join();  // the pipe ends with the child
      return exit_code_;
    }
    if (done < 0 && errno != EINTR) return std::nullopt;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void ChildProcess::release_process() {}

bool process_exists(int pid) {
  if (pid <= 0) return false;
  return ::kill(pid, 0) == 0 || errno == EPERM;  // EPERM: it exists, owned by another user
}

int current_process_id() { return static_cast<int>(::getpid()); }

void set_environment(const std::string& name, const std::string& value) {
  ::setenv(name.c_str(), value.c_str(), 1);
}

std::string executable_path() {
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? "" : exe.string();
}

}  // namespace mcpmem
