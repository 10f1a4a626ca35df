// Options of a listening socket. SO_REUSEPORT (which the old server library set) lets a second
// process bind a port that is in use, and the kernel then splits connections between the two
// (issue 15: a hub "restarted" while the old process ran split its spokes between two
// databases). These options let a restarted server bind over TIME_WAIT connections but never
// share a port with a running one.
#pragma once

#include <cstdint>

namespace mcpmem {

// Sets the options on a socket before it is bound: SO_REUSEADDR on POSIX (no SO_REUSEPORT),
// SO_EXCLUSIVEADDRUSE on Windows. Errors are ignored: bind() then reports what matters.
void set_exclusive_listen_options(std::uintptr_t socket);

}  // namespace mcpmem
