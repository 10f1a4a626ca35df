// How many descriptors the process may hold. A server holding 10,000 client connections needs
// more than the usual soft limit of 1,024, and the hard limit is the administrator's word on
// how many it may have: the server raises its soft limit to what it needs, within that.
#pragma once

#include <cstddef>

namespace mcpmem {

// Raises the soft limit on open files to `wanted` (or the hard limit, if lower) and returns the
// limit now in force. Never lowers it.
size_t raise_open_file_limit(size_t wanted);

}  // namespace mcpmem
