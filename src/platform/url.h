// What every HTTP client of mcp-memory needs to know about a URL before it sends anything:
// whether plain http is safe for it (only when the connection cannot leave this machine, since
// keys travel in the request headers), how to put a value in a query, and how to join a base
// URL that may end in '/' with a path. The loopback rule is decided on the URL's parsed host,
// never on a prefix (`http://127.0.0.1.evil.example` once passed a prefix test).
#pragma once

#include <string>
#include <string_view>

namespace mcpmem {

// True when `url` is http:// to a loopback host, spelled one of these ways (case-insensitive
// scheme and name): `localhost`, a dotted-quad IPv4 address in 127.0.0.0/8 written in plain
// decimal (`127.1.2.3`), or `[::1]`; an optional `:port` of digits and an optional path
// after it. Refused, though some resolvers would map them to loopback: any userinfo
// (`http://127.0.0.1@evil.example` goes to evil.example), other spellings of an address
// (`0x7f000001`, `127.1`, `2130706433`, `[0:0::1]`), `localhost.` and `*.localhost` names
// (they go through DNS). A refused loopback URL is never a leak: https works there too.
bool is_loopback_http_url(std::string_view url);

// The same host test for http:// or https:// (e.g. to keep loopback traffic off a proxy).
bool is_loopback_url(std::string_view url);

// Percent-encodes everything but RFC 3986's unreserved characters (A-Z a-z 0-9 - . _ ~), so
// the result is safe as a query value or a path segment: "a b/c" -> "a%20b%2Fc".
std::string url_encode(std::string_view value);

// Percent-decodes a URL component ('+' is a space in a query, not in a path). Malformed
// escapes are kept as written.
std::string url_decode(std::string_view text, bool plus_is_space);

// `base` without its trailing slashes, ready for "+ /path": "https://hub:8443/" ->
// "https://hub:8443".
std::string trim_trailing_slashes(std::string_view base);

}  // namespace mcpmem
