// Hybrid Logical Clock (Kulkarni et al.): versions that follow wall time when clocks agree and
// stay ordered and unique when they do not. The string form is fixed-width so that comparing
// strings compares versions: "<wall_ms: 15 digits>-<counter: 8 hex>-<node>".
#include "core/hlc.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>

namespace mcpmem {
namespace {

int64_t system_wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string sanitize_node_name(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    if (c == ' ') c = '-';  // as the Python exporter names machines
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
              c == ':' || c == '-';
    out.push_back(ok ? c : '_');
  }
  if (out.empty()) out = "local";
  return out;
}

std::string Hlc::to_string() const {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%015lld-%08x-", static_cast<long long>(wall_ms), counter);
  return buf + node;
}

std::optional<Hlc> Hlc::parse(std::string_view text) {
  // 15 digits, '-', 8 hex digits, '-', a non-empty node.
  if (text.size() < 26 || text[15] != '-' || text[24] != '-') return std::nullopt;
  Hlc h;
  for (size_t i = 0; i < 15; ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    h.wall_ms = h.wall_ms * 10 + (text[i] - '0');
  }
  for (size_t i = 16; i < 24; ++i) {
    char c = text[i];
    uint32_t v;
    if (c >= '0' && c <= '9') {
      v = static_cast<uint32_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      v = static_cast<uint32_t>(c - 'a' + 10);
    } else {
      return std::nullopt;
    }
    h.counter = h.counter * 16 + v;
  }
  h.node = std::string(text.substr(25));
  if (h.node.empty() || sanitize_node_name(h.node) != h.node) return std::nullopt;
  return h;
}

HlcClock::HlcClock(std::string node, WallClock wall)
    : node_(sanitize_node_name(node)), wall_(wall ? std::move(wall) : WallClock(system_wall_ms)) {}

// The next counter after `counter` at `wall_ms`; a full counter moves to the next millisecond
// instead of wrapping (a wrapped counter would issue versions below ones already issued).
void HlcClock::tick(int64_t& wall_ms, uint32_t& counter) {
  if (counter == std::numeric_limits<uint32_t>::max()) {
    ++wall_ms;
    counter = 0;
  } else {
    ++counter;
  }
}

Hlc HlcClock::now() {
  int64_t wall = wall_();
  MutexLock lock(mu_);
  if (wall > last_wall_ms_) {
    last_wall_ms_ = wall;
    last_counter_ = 0;
  } else {
    tick(last_wall_ms_, last_counter_);
  }
  return {last_wall_ms_, last_counter_, node_};
}

void HlcClock::observe(const Hlc& remote) {
  int64_t wall = wall_();
  MutexLock lock(mu_);
  int64_t top = std::max({wall, last_wall_ms_, remote.wall_ms});
  uint32_t counter = 0;
  if (top == last_wall_ms_ && top == remote.wall_ms) {
    counter = std::max(last_counter_, remote.counter);
  } else if (top == last_wall_ms_) {
    counter = last_counter_;
  } else if (top == remote.wall_ms) {
    counter = remote.counter;
  } else {
    last_wall_ms_ = top;
    last_counter_ = 0;
    return;
  }
  tick(top, counter);
  last_wall_ms_ = top;
  last_counter_ = counter;
}

}  // namespace mcpmem
