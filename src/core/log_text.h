// Text from outside (a request path, a header) made safe to put in a log line: it cannot end
// the line or start a forged one, and it cannot carry terminal escape sequences.
#pragma once

#include <string>
#include <string_view>

namespace mcpmem {

// Bytes below 0x20 and 0x7F become \n, \r, \t or \xNN; a backslash becomes \\ (so the escaped
// text reads back unambiguously); everything else, UTF-8 included, is kept. Thread-safe.
std::string escape_log_text(std::string_view text);

}  // namespace mcpmem
