// What child processes do the same way on every platform.
#include "platform/child_process.h"

#include <memory>

namespace mcpmem {

ChildProcess::ChildProcess(int pid, std::intptr_t process, std::intptr_t output, LineSink on_line)
    : pid_(pid), process_(process) {
  reader_ = std::thread([output, on_line = std::move(on_line)] { read_lines(output, on_line); });
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
