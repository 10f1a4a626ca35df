// Files that hold secrets (the API key, TLS private keys): created readable by their owner only
// (mode 0600 on POSIX), never rewritten once made, and read back with a warning when another
// user could read them.
#pragma once

#include <string>

#include "core/status.h"

namespace mcpmem {

// Creates `path` (and its parent directories) with `content`, readable only by the owner.
// Fails with already_exists if the file exists: a secret is never overwritten.
Status create_secret_file(const std::string& path, const std::string& content);

// Reads a secret file. `*too_open` is set when group or others have any access to it.
Result<std::string> read_secret_file(const std::string& path, bool* too_open);

}  // namespace mcpmem
