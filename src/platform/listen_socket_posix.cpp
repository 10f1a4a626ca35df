// Listening socket options on POSIX: see listen_socket.h. On Linux SO_REUSEADDR lets a bind
// reuse a port held only by TIME_WAIT connections; a port with a listener stays EADDRINUSE.
#include <sys/socket.h>

#include "platform/listen_socket.h"

namespace mcpmem {

void set_exclusive_listen_options(std::uintptr_t socket) {
  int yes = 1;
  (void)::setsockopt(static_cast<int>(socket), SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
}

}  // namespace mcpmem
