// Base64 (RFC 4648): the standard alphabet with padding (vectors in sync records, MCP header
// values) and the URL-safe one without padding (keys and session ids). OpenSSL does the work.
// Pure functions; safe from many threads.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mcpmem {

std::string base64_encode(std::string_view bytes);
// The bytes of padded standard base64, nullopt for anything else (a wrong length, a character
// outside the alphabet, padding that is not at the end).
std::optional<std::string> base64_decode(std::string_view text);

// `bytes` as unpadded base64url.
std::string base64url(std::string_view bytes);

}  // namespace mcpmem
