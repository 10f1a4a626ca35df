// The operating system's service manager, where mcp-memory talks to it itself. On Windows the
// binary is its own service program: it registers with the Service Control Manager
// (CreateServiceW) and, started by it, runs the service control dispatcher, so a stop or a
// shutdown reaches the command as Ctrl+C does (shutdown_signal.h) and it winds down in order.
// systemd and launchd run a plain process and read files `service install` writes: there,
// these functions report FailedPrecondition.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/status.h"

namespace mcpmem {

#ifdef _WIN32
inline constexpr bool kWindowsServiceManager = true;
#else
inline constexpr bool kWindowsServiceManager = false;
#endif

struct ServiceRegistration {
  std::string name;          // "mcp-memory-sync"
  std::string display_name;  // what services.msc shows
  std::string description;
  std::vector<std::string> argv;  // the binary (absolute) and its arguments
};

// Registers (or, when it exists, updates) an automatically started service running as
// LocalSystem that the manager restarts after a failure (5 s, 5 s, then 60 s). Needs an
// administrator.
Status register_service(const ServiceRegistration& registration);
// Stops the service if it runs (waiting up to 60 s) and removes it. NotFound if there is none.
Status unregister_service(const std::string& name);

// Runs `body` as service `name` when the service manager started this process, and returns its
// exit code once it has returned (the manager is told STOPPED with that code). Run from a
// console instead, it runs `body` there, in the foreground.
Result<int> run_as_service(const std::string& name, const std::function<int()>& body);

}  // namespace mcpmem
