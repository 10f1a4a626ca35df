// The API key of the HTTP server: MCP_API_KEY when set, else a key generated on first start
// (32 random bytes from OpenSSL, base64url) and kept in <base_dir>/api_key with mode 0600, so
// every later start, and every tool on this machine, uses the same key.
#pragma once

#include <string>
#include <string_view>

#include "core/config.h"
#include "core/status.h"

namespace mcpmem {

struct ApiKey {
  std::string key;
  std::string file;            // where it is kept; empty when it came from MCP_API_KEY
  bool generated = false;      // made by this call (the caller tells the user once)
  bool file_too_open = false;  // group/others can read the file
};

Result<ApiKey> resolve_api_key(const Config& config);

// The file the key is kept in (<base_dir>/api_key), or "" when MCP_API_KEY gives it.
std::string api_key_file(const Config& config);

// The secret token kept in `file`: read back when the file exists, else made with
// random_token() and written readable by the owner only. `*generated` is set when this call made
// it, `*too_open` when another user can read the file (either pointer may be null).
Result<std::string> kept_token(const std::string& file, bool* generated, bool* too_open);

// 32 random bytes as unpadded base64url (43 characters).
Result<std::string> random_token(size_t bytes = 32);

}  // namespace mcpmem
