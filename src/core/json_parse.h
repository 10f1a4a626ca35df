// The one way JSON from outside the process is parsed: request bodies, MCP messages, sync
// replies, embedder replies, model files and listings. nlohmann's dump(), copy and comparison
// recurse once per nesting level, so a 120 KB body of `[[[[...` 60,000 deep overflowed the
// stack wherever it was later copied or printed. parse_json() refuses input nested deeper than
// kMaxJsonDepth while it parses (before the deep tree exists), and never throws.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "core/status.h"

namespace mcpmem {

// Containers (arrays and objects) nested inside each other, counting the outermost as 1. Every
// format we read (memories with metadata, JSON-RPC, sync batches, model configs) needs fewer
// than 10; 64 leaves room for callers' metadata and keeps any recursion over the tree to a few
// kilobytes of stack.
inline constexpr int kMaxJsonDepth = 64;

// The message of every refusal, so front ends and tests name the limit the same way.
inline constexpr std::string_view kJsonTooDeep = "JSON nested deeper than 64 levels";

// Parses `text` as one JSON value. `what` names the input in errors ("the request body").
// InvalidArgument "<what> is not valid JSON (<where>)" or "<what> is JSON nested deeper than
// 64 levels". Safe from many threads.
Result<nlohmann::json> parse_json(std::string_view text, std::string_view what);
Result<nlohmann::ordered_json> parse_ordered_json(std::string_view text, std::string_view what);

// True when `s` is the refusal of parse_json for nesting (not for malformed text).
bool is_json_too_deep(const Status& s);

}  // namespace mcpmem
