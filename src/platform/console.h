// The standard streams as the CLI and MCP's stdio transport need them: bytes in, bytes out.
// On Windows the C runtime opens them in text mode, which turns "\n" into "\r\n" (an MCP client
// reading newline-delimited JSON would get a stray "\r"; an export would differ from Linux's)
// and stops reading at a Ctrl+Z byte; the console shows UTF-8 only once asked to.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace mcpmem {

// Call first thing in main, before anything is read or written. POSIX: nothing to do.
void use_binary_standard_streams();

// The command line as UTF-8. Windows hands main() its arguments in the ANSI code page, which
// cannot hold most text ("café ✓" arrives damaged): they are read again from the UTF-16
// command line. POSIX: argv as it is.
std::vector<std::string> utf8_arguments(int argc, char** argv);

// Refuses a path this build cannot use as a file name, and says what to do instead (`what`
// names it: "the data directory"). POSIX: every path is fine. Windows: the C++ library's
// std::filesystem, as mingw-w64 builds it on msvcrt, reads a std::string as Latin-1, so a path
// with a character outside ASCII ("C:\Users\José") would name another file.
Status check_path_encoding(const std::string& what, const std::string& path);

}  // namespace mcpmem
