// The time grammar family by family, with a fixed clock: Wednesday 2025-07-16 14:30:00 in the
// process's zone (ctest runs these with TZ=UTC; one test switches to America/New_York for DST).
#include "core/time_grammar.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <random>

namespace mcpmem {
namespace {

double local(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  tm.tm_isdst = -1;
  return static_cast<double>(std::mktime(&tm));
}
double day_end(int y, int mo, int d) { return local(y, mo, d, 23, 59, 59) + 0.999999; }

class TimeGrammar : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("TZ", "UTC", 1);
    tzset();
    now_ = local(2025, 7, 16, 14, 30);
  }
  void expect(const char* expr, double start, double end) {
    SCOPED_TRACE(expr);
    auto r = parse_time_expression(expr, now_);
    ASSERT_TRUE(r.has_value());
    EXPECT_DOUBLE_EQ(r->start, start);
    EXPECT_DOUBLE_EQ(r->end, end);
  }
  double now_ = 0;
};

TEST_F(TimeGrammar, F01BetweenTwoExpressions) {
  expect("between 2025-01-01 and 2025-02-01", local(2025, 1, 1), day_end(2025, 2, 1));
  expect("memories between last week and yesterday", local(2025, 7, 7), day_end(2025, 7, 15));
  EXPECT_FALSE(parse_time_expression("between nothing and nowhere", now_));
}

TEST_F(TimeGrammar, F02IsoDate) {
  expect("2025-03-04", local(2025, 3, 4), day_end(2025, 3, 4));
  expect("notes from 2024-02-29 please", local(2024, 2, 29), day_end(2024, 2, 29));
  EXPECT_FALSE(parse_time_expression("2025-02-30", now_));
}

TEST_F(TimeGrammar, F03MonthDaySlashDates) {
  expect("3/4/2025", local(2025, 3, 4), day_end(2025, 3, 4));
  expect("3/4", local(2025, 3, 4), day_end(2025, 3, 4));
  expect("12-25-24", local(2024, 12, 25), day_end(2024, 12, 25));
  expect("1/2/75", local(1975, 1, 2), day_end(1975, 1, 2));
}

TEST_F(TimeGrammar, F04DaysAgoWithTimeOfDay) {
  expect("today", local(2025, 7, 16), day_end(2025, 7, 16));
  expect("Yesterday", local(2025, 7, 15), day_end(2025, 7, 15));
  expect("3 days ago", local(2025, 7, 13), day_end(2025, 7, 13));
  expect("yesterday morning", local(2025, 7, 15, 5), local(2025, 7, 15, 11, 59, 59));
  expect("today afternoon", local(2025, 7, 16, 13), local(2025, 7, 16, 17, 59, 59));
  expect("2 days ago evening", local(2025, 7, 14, 18), local(2025, 7, 14, 21, 59, 59));
  expect("yesterday night", local(2025, 7, 15, 22), local(2025, 7, 16, 4, 59, 59));
  expect("yesterday at noon", local(2025, 7, 15, 12), local(2025, 7, 15, 12, 59, 59));
}

TEST_F(TimeGrammar, F05WeeksAgoIsThatMondayToSunday) {
  expect("2 weeks ago", local(2025, 6, 30), day_end(2025, 7, 6));
  expect("1 week ago", local(2025, 7, 7), day_end(2025, 7, 13));
}

TEST_F(TimeGrammar, F06MonthsAgoIsThatCalendarMonth) {
  expect("2 months ago", local(2025, 5, 1), day_end(2025, 5, 31));
  expect("9 months ago", local(2024, 10, 1), day_end(2024, 10, 31));
}

TEST_F(TimeGrammar, F07YearsAgoIsThatCalendarYear) {
  expect("1 year ago", local(2024, 1, 1), local(2024, 12, 31, 23, 59, 59));
}

TEST_F(TimeGrammar, F08LastNUnitsRunsUntilNow) {
  expect("last 3 days", local(2025, 7, 13), now_);
  expect("past 2 weeks", local(2025, 6, 30), now_);
  expect("last 2 months", local(2025, 5, 1), now_);
  expect("last 1 year", local(2024, 1, 1), now_);
}

TEST_F(TimeGrammar, F09LastPeriod) {
  expect("last day", local(2025, 7, 15), day_end(2025, 7, 15));
  expect("last week", local(2025, 7, 7), day_end(2025, 7, 13));
  expect("last month", local(2025, 6, 1), day_end(2025, 6, 30));
  expect("last year", local(2024, 1, 1), local(2024, 12, 31, 23, 59, 59));
  // We are inside summer 2025, so the last (finished) summer is 2024's.
  expect("last summer", local(2024, 6, 21), local(2024, 9, 22, 23, 59, 59));
  expect("last winter", local(2024, 12, 21), local(2025, 3, 19, 23, 59, 59));
}

TEST_F(TimeGrammar, F10ThisPeriod) {
  expect("this day", local(2025, 7, 16), day_end(2025, 7, 16));
  expect("this week", local(2025, 7, 14), day_end(2025, 7, 20));
  expect("this month", local(2025, 7, 1), day_end(2025, 7, 31));
  expect("this year", local(2025, 1, 1), local(2025, 12, 31, 23, 59, 59));
  expect("this summer", local(2025, 6, 21), local(2025, 9, 22, 23, 59, 59));
}

TEST_F(TimeGrammar, F11MonthNamesAreTheLatestSuchMonth) {
  expect("march", local(2025, 3, 1), day_end(2025, 3, 31));
  expect("in december", local(2024, 12, 1), day_end(2024, 12, 31));
}

TEST_F(TimeGrammar, F12SeasonsAndHolidays) {
  expect("summer", local(2025, 6, 21), local(2025, 9, 22, 23, 59, 59));
  expect("christmas", local(2024, 12, 22), day_end(2024, 12, 28));
  expect("thanksgiving", local(2024, 11, 25), day_end(2024, 12, 1));
  expect("valentine", local(2025, 2, 13), day_end(2025, 2, 15));
  expect("new year", local(2024, 12, 29), day_end(2025, 1, 4));
}

TEST_F(TimeGrammar, F13HalfYears) {
  expect("first half of 2025", local(2025, 1, 1), local(2025, 6, 30, 23, 59, 59));
  expect("second half of 2024", local(2024, 7, 1), local(2024, 12, 31, 23, 59, 59));
}

TEST_F(TimeGrammar, F14Quarters) {
  expect("third quarter of 2024", local(2024, 7, 1), local(2024, 9, 30, 23, 59, 59));
  expect("1st quarter", local(2025, 1, 1), local(2025, 3, 31, 23, 59, 59));
  expect("q4 2024", local(2024, 10, 1), local(2024, 12, 31, 23, 59, 59));
}

TEST_F(TimeGrammar, F15Recent) {
  expect("recently", now_ - 7 * 86400, now_);
  expect("what did I do lately", now_ - 7 * 86400, now_);
}

TEST_F(TimeGrammar, NoTimeExpressionIsNullopt) {
  EXPECT_FALSE(parse_time_expression("", now_));
  EXPECT_FALSE(parse_time_expression("postgres extensions", now_));
}

TEST_F(TimeGrammar, LocalTimeAcrossDaylightSaving) {
  setenv("TZ", "America/New_York", 1);
  tzset();
  auto r = parse_time_expression("2025-03-09", now_);  // clocks spring forward that day
  ASSERT_TRUE(r);
  EXPECT_DOUBLE_EQ(r->start, 1741496400.0);  // 00:00 EST = 05:00 UTC
  EXPECT_NEAR(r->end - r->start, 23 * 3600 - 1e-6, 1e-5);
  setenv("TZ", "UTC", 1);
  tzset();
}

TEST_F(TimeGrammar, RandomInputNeverCrashesAndWindowsAreOrdered) {
  std::mt19937 rng(42);
  const std::string alphabet = "abcdefghijklmnopqrstuvwxyz0123456789 /-:";
  const char* seeds[] = {"between ", "last ", "this ", " ago", "quarter of ", "half of ", "q"};
  for (int i = 0; i < 5000; ++i) {
    std::string s = seeds[rng() % 7];
    size_t n = rng() % 40;
    for (size_t j = 0; j < n; ++j) s.push_back(alphabet[rng() % alphabet.size()]);
    if (rng() % 5 == 0) s.push_back(static_cast<char>(rng() % 256));
    auto r = parse_time_expression(s, now_);
    if (r) {
      EXPECT_LE(r->start, r->end) << s;
    }
  }
  EXPECT_FALSE(parse_time_expression(std::string(100000, 'a'), now_));
}

}  // namespace
}  // namespace mcpmem
