// POSIX streams are bytes already: see console.h.
#include "platform/console.h"

namespace mcpmem {

void use_binary_standard_streams() {}

}  // namespace mcpmem
