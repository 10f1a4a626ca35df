// The natural-language time grammar of the Python service (utils/time_parser.py), in local
// time: "yesterday", "last week", "3 days ago", "between X and Y", "last summer",
// "first half of 2025", ... (all 15 families, DESIGN §4). The clock is passed in, so tests
// fix it; the local time zone is the process's (TZ).
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace mcpmem {

// A half-open-free inclusive window [start, end] in Unix seconds, as Python returns it.
struct TimeRange {
  double start = 0;
  double end = 0;
};

// The longest expression read; the rest of a longer one is ignored.
inline constexpr size_t kMaxTimeExpressionLength = 500;

// Parses `expression` (case-insensitive, at most kMaxTimeExpressionLength characters are read)
// relative to `now` (Unix seconds). Returns nullopt when nothing in it is a time expression.
std::optional<TimeRange> parse_time_expression(std::string_view expression, double now);

}  // namespace mcpmem
