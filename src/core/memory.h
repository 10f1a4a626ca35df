// Memory: the one value type every layer passes around, as the Python service defines it
// (content, content_hash, tags, memory_type, metadata, float Unix timestamps) plus our sync
// fields (tombstone time, HLC version, origin node). A plain value: copy freely between threads.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/field_versions.h"

namespace mcpmem {

using Json = nlohmann::json;

struct Memory {
  int64_t id = 0;                    // row id in the database; 0 until stored
  std::string content;               // valid UTF-8
  std::string content_hash;          // content_hash(content): 64 lowercase hex characters
  std::vector<std::string> tags;     // normalized (normalize_tags); never empty once stored
  std::string memory_type;           // "" means none (SQL NULL)
  Json metadata = Json::object();    // always a JSON object
  double created_at = 0;             // Unix seconds (float, microsecond precision)
  double updated_at = 0;             // Unix seconds
  std::optional<double> deleted_at;  // set on tombstones only
  std::string hlc;                   // sync version (Hlc::to_string), "" for rows never versioned
  std::string origin;                // node that made this version, "" when unknown
  // Which version wrote each field, and what this memory has seen of every node (sync merges
  // field by field with it). Empty for rows written by the Python service or by mcp-memory
  // before 0.4: sync derives them (see with_field_versions in service/merge.h).
  FieldVersions fields;
  // Rows of mcp-memory before field versions: the version this one was made on top of. Read to
  // derive `fields` for such rows; never written any more.
  std::string prev_hlc;

  bool is_deleted() const { return deleted_at.has_value(); }
};

}  // namespace mcpmem
