// iso_utc against Python's utcfromtimestamp().isoformat()+"Z" (half-even microseconds) and
// parse_iso_time round trips.
#include "core/time_format.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

namespace mcpmem {
namespace {

TEST(TimeFormat, IsoMatchesPythonForEveryFixture) {
  std::ifstream in(std::string(MCP_TEST_FIXTURES) + "/iso_times.json");
  auto cases = nlohmann::json::parse(in);
  ASSERT_GE(cases.size(), 15u);
  for (const auto& c : cases) {
    double ts = c["ts"];
    EXPECT_EQ(iso_utc(ts), c["iso"].get<std::string>()) << std::to_string(ts);
  }
}

TEST(TimeFormat, ParsesDatesTimesAndOffsets) {
  EXPECT_EQ(*parse_iso_time("2024-11-25"), 1732492800.0);
  EXPECT_EQ(*parse_iso_time("2024-11-25T00:00:00Z"), 1732492800.0);
  EXPECT_EQ(*parse_iso_time("2024-11-25T01:00:00+01:00"), 1732492800.0);
  EXPECT_NEAR(*parse_iso_time("2024-11-25T00:00:00.123456Z"), 1732492800.123456, 1e-6);
  EXPECT_FALSE(parse_iso_time("yesterday"));
  EXPECT_FALSE(parse_iso_time("2024-13-01"));
  EXPECT_FALSE(parse_iso_time("2024-11-25T25:00"));
  EXPECT_FALSE(parse_iso_time("2024-11-25Zjunk"));
}

TEST(TimeFormat, RoundTripsToTheMicrosecond) {
  for (double t : {1732492800.5, 1795574951.304647, 1600000000.000001}) {
    auto back = parse_iso_time(iso_utc(t));
    ASSERT_TRUE(back);
    EXPECT_NEAR(*back, t, 1e-6);
  }
}

TEST(TimeFormat, NowIsNow) {
  double t = unix_now();
  EXPECT_GT(t, 1.7e9);
  EXPECT_LT(std::fabs(t - static_cast<double>(time(nullptr))), 2.0);
}

}  // namespace
}  // namespace mcpmem
