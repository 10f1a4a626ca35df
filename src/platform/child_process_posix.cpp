// ChildProcess with posix_spawn: one pipe for stdout and stderr, /dev/null for stdin, the
// parent's environment, close-on-exec everywhere else so the child holds none of our sockets or
// database files.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "platform/child_process.h"

extern char** environ;

namespace mcpmem {

Result<std::unique_ptr<ChildProcess>> ChildProcess::start(const std::vector<std::string>& argv,
                                                          LineSink on_line) {
  if (argv.empty()) return Status::invalid_argument("no program to start");
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return Status::io_error(std::string("pipe: ") + std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;  // the child starts with default handlers and nothing blocked
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int failed = ::posix_spawnp(&pid, args[0], &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(fds[1]);
  if (failed != 0) {
    ::close(fds[0]);
    return Status::not_found("cannot run " + argv[0] + ": " + std::strerror(failed));
  }
  return std::unique_ptr<ChildProcess>(new ChildProcess(pid, fds[0], std::move(on_line)));
}

ChildProcess::ChildProcess(int pid, int out_fd, LineSink on_line) : pid_(pid) {
  reader_ = std::thread([out_fd, on_line = std::move(on_line)] {
    std::string pending;
    char buf[4096];
    for (;;) {
      const ssize_t n = ::read(out_fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      pending.append(buf, static_cast<size_t>(n));
      for (size_t nl; (nl = pending.find('\n')) != std::string::npos;) {
        if (on_line) on_line(std::string_view(pending).substr(0, nl));
        pending.erase(0, nl + 1);
      }
    }
    if (!pending.empty() && on_line) on_line(pending);
    ::close(out_fd);
  });
}

ChildProcess::~ChildProcess() {
  if (!wait_for(std::chrono::milliseconds(0))) {
    terminate();
    if (!wait_for(std::chrono::seconds(10))) {
      kill();
      wait_for(std::chrono::hours(1));
    }
  }
  if (reader_.joinable()) reader_.join();
}

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

Result<ChildOutput> run_child(const std::vector<std::string>& argv,
                              std::chrono::milliseconds timeout) {
  auto output = std::make_shared<std::string>();
  auto child = ChildProcess::start(argv, [output](std::string_view line) {
    output->append(line);
    output->push_back('\n');
  });
  if (!child.is_ok()) return child.status();
  auto code = (*child)->wait_for(timeout);
  if (!code) {
    (*child)->kill();
    (*child)->wait_for(std::chrono::seconds(10));
    return Status::io_error(argv[0] + " did not finish within " +
                                     std::to_string(timeout.count() / 1000) + " s");
  }
  return ChildOutput{*code, std::move(*output)};
}

}  // namespace mcpmem
