// What a process is given (standard streams, arguments, environment, paths), as the rest of the
// program needs it: bytes, UTF-8 text, paths it can open. The standard streams: on Windows the
// C runtime opens them in text mode, which turns "\n" into "\r\n" (an MCP client reading
// newline-delimited JSON would get a stray "\r"; an export would differ from Linux's) and stops
// reading at a Ctrl+Z byte; the console shows UTF-8 only once asked to.
#pragma once

#include <map>
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

// The process environment as UTF-8, for config_from_env. Windows: read as UTF-16, since the C
// runtime's narrow copy is in the ANSI code page (MCP_MEMORY_BASE_DIR=C:\Users\José would
// arrive damaged). POSIX: environ as it is.
std::map<std::string, std::string> process_environment();

// The path as this build can open it (`what` names it in the error: "the data directory").
// POSIX: the path itself. Windows: the C++ library's std::filesystem, as mingw-w64 builds it on
// msvcrt, reads a std::string as Latin-1, so a path with characters outside ASCII
// ("C:\Users\José") would name another file. Such a path is given back with each folder outside
// ASCII replaced by Windows' short name for it ("C:\Users\JOSE~1\.local"), which is ASCII.
// A file name outside ASCII, or a folder that does not exist yet or has no short name (the
// drive makes none), gives an error that says what to do.
Result<std::string> usable_path(const std::string& what, const std::string& path);

}  // namespace mcpmem
