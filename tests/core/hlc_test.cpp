// Hybrid logical clock: monotonic under a clock that goes backwards, ahead of observed
// versions, string order equals version order, unique across threads.
#include "core/hlc.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

namespace mcpmem {
namespace {

TEST(Hlc, NeverGoesBackwardsWhenTheWallClockDoes) {
  int64_t wall = 1000;
  HlcClock clock("a", [&] { return wall; });
  Hlc first = clock.now();
  wall = 500;  // NTP stepped the clock back
  Hlc second = clock.now();
  EXPECT_LT(first, second);
  EXPECT_LT(first.to_string(), second.to_string());
  EXPECT_EQ(second.wall_ms, 1000);
  EXPECT_EQ(second.counter, 1u);
}

TEST(Hlc, ObserveMovesPastRemoteVersions) {
  int64_t wall = 1000;
  HlcClock clock("b", [&] { return wall; });
  Hlc remote{600000, 7, "fast"};  // a node with a clock 10 minutes ahead
  clock.observe(remote);
  Hlc next = clock.now();
  EXPECT_GT(next, remote);
  EXPECT_GT(next.to_string(), remote.to_string());
}

TEST(Hlc, StringRoundTripAndOrder) {
  Hlc a{1732492800000, 0, "laptop"}, b{1732492800000, 1, "hub"}, c{1732492800001, 0, "a"};
  EXPECT_EQ(Hlc::parse(a.to_string()), a);
  EXPECT_LT(a.to_string(), b.to_string());
  EXPECT_LT(b.to_string(), c.to_string());
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  Hlc tie1{5, 0, "alpha"}, tie2{5, 0, "beta"};
  EXPECT_LT(tie1, tie2);  // ties broken by node
  EXPECT_FALSE(Hlc::parse("garbage"));
  EXPECT_FALSE(Hlc::parse("000000000000005-0000000g-node"));
  EXPECT_EQ(sanitize_node_name("My Laptop.local"), "my-laptop.local");
  EXPECT_EQ(sanitize_node_name("windows-pc"), "windows-pc");  // hyphens kept
  EXPECT_EQ(sanitize_node_name("a/b@c"), "a_b_c");
}

TEST(Hlc, UniqueAndIncreasingAcrossThreads) {
  HlcClock clock("n");
  constexpr int kThreads = 4, kEach = 10000;
  std::vector<std::vector<std::string>> seen(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) seen[t].push_back(clock.now().to_string());
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> all;
  for (const auto& v : seen) {
    for (size_t i = 1; i < v.size(); ++i) EXPECT_LT(v[i - 1], v[i]);
    all.insert(v.begin(), v.end());
  }
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kEach));
}

TEST(Hlc, AFullCounterMovesToTheNextMillisecondInsteadOfWrapping) {
  int64_t wall = 1000;
  HlcClock clock("me", [&] { return wall; });
  const Hlc remote{5000, 0xffffffffu, "attacker"};
  clock.observe(remote);
  Hlc next = clock.now();
  EXPECT_GT(next, remote);
  EXPECT_EQ(next.wall_ms, 5001);
  Hlc after = clock.now();
  EXPECT_GT(after, next);
}

TEST(Hlc, ParsesTheCanonicalWidthOnly) {
  EXPECT_TRUE(Hlc::parse("001765000000000-0000000a-laptop"));
  for (const char* bad : {"9000000000000000000-00000000-x", "1765000000000-00000000-x",
                          "001765000000000-0000000A-laptop", "001765000000000-000000a-laptop",
                          "001765000000000-00000000-", "001765000000000-00000000-Laptop"}) {
    EXPECT_FALSE(Hlc::parse(bad)) << bad;
  }
}

}  // namespace
}  // namespace mcpmem
