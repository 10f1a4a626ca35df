// The text half of the MCP tools' replies. Some clients pass an agent only the text (they drop
// structuredContent), so the text carries what the next call needs, in one compact form for a
// memory in every reply (search, list, update, duplicate stores):
//
//   1. Deploys happen on Tuesdays
//      hash: 5c1e…(64 hex) | type: decision | tags: ops, release | created: 2026-12-01T10:00:00Z |
//      score: 0.83
//
// and plain `key: value` lines where a reply is a record (stats, health, sync status), never
// JSON as text. Pure functions; safe from many threads.
#pragma once

#include <optional>
#include <string>

#include "core/memory.h"

namespace mcpmem {

// One memory: "<number>. <content>" (later lines of the content indented 3 spaces, so the
// block stays one item), then "   hash: H | type: T | tags: a, b | created: ISO" with
// " | score: 0.83" when given; an empty type is left out, as are tags when there are none.
// Creation time in whole seconds, UTC.
std::string memory_block(const Memory& m, size_t number,
                         std::optional<double> score = std::nullopt);

// "key: value" lines of a JSON object, in its order: nested objects as "outer.inner: value",
// lists of objects as "list.1.key: value", other lists joined by ", ", null as "none", numbers
// under keys that name a time ("..._at", "last_...") as ISO UTC, booleans as true/false.
// Takes the ordered JSON the service renders records in (service/wire_json.h's OJson).
std::string key_value_lines(const nlohmann::ordered_json& object, const std::string& prefix = "");

}  // namespace mcpmem
