// Orderly shutdown of a server on SIGINT/SIGTERM (Ctrl+C, `kill`, systemd stop): the signals
// are blocked in every thread and received by one waiter thread, which calls `on_signal` once
// from a normal thread context (no async-signal-safety constraints on what it does).
#pragma once

#include <atomic>
#include <functional>
#include <thread>

namespace mcpmem {

class ShutdownSignal {
 public:
  // Call before starting other threads, so that they inherit the blocked signal mask.
  explicit ShutdownSignal(std::function<void(int signal)> on_signal);
  ~ShutdownSignal();  // stops waiting; restores nothing (the process is ending)

  ShutdownSignal(const ShutdownSignal&) = delete;
  ShutdownSignal& operator=(const ShutdownSignal&) = delete;

 private:
  std::atomic<bool> done_{false};
  std::thread waiter_;
};

}  // namespace mcpmem
