// POSIX streams are bytes already: see console.h.
#include "platform/console.h"

namespace mcpmem {

void use_binary_standard_streams() {}

std::vector<std::string> utf8_arguments(int argc, char** argv) {
  return std::vector<std::string>(argv, argv + argc);
}

Status check_path_encoding(const std::string&, const std::string&) { return Status::ok(); }

}  // namespace mcpmem
