// `replica follow`: a read-only local copy of a hub's database kept current from its Litestream
// replica (DESIGN §5.3). Litestream 0.3.13 has no follow mode, so each round rebuilds the copy:
// mirror the replica when it is an https:// URL (replica_mirror.h), skip the round when no
// replica file changed since the last one, else `litestream restore` into a new file beside
// the copy, check it (SQLite's integrity check, a memories table), switch it to
// rollback-journal mode, fsync it and rename it over the copy in one step.
// Why readers never see a torn file: the rename swaps whole files, a reader that opened the old
// one keeps reading it (its descriptor holds the old inode), and the copy is in rollback-journal
// mode while the follower's state file exists, so no reader writes a -wal, -shm or -journal that
// SQLite would apply to the next file (storage/database.h, follow_marker_path).
// The state file "<db>.follow" (JSON, mode 0600) names the follower while it runs:
//   {"from": "https://hub:8443/litestream/mcp-memory", "pid": 4242,
//    "started_at": "2026-12-07T01:00:00.000000Z", "cache": "/home/u/replica.db.mirror"}
// `from` is the URL or the replica directory's absolute path; `promote` reads it to stop the
// follower (SIGTERM: it finishes its round, removes the file and exits 0) and to find the store.
// Thread-safety: a ReplicaFollower is used from one thread.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "core/status.h"
#include "replication/replica_mirror.h"

namespace mcpmem {

// One `litestream restore` may take this long (about 1 s per 100 MB was measured).
inline constexpr std::chrono::minutes kFollowRestoreTimeout{10};

struct FollowOptions {
  std::string from;        // https:// URL of a hub's /litestream/<name>, or a replica directory
  std::string db_path;     // the copy kept current
  std::string cache_dir;   // where an https:// replica is mirrored ("" = "<db_path>.mirror")
  std::string litestream;  // the binary (replication/litestream.h find_litestream)
  MirrorOptions mirror;
};

struct FollowRound {
  bool changed = false;  // false: no replica file changed; the copy was left as it was
  int64_t memories = 0;  // alive memories in the copy (after this round)
  std::optional<double> newest_memory_at;        // its newest memory's creation time (Unix seconds)
  std::string newest_replica_file;               // relative path of the newest snapshot or WAL file
  std::optional<double> newest_replica_file_at;  // that file's time (Unix seconds)
  std::optional<double> lag_seconds;             // now - newest_replica_file_at
  int64_t files_fetched = 0;                     // https:// only
  int64_t bytes_fetched = 0;
  int64_t files_removed = 0;
};

class ReplicaFollower {
 public:
  explicit ReplicaFollower(FollowOptions options);

  // One round (see the top of this file). Errors name what failed: the mirror's
  // (replica_mirror.h), FailedPrecondition "holds no backup yet" for an empty replica or
  // "is open by a process that writes it" when the copy has a -wal/-shm beside it (someone
  // writes the replica: nothing is replaced), Corruption when the restored file fails its
  // check, IoError when Litestream fails. The copy is untouched by a failed round.
  Result<FollowRound> run_round();

  const FollowOptions& options() const { return options_; }

 private:
  Result<FollowRound> restore_and_swap(const std::string& replica_dir, FollowRound round);

  FollowOptions options_;
  std::string last_fingerprint_;  // names and sizes of the replica files last restored
};

// The follower's state file (see the top of this file).
struct FollowState {
  std::string from;
  int pid = 0;
  std::string started_at;  // ISO 8601 UTC
  std::string cache;       // the mirror directory ("" for a directory source)
};

std::string follow_state_path(const std::string& db_path);
// Writes the state file for this process. FailedPrecondition when a live process already
// follows onto db_path (its pid is named); a file left by a dead one is replaced.
Status write_follow_state(const std::string& db_path, const FollowState& state);
// The state file, or nullopt when there is none. InvalidArgument when it is not ours (bad JSON).
Result<std::optional<FollowState>> read_follow_state(const std::string& db_path);
void remove_follow_state(const std::string& db_path);

}  // namespace mcpmem
