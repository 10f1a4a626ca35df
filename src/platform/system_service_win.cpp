// Windows services: registration with the Service Control Manager, and the service program's
// side (StartServiceCtrlDispatcherW, a control handler that turns STOP and SHUTDOWN into a
// shutdown request). See system_service.h.
#include <chrono>
#include <thread>

#include "platform/child_process.h"
#include "platform/shutdown_signal.h"
#include "platform/system_service.h"
#include "platform/windows_command_line.h"
#include "platform/windows_text.h"

namespace mcpmem {
namespace {

constexpr DWORD kStopWaitHint = 60'000;  // a hub stops Litestream after its last sync

class ScHandle {
 public:
  explicit ScHandle(SC_HANDLE h) : h_(h) {}
  ~ScHandle() {
    if (h_ != nullptr) CloseServiceHandle(h_);
  }
  ScHandle(const ScHandle&) = delete;
  ScHandle& operator=(const ScHandle&) = delete;
  SC_HANDLE get() const { return h_; }
  void reset(SC_HANDLE h) {
    if (h_ != nullptr) CloseServiceHandle(h_);
    h_ = h;
  }
  explicit operator bool() const { return h_ != nullptr; }

 private:
  SC_HANDLE h_;
};

// The running service: what service_main and the control handler share.
struct RunningService {
  std::wstring name;
  const std::function<int()>* body = nullptr;
  SERVICE_STATUS_HANDLE handle = nullptr;
  int exit_code = 0;
};
RunningService* g_service = nullptr;

void report(DWORD state, int exit_code = 0) {
  SERVICE_STATUS status{};
  status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
  status.dwCurrentState = state;
  status.dwControlsAccepted =
      state == SERVICE_RUNNING ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN : 0;
  if (exit_code != 0) {
    status.dwWin32ExitCode = ERROR_SERVICE_SPECIFIC_ERROR;
    status.dwServiceSpecificExitCode = static_cast<DWORD>(exit_code);
  }
  status.dwWaitHint = state == SERVICE_STOP_PENDING ? kStopWaitHint : 0;
  SetServiceStatus(g_service->handle, &status);
}

DWORD WINAPI on_control(DWORD control, DWORD, void*, void*) {
  switch (control) {
    case SERVICE_CONTROL_STOP:
    case SERVICE_CONTROL_SHUTDOWN:
      report(SERVICE_STOP_PENDING);
      request_shutdown(current_process_id());
      return NO_ERROR;
    case SERVICE_CONTROL_INTERROGATE:
      return NO_ERROR;
    default:
      return ERROR_CALL_NOT_IMPLEMENTED;
  }
}

void WINAPI service_main(DWORD, LPWSTR*) {
  g_service->handle = RegisterServiceCtrlHandlerExW(g_service->name.c_str(), on_control, nullptr);
  if (g_service->handle == nullptr) return;
  report(SERVICE_RUNNING);
  g_service->exit_code = (*g_service->body)();
  report(SERVICE_STOPPED, g_service->exit_code);
}

}  // namespace

Status register_service(const ServiceRegistration& r) {
  ScHandle manager(OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CREATE_SERVICE));
  if (!manager) {
    return Status::failed_precondition(
        "opening the Service Control Manager (run as an "
        "administrator): " +
        windows_error_text());
  }
  const std::wstring name = widen(r.name), display = widen(r.display_name);
  const std::wstring command = widen(windows_command_line(r.argv));
  ScHandle service(CreateServiceW(manager.get(), name.c_str(), display.c_str(), SERVICE_ALL_ACCESS,
                                  SERVICE_WIN32_OWN_PROCESS, SERVICE_AUTO_START,
                                  SERVICE_ERROR_NORMAL, command.c_str(), nullptr, nullptr, nullptr,
                                  nullptr, nullptr));
  if (!service && GetLastError() == ERROR_SERVICE_EXISTS) {
    service.reset(OpenServiceW(manager.get(), name.c_str(), SERVICE_ALL_ACCESS));
    if (service &&
        !ChangeServiceConfigW(service.get(), SERVICE_WIN32_OWN_PROCESS, SERVICE_AUTO_START,
                              SERVICE_ERROR_NORMAL, command.c_str(), nullptr, nullptr, nullptr,
                              nullptr, nullptr, display.c_str())) {
      return Status::io_error("updating service " + r.name + ": " + windows_error_text());
    }
  }
  if (!service) return Status::io_error("creating service " + r.name + ": " + windows_error_text());
  std::wstring description = widen(r.description);
  SERVICE_DESCRIPTIONW text{description.data()};
  ChangeServiceConfig2W(service.get(), SERVICE_CONFIG_DESCRIPTION, &text);
  SC_ACTION actions[] = {
      {SC_ACTION_RESTART, 5'000}, {SC_ACTION_RESTART, 5'000}, {SC_ACTION_RESTART, 60'000}};
  SERVICE_FAILURE_ACTIONSW failure{};
  failure.dwResetPeriod = 86'400;
  failure.cActions = 3;
  failure.lpsaActions = actions;
  if (!ChangeServiceConfig2W(service.get(), SERVICE_CONFIG_FAILURE_ACTIONS, &failure)) {
    return Status::io_error("setting the restarts of service " + r.name + ": " +
                            windows_error_text());
  }
  return Status::ok();
}

Status unregister_service(const std::string& name) {
  ScHandle manager(OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CONNECT));
  if (!manager) {
    return Status::failed_precondition("opening the Service Control Manager: " +
                                       windows_error_text());
  }
  ScHandle service(OpenServiceW(manager.get(), widen(name).c_str(),
                                SERVICE_STOP | SERVICE_QUERY_STATUS | DELETE));
  if (!service) {
    const DWORD err = GetLastError();
    if (err == ERROR_SERVICE_DOES_NOT_EXIST) return Status::not_found("no service " + name);
    return Status::io_error("opening service " + name + ": " + windows_error_text(err));
  }
  SERVICE_STATUS status{};
  if (ControlService(service.get(), SERVICE_CONTROL_STOP, &status)) {
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(kStopWaitHint);
    while (QueryServiceStatus(service.get(), &status) && status.dwCurrentState != SERVICE_STOPPED &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  if (!DeleteService(service.get())) {
    return Status::io_error("removing service " + name + ": " + windows_error_text());
  }
  return Status::ok();
}

Result<int> run_as_service(const std::string& name, const std::function<int()>& body) {
  RunningService running{widen(name), &body};
  g_service = &running;
  SERVICE_TABLE_ENTRYW table[] = {{running.name.data(), service_main}, {nullptr, nullptr}};
  const bool dispatched = StartServiceCtrlDispatcherW(table);
  g_service = nullptr;
  if (dispatched) return running.exit_code;
  if (GetLastError() == ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) return body();  // a console's
  return Status::io_error("starting service " + name + ": " + windows_error_text());
}

}  // namespace mcpmem
