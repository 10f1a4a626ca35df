// systemd and launchd run mcp-memory as a plain process: see system_service.h.
#include "platform/system_service.h"

namespace mcpmem {
namespace {

Status not_here() {
  return Status::failed_precondition(
      "only Windows has a service manager mcp-memory registers with itself; systemd and launchd "
      "run the unit or plist `service install` writes");
}

}  // namespace

Status register_service(const ServiceRegistration&) { return not_here(); }
Status unregister_service(const std::string&) { return not_here(); }
Result<int> run_as_service(const std::string&, const std::function<int()>&) { return not_here(); }

}  // namespace mcpmem
