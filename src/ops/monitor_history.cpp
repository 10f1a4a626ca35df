// MonitorHistory: the bounded record of monitor_history.h, read leniently (a cache) and
// written atomically with platform/durable_file.h.
#include "ops/monitor_history.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/json_parse.h"
#include "core/memory.h"
#include "platform/durable_file.h"
#include "platform/file_modes.h"
#include "platform/secret_file.h"

namespace mcpmem {
namespace {

namespace fs = std::filesystem;

void trim(std::vector<SizeSample>& samples, double now) {
  size_t old = 0;
  while (old < samples.size() && now - samples[old].at > kKeepSeconds) ++old;
  if (samples.size() - old > kMaxSamplesPerNode) old = samples.size() - kMaxSamplesPerNode;
  samples.erase(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(old));
}

}  // namespace

Result<MonitorHistory> MonitorHistory::parse(const std::string& text) {
  MCP_ASSIGN_OR_RETURN(Json j, parse_json(text, "the monitor history"));
  // Typed checks before every read: nlohmann's value() and get() throw on a wrong type.
  if (!j.is_object() || !j.contains("version") || !j["version"].is_number_integer() ||
      j["version"].get<int64_t>() != 1) {
    return Status::invalid_argument("the monitor history is not version 1");
  }
  MonitorHistory h;
  if (j.contains("sizes") && j["sizes"].is_object()) {
    for (const auto& [node, list] : j["sizes"].items()) {
      if (h.sizes_.size() >= kMaxHistoryNodes || !list.is_array()) continue;
      std::vector<SizeSample>& samples = h.sizes_[node];
      for (const Json& s : list) {
        if (samples.size() >= kMaxSamplesPerNode) break;
        if (!s.is_array() || s.size() != 2 || !s[0].is_number() || !s[1].is_number_integer()) {
          return Status::invalid_argument("the monitor history has a damaged sample of " + node);
        }
        samples.push_back({s[0].get<double>(), s[1].get<int64_t>()});
      }
    }
  }
  if (j.contains("mismatch_since") && j["mismatch_since"].is_object()) {
    for (const auto& [nodes, since] : j["mismatch_since"].items()) {
      if (h.mismatch_since_.size() < kMaxMismatchKeys && since.is_number()) {
        h.mismatch_since_[nodes] = since.get<double>();
      }
    }
  }
  return h;
}

MonitorHistory MonitorHistory::load(const std::string& path, std::string* warning) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return {};
  const auto size = fs::file_size(path, ec);
  if (ec || size > static_cast<uintmax_t>(kMaxHistoryBytes)) {
    if (warning) *warning = path + " is larger than 4 MiB or unreadable: starting a new history";
    return {};
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  auto parsed = parse(text.str());
  if (!parsed.is_ok()) {
    if (warning) *warning = path + ": " + parsed.status().message() + ": starting a new history";
    return {};
  }
  return std::move(*parsed);
}

const std::vector<SizeSample>& MonitorHistory::sizes(const std::string& node) const {
  static const std::vector<SizeSample> kNone;
  auto it = sizes_.find(node);
  return it == sizes_.end() ? kNone : it->second;
}

void MonitorHistory::record_size(const std::string& node, double at, int64_t bytes) {
  if (!sizes_.contains(node) && sizes_.size() >= kMaxHistoryNodes) {
    // The node whose newest sample is oldest (or that has none) makes room.
    auto stalest = sizes_.begin();
    for (auto it = sizes_.begin(); it != sizes_.end(); ++it) {
      const double newest = it->second.empty() ? 0 : it->second.back().at;
      const double best = stalest->second.empty() ? 0 : stalest->second.back().at;
      if (newest < best) stalest = it;
    }
    sizes_.erase(stalest);
  }
  std::vector<SizeSample>& samples = sizes_[node];
  if (samples.empty() || at - samples.back().at >= kSampleSpacingSeconds) {
    samples.push_back({at, bytes});
  }
  trim(samples, at);
}

std::optional<double> MonitorHistory::mismatch_since(const std::string& node_set) const {
  auto it = mismatch_since_.find(node_set);
  if (it == mismatch_since_.end()) return std::nullopt;
  return it->second;
}

void MonitorHistory::set_mismatch_since(const std::string& node_set, std::optional<double> since) {
  if (!since) {
    mismatch_since_.erase(node_set);
    return;
  }
  if (!mismatch_since_.contains(node_set) && mismatch_since_.size() >= kMaxMismatchKeys) {
    mismatch_since_.erase(mismatch_since_.begin());
  }
  mismatch_since_[node_set] = *since;
}

std::string MonitorHistory::to_json() const {
  Json sizes = Json::object();
  for (const auto& [node, samples] : sizes_) {
    Json list = Json::array();
    for (const SizeSample& s : samples) list.push_back(Json::array({s.at, s.bytes}));
    sizes[node] = std::move(list);
  }
  Json mismatch = Json::object();
  for (const auto& [nodes, since] : mismatch_since_) mismatch[nodes] = since;
  return Json{{"version", 1}, {"sizes", std::move(sizes)}, {"mismatch_since", std::move(mismatch)}}
             .dump() +
         "\n";
}

Status MonitorHistory::save(const std::string& path) const {
  const std::string dir = fs::path(path).parent_path().string();
  if (!dir.empty()) MCP_RETURN_IF_ERROR(create_private_directories(dir));
  std::error_code ec;
  const std::string partial = temporary_path_beside(path);
  MCP_RETURN_IF_ERROR(create_secret_file(partial, to_json()));
  Status placed = replace_file(partial, path);
  if (!placed.is_ok()) fs::remove(partial, ec);
  return placed.with_context("saving the monitor history");
}

}  // namespace mcpmem
