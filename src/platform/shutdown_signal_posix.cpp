// ShutdownSignal on POSIX: SIGINT and SIGTERM are blocked with pthread_sigmask (threads made
// afterwards inherit the mask) and taken by sigtimedwait in one thread, which wakes every
// 200 ms to notice destruction; a handler passes on what reaches other threads (below).
// SIGPIPE is ignored: a client that hangs up must not kill us.
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <csignal>
#include <ctime>

#include "platform/shutdown_signal.h"

namespace mcpmem {
namespace {

// Threads made before the mask was set (a library's pool started as it was loaded, such as
// OpenBLAS's) do not block the signals, and the kernel may hand a SIGTERM to one of them: with
// no handler that kills the process. The handler passes the signal on to the waiter, which
// blocks it and so receives it in sigtimedwait. pthread_kill is async-signal-safe.
std::atomic<bool> g_waiting{false};
std::atomic<pthread_t> g_waiter{};

extern "C" void forward_to_waiter(int sig) {
  if (g_waiting.load()) pthread_kill(g_waiter.load(), sig);
}

}  // namespace

ShutdownSignal::ShutdownSignal(std::function<void(int)> on_signal) {
  std::signal(SIGPIPE, SIG_IGN);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  waiter_ = std::thread([this, set, on_signal = std::move(on_signal)] {
    const timespec tick{0, 200 * 1000 * 1000};
    while (!done_.load()) {
      int sig = sigtimedwait(&set, nullptr, &tick);
      if (sig > 0) {
        on_signal(sig);
        return;
      }
    }
  });
  g_waiter.store(waiter_.native_handle());
  g_waiting.store(true);
  struct sigaction forward {};
  forward.sa_handler = forward_to_waiter;
  sigemptyset(&forward.sa_mask);
  forward.sa_flags = SA_RESTART;
  sigaction(SIGINT, &forward, nullptr);
  sigaction(SIGTERM, &forward, nullptr);
}

bool request_shutdown(int pid) { return pid > 0 && ::kill(pid, SIGTERM) == 0; }

ShutdownSignal::~ShutdownSignal() {
  done_.store(true);
  g_waiting.store(false);  // the waiter's id is valid until joined
  if (waiter_.joinable()) waiter_.join();
}

}  // namespace mcpmem
