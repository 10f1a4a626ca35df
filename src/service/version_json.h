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

struct VersionParseOptions {
  bool verify_hash = true;         // a content_hash that is not the content's hash is an error
  size_t embedding_dimension = 0;  // > 0: keep "embedding" arrays of this size
  std::string default_origin;      // origin of records without one (the file's source machine)
};

// A sync conflict as `sync conflicts --json` and GET /api/sync/conflicts print it: {id,
// content_hash, detected_at, source, winner, loser, resolved_at, resolution}, the two versions
// as objects (version_json), times as ISO strings, null while unresolved.
OJson conflict_record_json(const ConflictRecord& c);

// ApplyCounts as the hub's push reply and `import --json` print them, and back.
OJson apply_counts_json(const ApplyCounts& counts);
ApplyCounts apply_counts_from_json(const Json& j);

// Reads one record (an element of "memories" or "tombstones"; also the Python dashboard's
// MemoryResponse). Errors name the field: "field 'created_at': expected a number".
Result<IncomingVersion> parse_version(const Json& j, const VersionParseOptions& options);

}  // namespace mcpmem
