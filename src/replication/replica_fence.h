// Who may replicate into a replica store. Litestream lets any database replicate into any
// directory; two databases replicating into one store (an old hub come back after a replica was
// promoted, or two machines pointed at the same NAS folder) leave generations from both, and a
// restore then picks whichever was written last: memories lost or resurrected. So the store
// carries a fence, `<replica dir>/mcp-memory-owner.json`: the database that owns it
// ({"owner": "<host>:<absolute db path>", "since": ISO time, "previous_owner": ...}). The first
// database to replicate into a store claims it; `mcp-memory promote` hands it to another; every
// start of replication, and every few seconds while it runs, checks that the claim is still ours
// and refuses (saying who took over and when) when it is not.
// Only directory replicas (a path or file:// URL, e.g. a NAS mount) carry a fence; others are
// reported by fence_directories() so callers can warn. Thread-safety: no state is kept.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "replication/litestream_config.h"

namespace mcpmem {

inline constexpr const char* kFenceFileName = "mcp-memory-owner.json";

struct ReplicaFence {
  std::string owner;  // "<host>:<absolute db path>"
  std::string since;  // ISO 8601 UTC
  std::string previous_owner;
};

// This database's name in a fence.
std::string fence_owner_name(const std::string& host_name, const std::string& db_path);

// The directory of a file replica ("" for s3://, sftp://, ...).
std::string replica_directory(const LitestreamReplica& replica);

// The fence of the store at `dir`, nullopt when it has none. Corruption for a fence that
// cannot be read as one (never taken as "no fence").
Result<std::optional<ReplicaFence>> read_fence(const std::string& dir);

// Claims `dir` for `owner` when it has no fence; OK when `owner` holds it already;
// FailedPrecondition naming the holder, since when, and what to do, when another does.
Status claim_or_check_fence(const std::string& dir, const std::string& owner);

// Hands `dir` to `owner` (promote), whoever held it; returns the previous holder ("" if none).
Result<std::string> take_over_fence(const std::string& dir, const std::string& owner);

}  // namespace mcpmem
