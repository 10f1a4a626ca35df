#include "core/base64.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>

namespace mcpmem {

std::string base64_encode(std::string_view bytes) {
  std::string text(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(text.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  text.resize(static_cast<size_t>(n));
  return text;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  const size_t padding = text.ends_with("==") ? 2 : text.ends_with("=") ? 1 : 0;
  if (std::find(text.begin(), text.end() - static_cast<std::ptrdiff_t>(padding), '=') !=
      text.end() - static_cast<std::ptrdiff_t>(padding)) {
    return std::nullopt;
  }
  std::string raw(text.size() / 4 * 3, '\0');
  // EVP_DecodeBlock skips leading and trailing blanks; we do not take them.
  if (!text.empty() && (std::isspace(static_cast<unsigned char>(text.front())) ||
                        std::isspace(static_cast<unsigned char>(text.back())))) {
    return std::nullopt;
  }
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(raw.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  raw.resize(static_cast<size_t>(n) - padding);  // it counts the padding as zero bytes
  return raw;
}

std::string base64url(std::string_view bytes) {
  std::string out = base64_encode(bytes);
  while (!out.empty() && out.back() == '=') out.pop_back();
  std::replace(out.begin(), out.end(), '+', '-');
  std::replace(out.begin(), out.end(), '/', '_');
  return out;
}

}  // namespace mcpmem
