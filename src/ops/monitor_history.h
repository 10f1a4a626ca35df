// What `monitor` remembers between polls and between runs (a cron job runs `monitor --once`
// again and again): each node's database size over the last days, for the growth rule, and
// when the nodes' memory counts began to disagree. Kept in <base_dir>/monitor-history.json,
// written whole or not at all (a temporary file, fsync, one rename), owner-only.
//
// Format (version 1):
//   {"version": 1,
//    "sizes": {"https://hub:8443": [[1733500000.0, 10485760], ...]},   // [Unix s, bytes], oldest
//    first "mismatch_since": {"https://a:8443,https://b:8443": 1733500000.0}}
// Bounded: at most kMaxHistoryNodes nodes and kMaxSamplesPerNode samples each, one sample per
// kSampleSpacingSeconds, none older than kKeepSeconds; a file over kMaxHistoryBytes, or one
// that does not parse, is set aside as empty (it is a cache of observations, not data).
// Thread-safety: one thread.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "ops/monitor_rules.h"

namespace mcpmem {

inline constexpr size_t kMaxHistoryNodes = 64;
inline constexpr double kSampleSpacingSeconds = 15 * 60;
inline constexpr double kKeepSeconds = 8 * 86400;
inline constexpr size_t kMaxSamplesPerNode = 800;  // 8 days of one sample per 15 minutes
inline constexpr size_t kMaxMismatchKeys = 16;
inline constexpr int64_t kMaxHistoryBytes = 4 << 20;

class MonitorHistory {
 public:
  // The history at `path`: empty when there is none. A damaged or oversized file gives an
  // empty history and `*warning` says so (the next save replaces it).
  static MonitorHistory load(const std::string& path, std::string* warning);
  static Result<MonitorHistory> parse(const std::string& text);

  // Size samples of `node`, oldest first.
  const std::vector<SizeSample>& sizes(const std::string& node) const;
  // Keeps `bytes` at `at` unless the newest sample is less than kSampleSpacingSeconds older;
  // drops samples older than kKeepSeconds and the oldest past kMaxSamplesPerNode. A new node
  // past kMaxHistoryNodes replaces the node seen longest ago.
  void record_size(const std::string& node, double at, int64_t bytes);

  // When the nodes named by `node_set` began to disagree, if they do.
  std::optional<double> mismatch_since(const std::string& node_set) const;
  void set_mismatch_since(const std::string& node_set, std::optional<double> since);

  std::string to_json() const;
  // Writes it to `path` atomically, readable by the owner only.
  Status save(const std::string& path) const;

 private:
  std::map<std::string, std::vector<SizeSample>> sizes_;
  std::map<std::string, double> mismatch_since_;
};

}  // namespace mcpmem
