// Restoring a database from a Litestream replica (`restore --from`, DESIGN §5.3): the replica as
// of its newest sync, or as of a point in time, rebuilt by `litestream restore` into a fresh
// file beside the target, then checked and renamed into place by the same steps as a backup
// restore (service/backup_restore.h). Whatever fails, nothing is left at or beside the target.
// The Litestream we ship (0.3.13) reads directories and file://, s3://, gcs://, abs:// and
// sftp:// replicas; an http(s):// replica (a hub serving its replica directory) is mirrored into
// a local directory first (replication/replica_mirror.h; `restore --from` does that).
// Thread-safety: the functions keep no state; two restores to one target race like two renames.
#pragma once

#include <chrono>
#include <string>

#include "core/status.h"
#include "service/backup_restore.h"

namespace mcpmem {

// How long one `litestream restore` may take before it is killed (a 100k-memory replica on a
// local disk takes about a second; a slow S3 or SFTP link much longer).
inline constexpr std::chrono::minutes kReplicaRestoreTimeout{30};

struct ReplicaSource {
  std::string url;        // a replica directory, or file://, s3://, gcs://, abs://, sftp:// URL
  std::string timestamp;  // RFC3339 point in time (e.g. 2026-12-07T01:00:00Z); "" = the newest
};

// The URL `litestream restore` is given for `source`: a plain path becomes the absolute
// file:// URL of that directory (Litestream would resolve a relative one against its own
// working directory), a URL it reads is kept as written. InvalidArgument for http(s):// (mirror
// it first) and for schemes Litestream does not know.
Result<std::string> local_replica_url(const ReplicaSource& source);

// Restores the replica to target.path with `litestream_binary` (find_litestream). Errors:
// NotFound "no replica at URL (no generations)" (an empty or missing replica), NotFound when
// the replica holds nothing as old as source.timestamp, InvalidArgument for a timestamp that is
// not RFC3339 or a URL it cannot read, IoError with Litestream's last log line for anything
// else it reports (credentials, network), and install_restored_database's errors (Corruption,
// AlreadyExists without force, FailedPrecondition while the target is open elsewhere).
Result<RestoreReport> restore_from_replica(const std::string& litestream_binary,
                                           const ReplicaSource& source,
                                           const RestoreTarget& target);

}  // namespace mcpmem
