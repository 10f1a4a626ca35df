// The rule for a hub URL in plain http: allowed only when the connection cannot leave this
// machine, because the API key travels in the request headers. Decided on the URL's parsed
// host, never on a prefix (`http://127.0.0.1.evil.example` once passed a prefix test).
#pragma once

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

}  // namespace mcpmem
