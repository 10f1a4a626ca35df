// Time phrases inside search queries (issue 13, scope 7): which words are read as a time, what
// is left of the query, and the words that must not be read as one. The clock is Wednesday
// 2025-07-16 14:30:00 UTC, as in time_grammar_test.cpp.
#include "core/time_in_query.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <iterator>
#include <random>
#include <string>

namespace mcpmem {
namespace {

double utc(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return static_cast<double>(timegm(&tm));
}
double day_end(int y, int mo, int d) { return utc(y, mo, d, 23, 59, 59) + 0.999999; }

class TimeInQueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("TZ", "UTC", 1);
    tzset();
  }
  // Expects `query` to name `expression`, leaving `rest`; returns the window.
  TimeRange expect(const std::string& query, const std::string& expression,
                   const std::string& rest) {
    SCOPED_TRACE(query);
    auto found = find_time_in_query(query, now_);
    EXPECT_TRUE(found.has_value());
    if (!found) return {};
    EXPECT_EQ(found->expression, expression);
    EXPECT_EQ(found->rest, rest);
    return found->range;
  }
  const double now_ = utc(2025, 7, 16, 14, 30);
};

TEST_F(TimeInQueryTest, AQuestionAboutADayIsOnlyTheDay) {
  TimeRange r = expect("what did I store yesterday", "yesterday", "");
  EXPECT_DOUBLE_EQ(r.start, utc(2025, 7, 15));
  EXPECT_DOUBLE_EQ(r.end, day_end(2025, 7, 15));
  expect("What did I save yesterday?", "yesterday", "");
  expect("show me everything from last week", "last week", "");
  expect("memories from today", "today", "");
}

TEST_F(TimeInQueryTest, TheOtherWordsStayAsTheQuery) {
  TimeRange r = expect("deploy notes from last week", "last week", "deploy notes");
  EXPECT_DOUBLE_EQ(r.start, utc(2025, 7, 7));
  EXPECT_DOUBLE_EQ(r.end, day_end(2025, 7, 13));
  expect("Yesterday's standup notes", "Yesterday's", "standup notes");
  expect("what did we decide about postgres 3 days ago", "3 days ago",
         "what did we decide about postgres");
  expect("redis outage yesterday morning", "yesterday morning", "redis outage");
  expect("invoices between 2025-01-01 and 2025-02-01, please", "between 2025-01-01 and 2025-02-01",
         "invoices, please");
  expect("release plan in March", "in March", "release plan");
  expect("budget for the first half of 2025", "first half of 2025", "budget for the");
  expect("okrs q3 2024", "q3 2024", "okrs");
  expect("the hub on 2025-03-04", "2025-03-04", "the hub");
  expect("what changed recently in the sync code", "recently", "what changed in the sync code");
}

TEST_F(TimeInQueryTest, TheFirstPhraseWinsAndTheGrammarGivesItsWindow) {
  TimeRange r = expect("yesterday and last week", "yesterday", "and last week");
  EXPECT_DOUBLE_EQ(r.start, utc(2025, 7, 15));
  r = expect("trips over christmas", "over christmas", "trips");
  EXPECT_DOUBLE_EQ(r.start, utc(2024, 12, 22));
  r = expect("hikes in the summer", "in the summer", "hikes");
  EXPECT_DOUBLE_EQ(r.start, utc(2025, 6, 21));
}

TEST_F(TimeInQueryTest, WordsThatAreOftenSomethingElseAreNotATime) {
  for (const char* query :
       {"spring boot configuration", "may I deploy on fridays", "use 3/4 of the budget",
        "ports 10-15 are open", "the most recent deploy", "the last day of the sprint",
        "march 2024 invoices", "in March 2024", "christmas gift ideas", "notes from 2025-02-30",
        "between the API and the database", "kubernetes ingress", "", "2025"}) {
    EXPECT_FALSE(find_time_in_query(query, now_).has_value()) << query;
  }
}

TEST_F(TimeInQueryTest, RandomQueriesNeverCrashAndThePhraseIsTakenFromTheQuery) {
  std::mt19937 rng(7);
  const char* words[] = {"what",      "did",        "i",
                         "store",     "yesterday",  "last",
                         "week",      "3",          "days",
                         "ago",       "between",    "and",
                         "in",        "march",      "q3",
                         "2024",      "from",       "notes",
                         "today's",   "?",          ",",
                         "spring",    "first",      "half",
                         "of",        "2025-03-04", "3/4",
                         "recently",  "the",        "over",
                         "christmas", "morning",    "\xc3\xa9t\xc3\xa9"};
  for (int i = 0; i < 3000; ++i) {
    std::string query;
    for (size_t n = rng() % 8; n > 0; --n) {
      query += std::string(query.empty() ? "" : " ") + words[rng() % std::size(words)];
    }
    auto found = find_time_in_query(query, now_);
    if (!found) continue;
    EXPECT_NE(query.find(found->expression), std::string::npos) << query;
    EXPECT_LE(found->range.start, found->range.end) << query;
    EXPECT_LT(found->rest.size(), query.size()) << query;
  }
}

TEST_F(TimeInQueryTest, LongTextIsNotRead) {
  std::string text(kMaxTimeExpressionLength, 'x');
  EXPECT_TRUE(find_time_in_query("yesterday", now_));
  EXPECT_FALSE(find_time_in_query(text + " yesterday", now_));
}

}  // namespace
}  // namespace mcpmem
