// ShutdownSignal on Windows: one manual-reset event per process, named after its id
// ("Local\mcp-memory-stop-<pid>"), which a console control handler, a service stop or another
// process (request_shutdown) sets; a waiter thread wakes every 200 ms to notice destruction.
#include <csignal>
#include <string>

#include "platform/shutdown_signal.h"
#include "platform/windows_text.h"

namespace mcpmem {
namespace {

std::atomic<HANDLE> g_event{nullptr};
std::atomic<int> g_signal{SIGTERM};

std::wstring event_name(DWORD pid) { return L"Local\\mcp-memory-stop-" + std::to_wstring(pid); }

BOOL WINAPI on_console_event(DWORD type) {
  HANDLE event = g_event.load();
  if (event == nullptr) return FALSE;
  g_signal.store(type == CTRL_C_EVENT ? SIGINT : SIGTERM);
  SetEvent(event);
  // The process ends when this returns from a close, logoff or shutdown: give the shutdown
  // the few seconds Windows allows.
  if (type == CTRL_CLOSE_EVENT || type == CTRL_LOGOFF_EVENT || type == CTRL_SHUTDOWN_EVENT) {
    Sleep(4500);
  }
  return TRUE;
}

}  // namespace

ShutdownSignal::ShutdownSignal(std::function<void(int)> on_signal) {
  HANDLE event = CreateEventW(nullptr, TRUE, FALSE, event_name(GetCurrentProcessId()).c_str());
  g_event.store(event);
  SetConsoleCtrlHandler(on_console_event, TRUE);
  waiter_ = std::thread([this, event, on_signal = std::move(on_signal)] {
    while (!done_.load()) {
      if (event != nullptr && WaitForSingleObject(event, 200) == WAIT_OBJECT_0) {
        on_signal(g_signal.load());
        return;
      }
      if (event == nullptr) Sleep(200);
    }
  });
}

ShutdownSignal::~ShutdownSignal() {
  done_.store(true);
  if (waiter_.joinable()) waiter_.join();
  SetConsoleCtrlHandler(on_console_event, FALSE);
  if (HANDLE event = g_event.exchange(nullptr)) CloseHandle(event);
}

bool request_shutdown(int pid) {
  UniqueHandle event(OpenEventW(EVENT_MODIFY_STATE, FALSE, event_name(pid).c_str()));
  if (!event.valid() && pid == static_cast<int>(GetCurrentProcessId())) {
    // Our own request before our ShutdownSignal exists (a service stopped as it starts): the
    // event is made signalled and kept, and the ShutdownSignal made later opens it as it is.
    static HANDLE early = CreateEventW(nullptr, TRUE, FALSE, event_name(pid).c_str());
    return early != nullptr && SetEvent(early);
  }
  return event.valid() && SetEvent(event.get());
}

}  // namespace mcpmem
