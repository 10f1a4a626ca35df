// Fuzzes what `mcp-memory monitor` reads from the network and from its own history file
// (STYLE §15), built with ASan + UBSan, for a bounded time from a fixed seed: detailed health
// replies (ops/monitor_rules.h) and monitor-history.json (ops/monitor_history.h), mutated by
// byte edits, by type swaps of known fields (a string lag, a negative count, a huge size, a
// list where an object goes) and by splicing. Every input must be answered without a throw or
// crash; an accepted reply must survive the rules and both renderings, and never yield more
// than kMaxReplicasPerNode replicas; an accepted history must survive a round trip.
// Usage: health_reply_fuzz [--seconds N] [--seed S]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "ops/monitor.h"
#include "ops/monitor_history.h"
#include "ops/monitor_rules.h"

namespace mcpmem {
namespace {

using Rng = std::mt19937_64;

const std::vector<std::string> kSeeds = {
    R"({"status":"healthy","version":"1.0","storage":{"total_memories":42},"statistics":)"
    R"({"database_size_mb":1.5},"memory_count":42,"last_modified":"2026-12-06T10:00:00Z"})",
    R"({"memory_count":3,"replication":{"replicas":[{"name":"file","lag_seconds":75,)"
    R"("last_error":"dial tcp: refused"},{"name":"s3","lag_seconds":null}]}})",
    R"({"version":1,"sizes":{"https://a:8443":[[1733500000.5,1048576],[1733590000,2097152]]},)"
    R"("mismatch_since":{"https://a:8443,https://b:8443":1733500000}})",
};

const std::vector<std::string> kSplices = {"null",
                                           "-1",
                                           "1e308",
                                           "\"x\"",
                                           "[]",
                                           "{}",
                                           "[[1,\"a\"]]",
                                           "18446744073709551616",
                                           "{\"replicas\":[{}]}",
                                           "\"\\u0000\\n\"",
                                           "true",
                                           "[1,2",
                                           "}",
                                           "\"lag_seconds\":",
                                           ","};

std::string mutate(Rng& rng, std::string s) {
  const int edits = 1 + static_cast<int>(rng() % 4);
  for (int i = 0; i < edits; ++i) {
    const size_t at = s.empty() ? 0 : rng() % (s.size() + 1);
    switch (rng() % 4) {
      case 0:
        if (!s.empty() && at < s.size()) s[at] = static_cast<char>(rng() % 256);
        break;
      case 1:
        if (!s.empty() && at < s.size()) s.erase(at, 1 + rng() % 8);
        break;
      case 2:
        s.insert(at, kSplices[rng() % kSplices.size()]);
        break;
      default: {
        // Replace the value after a colon with a splice: a type swap of a known field.
        const size_t colon = s.find(':', at);
        if (colon == std::string::npos) break;
        const size_t end = s.find_first_of(",}]", colon + 1);
        s.replace(colon + 1, (end == std::string::npos ? s.size() : end) - colon - 1,
                  kSplices[rng() % kSplices.size()]);
      }
    }
  }
  return s;
}

int run(int seconds, uint32_t seed) {
  Rng rng(seed);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  long inputs = 0, accepted_replies = 0, accepted_histories = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string input = mutate(rng, kSeeds[rng() % kSeeds.size()]);
    ++inputs;
    auto health = parse_detailed_health(input);
    if (health.is_ok()) {
      ++accepted_replies;
      if (health->replicas.size() > kMaxReplicasPerNode) {
        std::fprintf(stderr, "FAIL: %zu replicas from: %s\n", health->replicas.size(),
                     input.c_str());
        return 1;
      }
      MonitorRound round;
      round.at = 1733500000;
      round.nodes.push_back({"http://127.0.0.1:1", true, "", *health, 1});
      round.alerts = replication_alerts("http://127.0.0.1:1", *health, {});
      if (health->size_bytes) {
        if (auto grew = growth_alert("n", {{round.at - 86400, 1 << 20}}, round.at,
                                     *health->size_bytes, {})) {
          round.alerts.push_back(*grew);
        }
      }
      (void)round_json_lines(round);
      (void)round_table(round);
    }
    auto history = MonitorHistory::parse(input);
    if (history.is_ok()) {
      ++accepted_histories;
      auto again = MonitorHistory::parse(history->to_json());
      if (!again.is_ok() || again->to_json() != history->to_json()) {
        std::fprintf(stderr, "FAIL: history does not round-trip: %s\n", input.c_str());
        return 1;
      }
    }
  }
  std::printf("health_reply_fuzz: %ld inputs, %ld replies and %ld histories accepted\n", inputs,
              accepted_replies, accepted_histories);
  return 0;
}

}  // namespace
}  // namespace mcpmem

int main(int argc, char** argv) {
  int seconds = 10;
  uint32_t seed = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--seconds") == 0) seconds = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--seed") == 0) seed = static_cast<uint32_t>(std::atoll(argv[i + 1]));
  }
  return mcpmem::run(seconds, seed);
}
