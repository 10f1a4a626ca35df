// Conversions between float Unix seconds and the ISO-8601 strings the Python service writes.
// iso_utc() matches Python's `datetime.utcfromtimestamp(t).isoformat() + "Z"` byte for byte:
// microseconds rounded half-to-even, the fraction omitted when it is zero.
#pragma once

#include <cstdint>
#include <ctime>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace mcpmem {

// "2026-05-16T19:53:28.123456Z" or "2026-05-16T19:53:28Z".
std::string iso_utc(double unix_seconds);

// Times a memory may carry: 1970-01-01 to 9999-12-31 (what ISO 8601 and every reader can show).
inline constexpr double kLatestTime = 253402300799.0;  // 9999-12-31T23:59:59Z
inline bool is_storable_time(double unix_seconds) {
  return unix_seconds >= 0 && unix_seconds <= kLatestTime;  // false for NaN too
}

// Python's `datetime.now().isoformat()`: local time, no offset ("2026-05-16T21:53:28.123456").
std::string local_iso_now();

// Parses "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS[.ffffff]]" with an optional "Z" or "+HH:MM" offset.
// A string without offset is UTC when it ends in Z; otherwise local time when `naive_is_local`,
// UTC when not. Returns nullopt on anything else.
std::optional<double> parse_iso_time(std::string_view text, bool naive_is_local = false);

// Wall-clock now as float Unix seconds (microsecond precision).
double unix_now();

// When `path` was last written, as float Unix seconds; 0 when it cannot be read.
double modified_unix_seconds(const std::filesystem::path& path);

// Proleptic Gregorian calendar arithmetic (Howard Hinnant's algorithms), exact for any date.
struct CivilDate {
  int year = 1970;
  int month = 1;  // 1..12
  int day = 1;    // 1..31
};
int64_t days_from_civil(CivilDate date);  // days since 1970-01-01
CivilDate civil_from_days(int64_t days);

// The calendar fields of `t` in the process's time zone, and in UTC (localtime_r and gmtime_r
// on POSIX, their _s forms on Windows).
std::tm local_calendar(std::time_t t);
std::tm utc_calendar(std::time_t t);

// Local wall time (the process's TZ) to Unix seconds, as Python's naive
// datetime.timestamp() (and mktime with tm_isdst = -1) does.
double local_to_unix(CivilDate date, int hour = 0, int minute = 0, int second = 0);

}  // namespace mcpmem
