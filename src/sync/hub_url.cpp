// is_loopback_http_url: splits the URL as RFC 3986 does (scheme, authority up to the first
// `/`, `?` or `#`, userinfo before an `@`, host, port) and accepts only the spellings listed in
// hub_url.h. Anything the parser is unsure of is refused: the caller then asks for https.
#include "sync/hub_url.h"

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

}  // namespace

bool is_loopback_http_url(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (url.size() < kScheme.size() || lower(url.substr(0, kScheme.size())) != kScheme) return false;
  std::string_view rest = url.substr(kScheme.size());
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
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

}  // namespace mcpmem
