// Hybrid Logical Clock versions (wall_ms, counter, node): the sync version of every change.
// Ordering is total and deterministic: by wall_ms, then counter, then node id. to_string() is
// fixed-width so that string order equals version order ("001732492800000-00000000-laptop");
// parse() accepts that width only (wall_ms below 10^15: until the year 33658).
// HlcClock issues versions that never go backwards even if the wall clock does, and
// that exceed every version it has observed from other nodes. HlcClock is safe from many threads.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/thread_annotations.h"

namespace mcpmem {

struct Hlc {
  int64_t wall_ms = 0;
  uint32_t counter = 0;
  std::string node;

  std::string to_string() const;
  static std::optional<Hlc> parse(std::string_view text);

  auto operator<=>(const Hlc&) const = default;
  bool operator==(const Hlc&) const = default;
};

class HlcClock {
 public:
  using WallClock = std::function<int64_t()>;  // milliseconds since the Unix epoch

  // `node` is passed through sanitize_node_name. `wall` defaults to the system clock.
  explicit HlcClock(std::string node, WallClock wall = nullptr);

  Hlc now() MCP_EXCLUDES(mu_);                        // a new version for a local change
  void observe(const Hlc& remote) MCP_EXCLUDES(mu_);  // merge a version seen from another node
  const std::string& node() const { return node_; }

 private:
  static void tick(int64_t& wall_ms, uint32_t& counter);

  std::string node_;
  WallClock wall_;
  Mutex mu_;
  int64_t last_wall_ms_ MCP_GUARDED_BY(mu_) = 0;
  uint32_t last_counter_ MCP_GUARDED_BY(mu_) = 0;
};

// Node names: lowercase, spaces become '-' (as the Python exporter names machines), other
// characters outside [a-z0-9_.:-] become '_', never empty: "Windows PC" -> "windows-pc".
std::string sanitize_node_name(std::string_view name);

}  // namespace mcpmem
