// content_hash: the identity of a memory, exactly as the Python service computes it:
// hex(sha256(content.strip().lower().encode("utf-8"))). strip() removes leading and trailing
// characters Python calls whitespace (Unicode Zs and bidi classes WS, B, S); lower() is
// Python's full lowercase mapping (İ -> i̇, final sigma). Tested against hashes Python produced.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace mcpmem {

// True when `text` is well-formed UTF-8 (no overlongs, surrogates or code points > U+10FFFF).
bool is_valid_utf8(std::string_view text);

// Python's `text.strip()` (same whitespace as below). Invalid UTF-8 comes back unchanged.
std::string python_strip(std::string_view text);

// Python's `text.strip().lower()`. Requires valid UTF-8.
std::string python_strip_lower(std::string_view text);

// 64 lowercase hex characters; InvalidArgument when `content` is not valid UTF-8.
Result<std::string> content_hash(std::string_view content);

// Hex SHA-256 of raw bytes (OpenSSL).
std::string sha256_hex(std::string_view bytes);

}  // namespace mcpmem
