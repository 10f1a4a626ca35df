// The JSON of one version of a memory as it travels between machines: a record of the Python
// service's export format (content, content_hash, tags, created_at, updated_at, memory_type,
// metadata, then export_source and embedding when the writer adds them) plus our sync keys
// (hlc, origin, prev_hlc, deleted_at), which the Python importer ignores. Export files, import
// and the hub's push/pull all use it, so a record means the same everywhere.
#pragma once

#include <optional>
#include <span>
#include <string>

#include "core/status.h"
#include "service/memory_service.h"
#include "service/wire_json.h"

namespace mcpmem {

// The record of `m` (no export_source, no embedding: callers append those).
OJson version_json(const Memory& m);

// Adds `vector` to a record as the sync wire carries it: "vector", the float32 values little-
// endian in base64 (about half the bytes of a JSON list, and exact). Only between nodes whose
// model is the same (the message names it in "embedding_model").
void add_vector(OJson& record, std::span<const float> vector);

struct VersionParseOptions {
  bool verify_hash = true;  // a content_hash that is not the content's hash is an error
  // > 0: keep "embedding" lists (export files) and "vector"s (sync) of this many floats. A
  // vector that is not of unit length or not finite is dropped (the memory is embedded here).
  size_t embedding_dimension = 0;
  std::string default_origin;  // origin of records without one (the file's source machine)
};

// A sync conflict as `sync conflicts --json`, GET /api/sync/conflicts and the sync wire carry
// it: {id, uid, content_hash, detected_at, source, winner, loser, fields, differs,
// resolved_at, resolution, resolved_by}, the two versions as objects (version_json), times as
// ISO strings, null while unresolved. `fields` are what the loser lost when it was recorded;
// `differs` is what the loser holds that the winner does not: "content", "tags" (one the
// winner lacks), "memory_type", "metadata.<key>", "deleted" (one is deleted, the other not).
OJson conflict_record_json(const ConflictRecord& c);
// Reads one back (a pushed or pulled conflict; `id` is the sender's and is ignored).
Result<ConflictRecord> parse_conflict(const Json& j);

// ApplyCounts as the hub's push reply and `import --json` print them, and back.
OJson apply_counts_json(const ApplyCounts& counts);
ApplyCounts apply_counts_from_json(const Json& j);

// Reads one record (an element of "memories" or "tombstones"; also the Python dashboard's
// MemoryResponse). Errors name the field: "field 'created_at': expected a number".
Result<IncomingVersion> parse_version(const Json& j, const VersionParseOptions& options);

}  // namespace mcpmem
