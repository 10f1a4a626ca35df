// POSIX streams are bytes already: see console.h.
#include "platform/console.h"

extern char** environ;

namespace mcpmem {

void use_binary_standard_streams() {}

std::vector<std::string> utf8_arguments(int argc, char** argv) {
  return std::vector<std::string>(argv, argv + argc);
}

std::map<std::string, std::string> process_environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    const size_t eq = entry.find('=');
    if (eq != std::string_view::npos) env.emplace(entry.substr(0, eq), entry.substr(eq + 1));
  }
  return env;
}

Result<std::string> usable_path(const std::string&, const std::string& path) { return path; }

}  // namespace mcpmem
