// Float Unix seconds <-> ISO-8601, byte-compatible with Python's
// `datetime.utcfromtimestamp(t).isoformat() + "Z"`: the fraction is rounded to microseconds
// half-to-even (CPython's _PyTime_ROUND_HALF_EVEN), carried into the seconds, and omitted
// when it is zero.
#include "core/time_format.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace mcpmem {
namespace {

bool digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

}  // namespace

std::string iso_utc(double unix_seconds) {
  double int_part;
  double frac = std::modf(unix_seconds, &int_part) * 1e6;
  frac = std::nearbyint(frac);  // default rounding mode: half to even
  if (frac >= 1e6) {
    frac -= 1e6;
    int_part += 1;
  } else if (frac < 0) {
    frac += 1e6;
    int_part -= 1;
  }
  int64_t secs = static_cast<int64_t>(int_part);
  int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  int64_t rem = secs - days * 86400;
  CivilDate date = civil_from_days(days);
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", date.year, date.month,
                        date.day, static_cast<int>(rem / 3600), static_cast<int>(rem / 60 % 60),
                        static_cast<int>(rem % 60));
  long us = static_cast<long>(frac);
  if (us != 0) std::snprintf(buf + n, sizeof buf - n, ".%06ld", us);
  return std::string(buf) + "Z";
}

std::string local_iso_now() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  const std::tm local = local_calendar(ts.tv_sec);
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &local);
  long us = ts.tv_nsec / 1000;
  if (us != 0) std::snprintf(buf + n, sizeof buf - n, ".%06ld", us);
  return buf;
}

std::optional<double> parse_iso_time(std::string_view s, bool naive_is_local) {
  int y, mo, d, h = 0, mi = 0, sec = 0;
  if (!digits(s, 0, 4, y) || s.size() < 10 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d)) {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return std::nullopt;
  size_t pos = 10;
  double micros = 0;
  if (pos < s.size() && (s[pos] == 'T' || s[pos] == ' ')) {
    if (!digits(s, pos + 1, 2, h) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !digits(s, pos + 4, 2, mi)) {
      return std::nullopt;
    }
    pos += 6;
    if (pos < s.size() && s[pos] == ':') {
      if (!digits(s, pos + 1, 2, sec)) return std::nullopt;
      pos += 3;
      if (pos < s.size() && s[pos] == '.') {
        size_t start = ++pos;
        double scale = 1e5;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
          if (pos - start < 6) micros += (s[pos] - '0') * scale;
          scale /= 10;
          ++pos;
        }
        if (pos == start) return std::nullopt;
      }
    }
    if (h > 23 || mi > 59 || sec > 60) return std::nullopt;
  }
  std::optional<int> offset_s;
  if (pos < s.size()) {
    if (s[pos] == 'Z' && pos + 1 == s.size()) {
      offset_s = 0;
    } else if ((s[pos] == '+' || s[pos] == '-') && s.size() - pos == 6 && s[pos + 3] == ':') {
      int oh, om;
      if (!digits(s, pos + 1, 2, oh) || !digits(s, pos + 4, 2, om)) return std::nullopt;
      offset_s = (s[pos] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
    } else {
      return std::nullopt;
    }
  }
  if (!offset_s && naive_is_local) {
    return local_to_unix({y, mo, d}, h, mi, sec) + micros / 1e6;
  }
  int64_t days = days_from_civil({y, mo, d});
  double t = static_cast<double>(days * 86400 + h * 3600 + mi * 60 + sec - offset_s.value_or(0));
  return t + micros / 1e6;
}

int64_t days_from_civil(CivilDate date) {
  int64_t y = date.year - (date.month <= 2);
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy =
      (153 * (date.month > 2 ? date.month - 3 : date.month + 9) + 2) / 5 + date.day - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

CivilDate civil_from_days(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return {static_cast<int>(yoe + era * 400 + (month <= 2)), month, day};
}

double local_to_unix(CivilDate date, int hour, int minute, int second) {
  std::tm tm{};
  tm.tm_year = date.year - 1900;
  tm.tm_mon = date.month - 1;
  tm.tm_mday = date.day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  tm.tm_isdst = -1;
  return static_cast<double>(std::mktime(&tm));
}

double unix_now() {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  return static_cast<double>(us) / 1e6;
}

double modified_unix_seconds(const std::filesystem::path& path) {
  std::error_code ec;
  const auto written = std::filesystem::last_write_time(path, ec);
  if (ec) return 0;
  const auto since_epoch = std::chrono::file_clock::to_sys(written).time_since_epoch();
  return std::chrono::duration<double>(since_epoch).count();
}

std::tm local_calendar(std::time_t t) {
  std::tm tm{};
#ifdef _WIN32
  localtime_s(&tm, &t);
#else
  localtime_r(&t, &tm);
#endif
  return tm;
}

std::tm utc_calendar(std::time_t t) {
  std::tm tm{};
#ifdef _WIN32
  gmtime_s(&tm, &t);
#else
  gmtime_r(&t, &tm);
#endif
  return tm;
}

}  // namespace mcpmem
