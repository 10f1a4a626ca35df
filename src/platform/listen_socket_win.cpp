// Listening socket options on Windows: see listen_socket.h. SO_EXCLUSIVEADDRUSE, because
// Windows' SO_REUSEADDR would let another process bind the same port and steal connections.
#include <winsock2.h>

#include "platform/listen_socket.h"

namespace mcpmem {

void set_exclusive_listen_options(std::uintptr_t socket) {
  BOOL yes = TRUE;
  (void)::setsockopt(static_cast<SOCKET>(socket), SOL_SOCKET, SO_EXCLUSIVEADDRUSE,
                     reinterpret_cast<const char*>(&yes), sizeof yes);
}

}  // namespace mcpmem
