// Field versions: see field_versions.h. Versions are compared as strings: Hlc::to_string is
// fixed-width, so string order is version order, and the node is the text after the second '-'.
#include "core/field_versions.h"

#include <algorithm>
#include <set>

#include "core/hlc.h"

namespace mcpmem {
namespace {

std::string node_of(const std::string& version) {
  auto h = Hlc::parse(version);
  return h ? h->node : std::string();
}

bool valid_version(const nlohmann::json& j) {
  return j.is_string() && Hlc::parse(j.get<std::string>()).has_value();
}

}  // namespace

std::string FieldVersions::newest() const {
  std::string top;
  for (const auto& [node, version] : clock) top = std::max(top, version);
  return top;
}

bool FieldVersions::covers(const std::string& version) const {
  auto it = clock.find(node_of(version));
  return it != clock.end() && it->second >= version;
}

bool FieldVersions::dominates(const FieldVersions& other) const {
  for (const auto& [node, version] : other.clock) {
    if (!covers(version)) return false;
  }
  return true;
}

void FieldVersions::observe(const std::string& version) {
  std::string& mine = clock[node_of(version)];
  mine = std::max(mine, version);
}

FieldVersions fields_written_by(const std::string& version, const std::vector<std::string>& tags,
                                const std::vector<std::string>& metadata_keys, double created_at) {
  FieldVersions f;
  f.observe(version);
  for (const std::string& t : tags) f.tags[t] = {version};
  f.type = version;
  for (const std::string& k : metadata_keys) f.metadata[k] = version;
  f.alive = version;
  f.created[version] = created_at;
  return f;
}

double earliest_creation(const FieldVersions& f) {
  double earliest = 0;
  for (const auto& [version, at] : f.created) {
    if (earliest == 0 || at < earliest) earliest = at;
  }
  return earliest;
}

FieldVersions fields_after_edit(const FieldVersions& before, const FieldChange& c,
                                const std::string& version) {
  FieldVersions f;
  f.clock = before.clock;
  f.observe(version);
  for (const std::string& t : *c.new_tags) {
    auto kept = before.tags.find(t);
    bool had = std::find(c.old_tags->begin(), c.old_tags->end(), t) != c.old_tags->end();
    f.tags[t] = had && kept != before.tags.end() ? kept->second : std::vector{version};
  }
  f.type = c.type_changed || before.type.empty() ? version : before.type;
  for (const auto& [key, value] : c.new_metadata->items()) {
    auto old = c.old_metadata->find(key);
    auto kept = before.metadata.find(key);
    bool same = old != c.old_metadata->end() && *old == value;
    f.metadata[key] = same && kept != before.metadata.end() ? kept->second : version;
  }
  f.alive = c.alive_changed || before.alive.empty() ? version : before.alive;
  f.created = before.created;
  return f;
}

nlohmann::json field_versions_json(const FieldVersions& f) {
  nlohmann::json clock = nlohmann::json::array();
  for (const auto& [node, version] : f.clock) clock.push_back(version);
  nlohmann::json tags = nlohmann::json::object();
  for (const auto& [tag, versions] : f.tags) tags[tag] = versions;
  nlohmann::json metadata = nlohmann::json::object();
  for (const auto& [key, version] : f.metadata) metadata[key] = version;
  nlohmann::json created = nlohmann::json::object();
  for (const auto& [version, at] : f.created) created[version] = at;
  return {{"clock", clock},       {"tags", tags},     {"type", f.type},
          {"metadata", metadata}, {"alive", f.alive}, {"created", created}};
}

std::optional<FieldVersions> parse_field_versions(const nlohmann::json& j) {
  if (!j.is_object()) return std::nullopt;
  FieldVersions f;
  auto clock = j.find("clock");
  if (clock == j.end() || !clock->is_array() || clock->empty()) return std::nullopt;
  for (const nlohmann::json& v : *clock) {
    if (!valid_version(v)) return std::nullopt;
    const std::string version = v.get<std::string>();
    if (!f.clock.emplace(node_of(version), version).second) return std::nullopt;
  }
  auto seen = [&](const nlohmann::json& v) {
    return valid_version(v) && f.covers(v.get<std::string>());
  };
  for (const char* key : {"type", "alive"}) {
    auto it = j.find(key);
    if (it == j.end() || !seen(*it)) return std::nullopt;
  }
  f.type = j["type"].get<std::string>();
  f.alive = j["alive"].get<std::string>();
  auto tags = j.find("tags");
  if (tags == j.end() || !tags->is_object()) return std::nullopt;
  for (const auto& [tag, versions] : tags->items()) {
    if (!versions.is_array() || versions.empty()) return std::nullopt;
    std::set<std::string> nodes;
    auto& live = f.tags[tag];
    for (const nlohmann::json& v : versions) {
      if (!seen(v) || !nodes.insert(node_of(v.get<std::string>())).second) return std::nullopt;
      live.push_back(v.get<std::string>());
    }
    std::sort(live.begin(), live.end());
  }
  auto metadata = j.find("metadata");
  if (metadata == j.end() || !metadata->is_object()) return std::nullopt;
  for (const auto& [key, v] : metadata->items()) {
    if (!seen(v)) return std::nullopt;
    f.metadata[key] = v.get<std::string>();
  }
  auto created = j.find("created");
  if (created == j.end() || !created->is_object() || created->empty()) return std::nullopt;
  for (const auto& [version, at] : created->items()) {
    if (!seen(nlohmann::json(version)) || !at.is_number()) return std::nullopt;
    f.created[version] = at.get<double>();
  }
  return f;
}

}  // namespace mcpmem
