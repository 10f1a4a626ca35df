// Windows command lines as text, on every platform: what CreateProcessW and the Service
// Control Manager are given, and what `service install --windows` prints on Linux.
#pragma once

#include <string>
#include <vector>

namespace mcpmem {

// argv joined so that CommandLineToArgvW (and the C runtime) split it back into the same
// arguments: an argument with a space, tab or quote (or an empty one) is quoted, and the
// backslashes before a quote are doubled.
std::string windows_command_line(const std::vector<std::string>& argv);

}  // namespace mcpmem
