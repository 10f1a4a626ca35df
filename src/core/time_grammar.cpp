// The Python service's time grammar (utils/time_parser.py), family by family and in the same
// order of precedence, evaluated in local time like its naive datetimes. Where Python answers
// with a window in the future or nothing useful, we answer sensibly (noted where it happens):
// - "last summer" is the latest summer that has ended (Python may pick one in the future);
// - a holiday ("christmas") is its latest occurrence whose window has begun (Python mostly
//   picks next year's);
// - "last N days/weeks/months/years" and "past N ..." run from the start of that period to now;
// - "q1".."q4" [of] YYYY are accepted beside "first quarter of YYYY";
// - "between X and Y" needs both ends to parse; the window is ordered.
#include "core/time_grammar.h"

#include <cmath>
#include <ctime>
#include <regex>
#include <string>

#include "core/time_format.h"

namespace mcpmem {
namespace {

// ---- calendar helpers (core/time_format.h) ----

using Date = CivilDate;

int64_t day_number(Date d) { return days_from_civil(d); }
Date add_days(Date d, int64_t n) { return civil_from_days(day_number(d) + n); }
int weekday(Date d) {  // Monday = 0, as Python's date.weekday()
  int64_t z = day_number(d);
  return static_cast<int>(((z % 7) + 7 + 3) % 7);  // 1970-01-01 was a Thursday
}
bool valid_date(int y, int m, int d) {
  if (m < 1 || m > 12 || d < 1 || y < 1 || y > 9999) return false;
  return civil_from_days(days_from_civil({y, m, d})).day == d;
}
Date first_of_next_month(int y, int m) { return m == 12 ? Date{y + 1, 1, 1} : Date{y, m + 1, 1}; }
Date last_of_month(int y, int m) { return add_days(first_of_next_month(y, m), -1); }

// Local wall time -> Unix seconds (Python's naive datetime.timestamp()).
double local_ts(Date d, int hh = 0, int mm = 0, int ss = 0, int us = 0) {
  return local_to_unix(d, hh, mm, ss) + us / 1e6;
}
double day_start(Date d) { return local_ts(d); }
double day_end(Date d) { return local_ts(d, 23, 59, 59, 999999); }  // time.max
TimeRange whole_days(Date from, Date to) { return {day_start(from), day_end(to)}; }

struct Now {
  double ts;
  Date today;
};

Now make_now(double now) {
  std::time_t t = static_cast<std::time_t>(std::floor(now));
  const std::tm tm = local_calendar(t);
  return {now, {tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday}};
}

// ---- named periods ----

struct Season {
  const char* name;
  int start_m, start_d, end_m, end_d;
};
constexpr Season kSeasons[] = {
    {"spring", 3, 20, 6, 20},  {"summer", 6, 21, 9, 22},  {"fall", 9, 23, 12, 20},
    {"autumn", 9, 23, 12, 20}, {"winter", 12, 21, 3, 19},
};

const Season* find_season(const std::string& name) {
  for (const Season& s : kSeasons) {
    if (name == s.name) return &s;
  }
  return nullptr;
}

// The occurrence of `s` that starts in `year`.
TimeRange season_in(const Season& s, int year) {
  int end_year = s.start_m > s.end_m ? year + 1 : year;
  return {local_ts({year, s.start_m, s.start_d}),
          local_ts({end_year, s.end_m, s.end_d}, 23, 59, 59)};
}

// The season we are in, or else the latest one that has begun ("summer", "this winter"...).
TimeRange current_or_latest_season(const Season& s, const Now& now) {
  for (int year = now.today.year; year >= now.today.year - 2; --year) {
    TimeRange r = season_in(s, year);
    if (r.start <= now.ts) return r;
  }
  return season_in(s, now.today.year - 1);
}

// "last summer": the latest occurrence that has ended.
TimeRange last_season(const Season& s, const Now& now) {
  for (int year = now.today.year; year >= now.today.year - 2; --year) {
    TimeRange r = season_in(s, year);
    if (r.end < now.ts) return r;
  }
  return season_in(s, now.today.year - 2);
}

// "this summer": the occurrence in this calendar year (winter: the one we are in or ahead).
TimeRange this_season(const Season& s, const Now& now) {
  if (s.start_m > s.end_m) {
    return season_in(s, now.today.month <= 3 ? now.today.year - 1 : now.today.year);
  }
  return season_in(s, now.today.year);
}

Date thanksgiving(int year) {
  Date first{year, 11, 1};
  Date thursday = add_days(first, (3 - weekday(first) + 7) % 7);
  return add_days(thursday, 21);
}

std::optional<TimeRange> holiday(const std::string& name, const Now& now) {
  int month, day, window;
  if (name == "christmas") {
    month = 12, day = 25, window = 3;
  } else if (name == "new year") {
    month = 1, day = 1, window = 3;
  } else if (name == "valentine") {
    month = 2, day = 14, window = 1;
  } else if (name == "halloween") {
    month = 10, day = 31, window = 3;
  } else if (name == "thanksgiving") {
    month = 11, day = 0, window = 3;
  } else {
    return std::nullopt;
  }
  for (int year = now.today.year; year >= now.today.year - 1; --year) {
    Date center = day == 0 ? thanksgiving(year) : Date{year, month, day};
    Date from = add_days(center, -window);
    if (day_number(from) <= day_number(now.today) || year < now.today.year) {
      return whole_days(from, add_days(center, window));
    }
  }
  return std::nullopt;
}

// ---- the families ----

int to_int(const std::string& s) { return s.empty() ? 0 : std::stoi(s.substr(0, 6)); }

TimeRange time_of_day(Date d, const std::string& part) {
  if (part == "morning") return {local_ts(d, 5), local_ts(d, 11, 59, 59)};
  if (part == "noon") return {local_ts(d, 12), local_ts(d, 12, 59, 59)};
  if (part == "afternoon") return {local_ts(d, 13), local_ts(d, 17, 59, 59)};
  if (part == "evening") return {local_ts(d, 18), local_ts(d, 21, 59, 59)};
  if (part == "night") return {local_ts(d, 22), local_ts(add_days(d, 1), 4, 59, 59)};
  return {local_ts(d, 0), local_ts(d, 0, 59, 59)};  // midnight
}

Date months_back(Date today, int n) {
  int month = today.month - n;
  int year = today.year;
  while (month <= 0) {
    month += 12;
    --year;
  }
  return {year, month, 1};
}

TimeRange last_n(const std::string& unit, int n, const Now& now) {
  Date start = now.today;
  if (unit == "day") {
    start = add_days(now.today, -n);
  } else if (unit == "week") {
    start = add_days(now.today, -(weekday(now.today) + 7 * n));
  } else if (unit == "month") {
    start = months_back(now.today, n);
  } else {
    start = {now.today.year - n, 1, 1};
  }
  return {day_start(start), now.ts};
}

std::optional<TimeRange> last_period(const std::string& period, const Now& now) {
  const Date t = now.today;
  if (period == "day") return whole_days(add_days(t, -1), add_days(t, -1));
  if (period == "week") {
    Date monday = add_days(t, -(weekday(t) + 7));
    return whole_days(monday, add_days(monday, 6));
  }
  if (period == "month") {
    Date first = months_back(t, 1);
    return whole_days(first, last_of_month(first.year, first.month));
  }
  if (period == "year")
    return TimeRange{local_ts({t.year - 1, 1, 1}), local_ts({t.year - 1, 12, 31}, 23, 59, 59)};
  if (const Season* s = find_season(period)) return last_season(*s, now);
  return std::nullopt;
}

std::optional<TimeRange> this_period(const std::string& period, const Now& now) {
  const Date t = now.today;
  if (period == "day") return whole_days(t, t);
  if (period == "week") {
    Date monday = add_days(t, -weekday(t));
    return whole_days(monday, add_days(monday, 6));
  }
  if (period == "month") return whole_days({t.year, t.month, 1}, last_of_month(t.year, t.month));
  if (period == "year")
    return TimeRange{local_ts({t.year, 1, 1}), local_ts({t.year, 12, 31}, 23, 59, 59)};
  if (const Season* s = find_season(period)) return this_season(*s, now);
  return std::nullopt;
}

int month_number(const std::string& name) {
  static const char* kMonths[] = {"january",   "february", "march",    "april",
                                  "may",       "june",     "july",     "august",
                                  "september", "october",  "november", "december"};
  for (int i = 0; i < 12; ++i) {
    if (name == kMonths[i]) return i + 1;
  }
  return 0;
}

std::optional<TimeRange> parse(const std::string& q, const Now& now, int depth);

std::optional<TimeRange> parse_between(const std::smatch& m, const Now& now, int depth) {
  auto a = parse(m[1].str(), now, depth + 1);
  auto b = parse(m[2].str(), now, depth + 1);
  if (!a || !b) return std::nullopt;
  TimeRange r{std::min(a->start, b->start), std::max(a->end, b->end)};
  return r;
}

std::optional<TimeRange> parse(const std::string& q, const Now& now, int depth) {
  using std::regex;
  const auto flags = std::regex::ECMAScript | std::regex::optimize;
  static const regex kBetween(R"(between\s+(.+?)\s+and\s+(.+?)(?:\s|$))", flags);
  static const regex kFullDate(R"((\d{4})-(\d{1,2})-(\d{1,2}))", flags);
  static const regex kSpecificDate(R"((\d{1,2})[/-](\d{1,2})(?:[/-](\d{2,4}))?)", flags);
  static const regex kRelativeDays(R"((?:(\d+)\s+days?\s+ago)|(?:yesterday)|(?:today))", flags);
  static const regex kTimeOfDay(R"((morning|afternoon|evening|night|noon|midnight))", flags);
  static const regex kWeeksAgo(R"((\d+)\s+weeks?\s+ago)", flags);
  static const regex kMonthsAgo(R"((\d+)\s+months?\s+ago)", flags);
  static const regex kYearsAgo(R"((\d+)\s+years?\s+ago)", flags);
  static const regex kLastN(R"((?:last|past)\s+(\d+)\s+(day|week|month|year)s?\b)", flags);
  static const regex kLastPeriod(R"(last\s+(day|week|month|year|summer|spring|winter|fall|autumn))",
                                 flags);
  static const regex kThisPeriod(R"(this\s+(day|week|month|year|summer|spring|winter|fall|autumn))",
                                 flags);
  static const regex kMonthName(
      R"((january|february|march|april|may|june|july|august|september|october|november|december))",
      flags);
  static const regex kNamed(
      R"((spring|summer|winter|fall|autumn|christmas|new\s*year|valentine|halloween|thanksgiving))",
      flags);
  static const regex kHalf(R"((first|second)\s+half\s+of\s+(\d{4}))", flags);
  static const regex kQuarter(
      R"((first|second|third|fourth|1st|2nd|3rd|4th)\s+quarter(?:\s+of\s+(\d{4}))?)", flags);
  static const regex kQ(R"(\bq([1-4])(?:\s+(?:of\s+)?(\d{4}))?\b)", flags);
  static const regex kRecent(R"(recent|lately|recently)", flags);

  std::smatch m;
  if (depth < 2 && std::regex_search(q, m, kBetween)) return parse_between(m, now, depth);

  if (std::regex_search(q, m, kFullDate)) {
    int y = to_int(m[1]), mo = to_int(m[2]), d = to_int(m[3]);
    if (!valid_date(y, mo, d)) return std::nullopt;
    return whole_days({y, mo, d}, {y, mo, d});
  }
  if (std::regex_search(q, m, kSpecificDate)) {
    int mo = to_int(m[1]), d = to_int(m[2]);
    int y = m[3].matched ? to_int(m[3]) : now.today.year;
    if (m[3].matched && y < 100) y = y < 50 ? 2000 + y : 1900 + y;
    if (!valid_date(y, mo, d)) return std::nullopt;
    return whole_days({y, mo, d}, {y, mo, d});
  }
  if (std::regex_search(q, m, kRelativeDays)) {
    int days = q.find("yesterday") != std::string::npos ? 1
               : q.find("today") != std::string::npos   ? 0
                                                        : to_int(m[1]);
    Date target = add_days(now.today, -days);
    std::smatch part;
    if (std::regex_search(q, part, kTimeOfDay)) return time_of_day(target, part[1].str());
    return whole_days(target, target);
  }
  if (std::regex_search(q, m, kWeeksAgo)) {
    Date target = add_days(now.today, -7 * static_cast<int64_t>(to_int(m[1])));
    Date monday = add_days(target, -weekday(target));
    return whole_days(monday, add_days(monday, 6));
  }
  if (std::regex_search(q, m, kMonthsAgo)) {
    Date first = months_back(now.today, to_int(m[1]));
    return whole_days(first, last_of_month(first.year, first.month));
  }
  if (std::regex_search(q, m, kYearsAgo)) {
    int y = now.today.year - to_int(m[1]);
    if (y < 1) return std::nullopt;
    return TimeRange{local_ts({y, 1, 1}), local_ts({y, 12, 31}, 23, 59, 59)};
  }
  if (std::regex_search(q, m, kLastN)) return last_n(m[2].str(), to_int(m[1]), now);
  if (std::regex_search(q, m, kLastPeriod)) return last_period(m[1].str(), now);
  if (std::regex_search(q, m, kThisPeriod)) return this_period(m[1].str(), now);
  if (std::regex_search(q, m, kMonthName)) {
    int month = month_number(m[1].str());
    int year = month <= now.today.month ? now.today.year : now.today.year - 1;
    return whole_days({year, month, 1}, last_of_month(year, month));
  }
  if (std::regex_search(q, m, kNamed)) {
    std::string name = m[1].str();
    if (name.rfind("new", 0) == 0) name = "new year";
    if (const Season* s = find_season(name)) return current_or_latest_season(*s, now);
    return holiday(name, now);
  }
  if (std::regex_search(q, m, kHalf)) {
    int y = to_int(m[2]);
    if (m[1].str() == "first")
      return TimeRange{local_ts({y, 1, 1}), local_ts({y, 6, 30}, 23, 59, 59)};
    return TimeRange{local_ts({y, 7, 1}), local_ts({y, 12, 31}, 23, 59, 59)};
  }
  int quarter = 0, qyear = now.today.year;
  if (std::regex_search(q, m, kQuarter)) {
    const std::string w = m[1].str();
    quarter = (w == "first" || w == "1st")    ? 1
              : (w == "second" || w == "2nd") ? 2
              : (w == "third" || w == "3rd")  ? 3
                                              : 4;
    if (m[2].matched) qyear = to_int(m[2]);
  } else if (std::regex_search(q, m, kQ)) {
    quarter = to_int(m[1]);
    if (m[2].matched) qyear = to_int(m[2]);
  }
  if (quarter > 0) {
    int first_month = (quarter - 1) * 3 + 1;
    Date next = first_of_next_month(qyear, first_month + 2);
    return TimeRange{local_ts({qyear, first_month, 1}), local_ts(next) - 1};
  }
  if (std::regex_search(q, m, kRecent)) return TimeRange{now.ts - 7 * 86400.0, now.ts};
  return std::nullopt;
}

}  // namespace

std::optional<TimeRange> parse_time_expression(std::string_view expression, double now) {
  std::string q(expression.substr(0, kMaxTimeExpressionLength));
  for (char& c : q) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  try {
    auto r = parse(q, make_now(now), 0);
    if (r && r->start > r->end) std::swap(r->start, r->end);
    return r;
  } catch (const std::exception&) {  // std::regex on pathological input
    return std::nullopt;
  }
}

}  // namespace mcpmem
