// ChildProcess on Windows: CreateProcessW with one pipe for stdout and stderr and NUL for stdin,
// in its own process group (so Ctrl+Break can be sent to it alone) and in a job object that
// kills it when we die: no orphans, as PR_SET_PDEATHSIG gives on Linux.
#include <csignal>
#include <filesystem>

#include "platform/child_process.h"
#include "platform/windows_command_line.h"
#include "platform/windows_text.h"

namespace mcpmem {
namespace {

// The job every child joins: closing its last handle (our exit, however it happens) kills them.
HANDLE children_job() {
  static HANDLE job = [] {
    HANDLE j = CreateJobObjectW(nullptr, nullptr);
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits{};
    limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
    if (j != nullptr) {
      SetInformationJobObject(j, JobObjectExtendedLimitInformation, &limits, sizeof limits);
    }
    return j;
  }();
  return job;
}

}  // namespace

Result<std::unique_ptr<ChildProcess>> ChildProcess::start(const std::vector<std::string>& argv,
                                                          LineSink on_line) {
  if (argv.empty()) return Status::invalid_argument("no program to start");
  SECURITY_ATTRIBUTES inheritable{sizeof(SECURITY_ATTRIBUTES), nullptr, TRUE};
  HANDLE read_raw = nullptr, write_raw = nullptr;
  if (!CreatePipe(&read_raw, &write_raw, &inheritable, 0)) {
    return Status::io_error("pipe: " + windows_error_text());
  }
  UniqueHandle read_end(read_raw), write_end(write_raw);
  SetHandleInformation(read_end.get(), HANDLE_FLAG_INHERIT, 0);
  UniqueHandle null_in(CreateFileW(L"NUL", GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE,
                                   &inheritable, OPEN_EXISTING, 0, nullptr));
  STARTUPINFOW startup{};
  startup.cb = sizeof startup;
  startup.dwFlags = STARTF_USESTDHANDLES;
  startup.hStdInput = null_in.get();
  startup.hStdOutput = write_end.get();
  startup.hStdError = write_end.get();
  std::wstring command_line = widen(windows_command_line(argv));
  // Suspended until it is in the job; without a console of ours it gets none (no window).
  DWORD flags = CREATE_NEW_PROCESS_GROUP | CREATE_UNICODE_ENVIRONMENT | CREATE_SUSPENDED;
  if (GetConsoleWindow() == nullptr) flags |= CREATE_NO_WINDOW;
  PROCESS_INFORMATION info{};
  if (!CreateProcessW(nullptr, command_line.data(), nullptr, nullptr, TRUE, flags, nullptr, nullptr,
                      &startup, &info)) {
    const DWORD err = GetLastError();
    if (err == ERROR_FILE_NOT_FOUND || err == ERROR_PATH_NOT_FOUND || err == ERROR_BAD_EXE_FORMAT) {
      return Status::not_found("cannot run " + argv[0] + ": not found or not executable");
    }
    return Status::io_error("starting " + argv[0] + ": " + windows_error_text(err));
  }
  if (HANDLE job = children_job()) AssignProcessToJobObject(job, info.hProcess);
  ResumeThread(info.hThread);
  CloseHandle(info.hThread);
  write_end.reset();  // the child holds the only write end: the pipe ends when it exits
  return std::unique_ptr<ChildProcess>(new ChildProcess(
      static_cast<int>(info.dwProcessId), reinterpret_cast<std::intptr_t>(info.hProcess),
      reinterpret_cast<std::intptr_t>(read_end.release()), std::move(on_line)));
}

size_t ChildProcess::read_some(std::intptr_t output, char* buffer, size_t size) {
  DWORD n = 0;
  const bool read =
      ReadFile(reinterpret_cast<HANDLE>(output), buffer, static_cast<DWORD>(size), &n, nullptr);
  return read ? n : 0;
}

void ChildProcess::close_output(std::intptr_t output) {
  CloseHandle(reinterpret_cast<HANDLE>(output));
}

// Ctrl+Break to its process group is how a console program is asked to stop (Go programs such
// as Litestream take it as os.Interrupt). It needs a console we share; without one the only
// way left is TerminateProcess.
void ChildProcess::terminate() {
  if (!GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, static_cast<DWORD>(pid_))) kill();
}

void ChildProcess::kill() { TerminateProcess(reinterpret_cast<HANDLE>(process_), 128 + SIGTERM); }

std::optional<int> ChildProcess::wait_for(std::chrono::milliseconds timeout) {
  if (exit_code_) return exit_code_;
  const HANDLE process = reinterpret_cast<HANDLE>(process_);
  const DWORD ms = static_cast<DWORD>(std::min<int64_t>(timeout.count(), INFINITE - 1));
  if (WaitForSingleObject(process, ms) != WAIT_OBJECT_0) return std::nullopt;
  DWORD code = 0;
  GetExitCodeProcess(process, &code);
  exit_code_ = static_cast<int>(code);
  if (reader_.joinable()) reader_.join();  // the pipe ends with the child
  return exit_code_;
}

void ChildProcess::release_process() { CloseHandle(reinterpret_cast<HANDLE>(process_)); }

bool process_exists(int pid) {
  if (pid <= 0) return false;
  UniqueHandle process(
      OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, static_cast<DWORD>(pid)));
  if (!process.valid()) return GetLastError() == ERROR_ACCESS_DENIED;  // another user's
  DWORD code = 0;
  return GetExitCodeProcess(process.get(), &code) && code == STILL_ACTIVE;
}

int current_process_id() { return static_cast<int>(GetCurrentProcessId()); }

void set_environment(const std::string& name, const std::string& value) {
  // The UTF-16 environment, which children and process_environment() read; the C runtime
  // updates its narrow copy too.
  _wputenv_s(widen(name).c_str(), widen(value).c_str());
}

std::string executable_path() {
  std::wstring path(32768, L'\0');
  const DWORD n = GetModuleFileNameW(nullptr, path.data(), static_cast<DWORD>(path.size()));
  path.resize(n);
  return narrow(path);
}

}  // namespace mcpmem
