// Where each Litestream replica stands: its newest generation, the last position shipped and
// when, how far it lags behind the database, its size and the last error. A directory replica
// is read from the directory (exact file times; unambiguous when two replicas share a name, as
// the guide's two unnamed `type: file` replicas do); others the way Litestream reads them
// (`litestream snapshots|wal -config`, times in whole seconds).
// Lag: 0 while the database has not changed since the newest shipped segment; otherwise the
// time since that segment (it grows while Litestream is down and writes wait, which is what
// an alert needs; Litestream's own `generations` lag stops growing then).
// ReplicationMonitor keeps the figures for a server: computed at most once per second (a read
// may run Litestream twice per database), safe from many threads.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/thread_annotations.h"
#include "replication/litestream.h"
#include "replication/litestream_config.h"

namespace mcpmem {

struct ReplicaStatus {
  std::string db_path;
  std::string name;                          // Litestream's name: `name:`, else the type
  std::string where;                         // the directory or URL
  std::string generation;                    // newest generation, "" before the first sync
  std::string position;                      // "generation/index:offset" of the newest segment
  std::optional<double> last_replicated_at;  // Unix seconds
  std::optional<double> lag_seconds;         // nullopt when nothing was shipped yet
  int64_t size_bytes = 0;                    // snapshots and WAL segments, every generation
  int generations = 0;
  int snapshots = 0;
  int wal_segments = 0;
  std::string last_error;  // reading the replica failed, or Litestream reported an error
};

// The status of every replica of every database in `config` (read from `config_path`), at
// time `now`. An error only when Litestream cannot be run at all; a replica that cannot be
// read has last_error set.
Result<std::vector<ReplicaStatus>> read_replica_status(const std::string& litestream_binary,
                                                       const std::string& config_path,
                                                       const LitestreamConfig& config, double now);

// A replica's name as Litestream gives it: its `name:` setting, else its type (from the URL's
// scheme when only a URL is written).
std::string replica_name(const LitestreamReplica& replica);

class ReplicationMonitor {
 public:
  // `supervisor` may be null (Litestream runs as its own service); it must outlive this.
  ReplicationMonitor(std::string litestream_binary, std::string config_path,
                     LitestreamConfig config, const LitestreamSupervisor* supervisor);

  struct Report {
    std::string config_path;
    bool supervised = false;  // run by this process
    bool running = false;     // supervised and running now
    int restarts = 0;
    std::string supervisor_error;  // the last error line Litestream logged, if any
    std::vector<ReplicaStatus> replicas;
    double max_lag_seconds = 0;
  };
  Report report() const MCP_EXCLUDES(mu_);

 private:
  const std::string binary_;
  const std::string config_path_;
  const LitestreamConfig config_;
  const LitestreamSupervisor* supervisor_;
  mutable Mutex mu_;
  mutable std::optional<Report> cached_ MCP_GUARDED_BY(mu_);
  mutable std::chrono::steady_clock::time_point cached_at_ MCP_GUARDED_BY(mu_);
};

}  // namespace mcpmem
