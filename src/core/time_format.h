// Conversions between float Unix seconds and the ISO-8601 strings the Python service writes.
// iso_utc() matches Python's `datetime.utcfromtimestamp(t).isoformat() + "Z"` byte for byte:
// microseconds rounded half-to-even, the fraction omitted when it is zero.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mcpmem {

// "2026-05-16T19:53:28.123456Z" or "2026-05-16T19:53:28Z".
std::string iso_utc(double unix_seconds);

// Parses "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS[.ffffff]]" with an optional "Z" or "+HH:MM" offset.
// A string without offset is UTC when it ends in Z; otherwise local time when `naive_is_local`,
// UTC when not. Returns nullopt on anything else.
std::optional<double> parse_iso_time(std::string_view text, bool naive_is_local = false);

// Wall-clock now as float Unix seconds (microsecond precision).
double unix_now();

}  // namespace mcpmem
