// FieldVersions: which version last wrote each field of a memory, and which versions of every
// node the memory has seen. It is what lets sync merge two versions field by field instead of
// one replacing the other (docs/sync_protocol.md):
// - `clock` holds, per node, the newest version of that node merged into the memory (a version
//   vector whose entries are HLC versions). A version is "covered" when the clock of its node is
//   at or above it: the holder has seen that write.
// - each tag holds the versions that added it and are still live (an observed-remove set: a
//   removal drops the additions it saw, never one it did not see);
// - `created` holds the live creations and their created_at (an observed-remove set too);
// - memory_type, every metadata key and the alive/deleted state hold the version that set them
//   (last writer wins, with a conflict when the loser was an unseen edit).
// A plain value. Invariants kept by every writer: the keys of `tags` are the memory's tags and
// the keys of `metadata` its metadata keys; every version named anywhere is covered by `clock`.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mcpmem {

struct FieldVersions {
  std::map<std::string, std::string> clock;              // node -> newest version merged
  std::map<std::string, std::vector<std::string>> tags;  // tag -> live versions adding it
  std::string type;                                      // version that set memory_type
  std::map<std::string, std::string> metadata;           // key -> version that set it
  std::string alive;  // version that created the memory (or re-created it) or deleted it
  // The creations not yet seen by a later one, with the created_at each gave: two machines
  // that stored the same text on their own both stay, and the memory's created_at is the
  // earliest (a re-creation after a delete has seen the old ones and replaces them).
  std::map<std::string, double> created;  // version -> created_at

  bool empty() const { return clock.empty(); }
  // The newest version in the clock: the memory's version ("" when empty).
  std::string newest() const;
  // Has the holder seen `version` (the clock of its node is at or above it)?
  bool covers(const std::string& version) const;
  // Every entry of `other.clock` is covered by ours.
  bool dominates(const FieldVersions& other) const;
  void observe(const std::string& version);  // raises clock[node of version]

  bool operator==(const FieldVersions&) const = default;
};

// Every field of `tags` and `metadata_keys` written by one version (a new memory).
FieldVersions fields_written_by(const std::string& version, const std::vector<std::string>& tags,
                                const std::vector<std::string>& metadata_keys, double created_at);
// The memory's created_at: the earliest live creation's (0 when there is none).
double earliest_creation(const FieldVersions& f);

// The fields of a local edit made with `version`, from the fields before it: tags and metadata
// keys that are new or changed get `version`, unchanged ones keep theirs, removed ones go (the
// clock covers them, so the removal travels), the type and alive state likewise.
struct FieldChange {
  const std::vector<std::string>* old_tags;
  const std::vector<std::string>* new_tags;
  const nlohmann::json* old_metadata;
  const nlohmann::json* new_metadata;
  bool type_changed = false;
  bool alive_changed = false;
};
FieldVersions fields_after_edit(const FieldVersions& before, const FieldChange& change,
                                const std::string& version);

// The stored and wire form: {"clock": [v...], "tags": {"t": [v...]}, "type": v,
// "metadata": {"k": v}, "alive": v, "created": {v: unix_seconds}}. Parsing checks every version
// (Hlc::parse) and that the clock names each node once and covers every other version; nullopt
// otherwise.
nlohmann::json field_versions_json(const FieldVersions& f);
std::optional<FieldVersions> parse_field_versions(const nlohmann::json& j);

}  // namespace mcpmem
