// URL rules for clients: see url.h. The loopback test splits the URL as RFC 3986 does (scheme,
// authority up to the first `/`, `?` or `#`, userinfo before an `@`, host, port) and accepts
// only the spellings listed in url.h. Anything the parser is unsure of is refused: the caller
// then asks for https.
#include "platform/url.h"

#include <algorithm>
#include <cctype>
#include <string>

namespace mcpmem {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool all_digits(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

// Four decimal parts 0..255 without leading zeros (an octal spelling elsewhere), first 127.
bool is_loopback_ipv4(std::string_view host) {
  int parts = 0;
  int first = -1;
  size_t start = 0;
  while (start <= host.size()) {
    size_t dot = host.find('.', start);
    if (dot == std::string_view::npos) dot = host.size();
    std::string_view part = host.substr(start, dot - start);
    if (!all_digits(part) || part.size() > 3 || (part.size() > 1 && part[0] == '0')) return false;
    const int value = std::stoi(std::string(part));
    if (value > 255) return false;
    if (parts == 0) first = value;
    ++parts;
    start = dot + 1;
    if (dot == host.size()) break;
  }
  return parts == 4 && first == 127;
}

// The host and port of `authority` are a loopback spelling of url.h and a valid port.
bool is_loopback_authority(std::string_view authority) {
  if (authority.find('@') != std::string_view::npos) return false;  // userinfo: never
  std::string_view host = authority, port;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return false;
    host = authority.substr(0, close + 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return false;
      port = after.substr(1);
      if (!all_digits(port)) return false;
    }
    return host == "[::1]";
  }
  if (const size_t colon = authority.find(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    if (!all_digits(port)) return false;
  }
  return lower(host) == "localhost" || is_loopback_ipv4(host);
}

// `url` starts with `scheme` (lower-case, with "://") and its authority is loopback.
bool loopback_with_scheme(std::string_view url, std::string_view scheme) {
  if (url.size() < scheme.size() || lower(url.substr(0, scheme.size())) != scheme) return false;
  std::string_view rest = url.substr(scheme.size());
  return is_loopback_authority(rest.substr(0, rest.find_first_of("/?#")));
}

}  // namespace

bool is_loopback_http_url(std::string_view url) { return loopback_with_scheme(url, "http://"); }

bool is_loopback_url(std::string_view url) {
  return loopback_with_scheme(url, "http://") || loopback_with_scheme(url, "https://");
}

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string url_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%' && i + 2 < text.size()) {
      const int hi = hex_value(text[i + 1]);
      const int lo = hex_value(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && c == '+' ? ' ' : c);
  }
  return out;
}

std::string url_encode(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (const char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    // Explicit ranges, not isalnum: a locale must not widen what goes through unencoded.
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string trim_trailing_slashes(std::string_view base) {
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  return std::string(base);
}

}  // namespace mcpmem
