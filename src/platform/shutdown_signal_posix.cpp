// ShutdownSignal on POSIX: SIGINT and SIGTERM are blocked with pthread_sigmask (threads made
// afterwards inherit the mask) and taken by sigtimedwait in one thread, which wakes every
// 200 ms to notice destruction. SIGPIPE is ignored: a client that hangs up must not kill us.
#include <pthread.h>
#include <signal.h>

#include <csignal>
#include <ctime>

#include "platform/shutdown_signal.h"

namespace mcpmem {

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
}

ShutdownSignal::~ShutdownSignal() {
  done_.store(true);
  if (waiter_.joinable()) waiter_.join();
}

}  // namespace mcpmem
