// Binary stdin, stdout and stderr, and a UTF-8 console: see console.h.
// windows.h (through windows_text.h) before shellapi.h, which needs its definitions.
#include "platform/windows_text.h"
// clang-format off
#include <shellapi.h>
// clang-format on
#include <fcntl.h>
#include <io.h>

#include <cstdio>

#include "platform/console.h"

namespace mcpmem {

void use_binary_standard_streams() {
  // A service has no standard streams: _fileno() is then negative, and _setmode() on it would
  // end the process (the C runtime's invalid-parameter handler).
  for (FILE* stream : {stdin, stdout, stderr}) {
    if (_fileno(stream) >= 0) _setmode(_fileno(stream), _O_BINARY);
  }
  SetConsoleOutputCP(CP_UTF8);
}

std::vector<std::string> utf8_arguments(int argc, char** argv) {
  int count = 0;
  wchar_t** wide = CommandLineToArgvW(GetCommandLineW(), &count);
  if (wide == nullptr) return std::vector<std::string>(argv, argv + argc);
  std::vector<std::string> args;
  for (int i = 0; i < count; ++i) args.push_back(narrow(wide[i]));
  LocalFree(wide);
  return args;
}

Status check_path_encoding(const std::string& what, const std::string& path) {
  for (unsigned char c : path) {
    if (c >= 0x80) {
      return Status::failed_precondition(
          what + " " + path +
          " has a character outside ASCII, which mcp-memory for Windows cannot use in a file "
          "name yet: set MCP_MEMORY_BASE_DIR (or --db-path) to a path such as "
          "C:\\mcp-memory");
    }
  }
  return Status::ok();
}

}  // namespace mcpmem
