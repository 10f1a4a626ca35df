// What child processes do the same way on every platform.
#include "platform/child_process.h"

#include <memory>
#include <string>
#include <string_view>

namespace mcpmem {

ChildProcess::ChildProcess(int pid, std::intptr_t process, std::intptr_t output, LineSink on_line)
    : pid_(pid), process_(process) {
  reader_ = std::thread([output, on_line = std::move(on_line)] { read_lines(output, on_line); });
}

// Hands each line of the pipe to on_line (without its "\n" or "\r\n"), then closes the pipe
// (at the child's exit).
void ChildProcess::read_lines(std::intptr_t output, const LineSink& on_line) {
  std::string pending;
  char buffer[4096];
  for (size_t n; (n = read_some(output, buffer, sizeof buffer)) > 0;) {
    pending.append(buffer, n);
    for (size_t nl; (nl = pending.find('\n')) != std::string::npos;) {
      std::string_view line = std::string_view(pending).substr(0, nl);
      if (line.ends_with('\r')) line.remove_suffix(1);
      if (on_line) on_line(line);
      pending.erase(0, nl + 1);
    }
  }
  if (!pending.empty() && on_line) on_line(pending);
  close_output(output);
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
  release_process();
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
