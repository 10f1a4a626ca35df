// Backups of the database into MCP_MEMORY_BACKUPS_PATH, as the Python service keeps them:
// files memory_backup_YYYYMMDD_HHMMSS.db (UTC), each a complete standalone SQLite file made
// with the online backup API while writers go on (what they committed before it began is in
// it, WAL included), owner-only, fsynced, and named only once complete. With encryption
// (Config::backup_encrypt) they are memory_backup_YYYYMMDD_HHMMSS.db.enc instead: the same
// database sealed by core/encrypted_stream.h; its plaintext exists only for the moment of
// sealing, beside the live database (which holds the same data), never in the backups folder.
// After each new backup, backups older than backup_retention_days and beyond
// backup_max_count (oldest first, encrypted or not) are removed; the newest always stays. A
// schedule (hourly, daily, weekly) makes one when the newest is older than the interval.
// Restoring one: service/backup_restore.h. Thread-safety: safe from many threads.
#pragma once

#include <condition_variable>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/thread_annotations.h"
#include "service/backup_restore.h"
#include "service/memory_service.h"

namespace mcpmem {

struct BackupInfo {
  std::string filename;
  std::string path;
  int64_t size_bytes = 0;
  double created_at = 0;        // Unix seconds (from the name)
  double duration_seconds = 0;  // of making it (create() only)
  bool encrypted = false;       // a .db.enc file
  // Alive memories in it and the newest one's creation time: create() fills them, and
  // describe_backup() for a backup that is not encrypted (they are inside the encryption).
  std::optional<int64_t> memory_count;
  std::optional<double> newest_memory_at;
};

// The backups in `dir` (memory_backup_*.db and *.db.enc; other files are not ours), newest
// first, without opening them. None when `dir` does not exist.
std::vector<BackupInfo> list_backups(const std::string& dir);
// Fills memory_count and newest_memory_at of a backup that is not encrypted by reading it
// (read-only); the error when it cannot be read. An encrypted one is left as it is.
Status describe_backup(BackupInfo& backup);

// The passphrase of encrypted backups: Config::backup_passphrase, else the contents of
// Config::backup_passphrase_file without its trailing newline; nullopt when neither is set.
// Errors: the file cannot be read (NotFound/IoError), or the passphrase is empty
// (InvalidArgument). Warns when the file is readable by others.
Result<std::optional<std::string>> backup_passphrase(const Config& config);

struct BackupStatus {
  bool enabled = false;
  std::string interval;
  int retention_days = 0;
  int max_count = 0;
  bool encrypt = false;  // new backups are encrypted
  size_t backup_count = 0;
  int64_t total_size_bytes = 0;
  std::optional<double> last_backup_time;  // Unix seconds
  std::optional<double> next_backup_at;    // when the schedule runs
  bool scheduler_running = false;
  std::string backup_directory;
};

class Backups {
 public:
  // Backups of `service`'s database into config.backups_path, encrypted when
  // config.backup_encrypt, kept by config.backup_retention_days and backup_max_count.
  Backups(MemoryService& service, const Config& config);
  ~Backups();  // stops the schedule

  // FailedPrecondition (saying what to set) when backups must be encrypted but no passphrase
  // can be read: a server checks this at start rather than fail at its first backup.
  Status check_settings() const;

  // Makes a backup now, then removes those the retention rules no longer keep. The result
  // holds its memory count. Errors: the passphrase (see check_settings), disk (IoError).
  Result<BackupInfo> create() MCP_EXCLUDES(mu_);
  std::vector<BackupInfo> list() const;  // newest first
  BackupStatus status() const;
  // The backup list() shows under `filename`; NotFound for any other name (paths included).
  Result<BackupInfo> find(const std::string& filename) const;
  // Restores that backup into a new file beside the backups, restored_<time>.db, checked as
  // `mcp-memory restore` checks it; the live database is never touched. Encrypted ones use
  // the configured passphrase.
  Result<RestoreReport> restore_to_new_file(const std::string& filename) const;

  // Runs the schedule on its own thread until stop() (nothing when backups are disabled).
  void start_schedule();
  void stop() MCP_EXCLUDES(mu_);

 private:
  double interval_seconds() const;
  // Writes the backup named `path`: AlreadyExists when another process took that name first.
  Status write_backup(const std::string& path, const std::optional<std::string>& passphrase,
                      BackupInfo& info);
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
