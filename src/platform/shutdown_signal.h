// Orderly shutdown of a server on SIGINT/SIGTERM (Ctrl+C, `kill`, systemd stop): the signals
// are blocked in every thread and received by one waiter thread, which calls `on_signal` once
// from a normal thread context (no async-signal-safety constraints on what it does).
// On Windows the same comes from a console's Ctrl+C / Ctrl+Break / close, from a service stop,
// and from request_shutdown(): on_signal gets SIGINT for Ctrl+C, SIGTERM for the rest.
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

// Asks process `pid` to shut down in order, as `kill -TERM` does: POSIX sends SIGTERM; Windows
// signals the event that process's ShutdownSignal waits on. False when there is no such process
// or it has no ShutdownSignal (Windows) to ask.
bool request_shutdown(int pid);

}  // namespace mcpmem
