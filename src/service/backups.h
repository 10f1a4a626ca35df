// Backups of the database into MCP_MEMORY_BACKUPS_PATH, as the Python service keeps them:
// files memory_backup_YYYYMMDD_HHMMSS.db (UTC), each a complete standalone SQLite file made
// with the online backup API while writers go on. After each new backup, backups older than
// backup_retention_days and beyond backup_max_count (oldest first) are removed. A schedule
// (hourly, daily, weekly) makes one when the newest is older than the interval.
// Thread-safety: safe from many threads.
#pragma once

#include <condition_variable>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/thread_annotations.h"
#include "service/memory_service.h"

namespace mcpmem {

struct BackupInfo {
  std::string filename;
  std::string path;
  int64_t size_bytes = 0;
  double created_at = 0;        // Unix seconds (from the name)
  double duration_seconds = 0;  // of making it (create() only)
};

struct BackupStatus {
  bool enabled = false;
  std::string interval;
  int retention_days = 0;
  int max_count = 0;
  size_t backup_count = 0;
  int64_t total_size_bytes = 0;
  std::optional<double> last_backup_time;  // Unix seconds
  std::optional<double> next_backup_at;    // when the schedule runs
  bool scheduler_running = false;
  std::string backup_directory;
};

class Backups {
 public:
  Backups(MemoryService& service, const Config& config);
  ~Backups();  // stops the schedule

  Result<BackupInfo> create() MCP_EXCLUDES(mu_);
  std::vector<BackupInfo> list() const;  // newest first
  BackupStatus status() const;

  // Runs the schedule on its own thread until stop() (nothing when backups are disabled).
  void start_schedule();
  void stop() MCP_EXCLUDES(mu_);

 private:
  double interval_seconds() const;
  void prune() MCP_REQUIRES(mu_);

  MemoryService& service_;
  const Config config_;
  mutable Mutex mu_;            // one backup at a time; guards the schedule state
  std::condition_variable cv_;  // stopping_ was set
  bool scheduled_ MCP_GUARDED_BY(mu_) = false;
  bool stopping_ MCP_GUARDED_BY(mu_) = false;
  double last_made_ MCP_GUARDED_BY(mu_) = 0;  // second and sequence of the last backup made here
  int last_sequence_ MCP_GUARDED_BY(mu_) = 0;
  std::thread scheduler_;  // started and joined by the owner's thread
};

}  // namespace mcpmem
