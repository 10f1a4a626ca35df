// Restoring a database: a source writes a complete database file (the candidate) beside the
// target path; install_restored_database then checks it (SQLite's integrity check, a memories
// table, a schema this binary can open, migrating an older one) and renames it over the target
// in one atomic step. Whatever fails, the target is left exactly as it was and the candidate is
// removed: a wrong passphrase or a damaged backup writes nothing at the target.
// Sources: our backup files (restore_from_backup, encrypted or not); a Litestream replica uses
// the same check_restore_target / restore_candidate_path / install_restored_database steps.
// The server must be stopped: a target that another process has open is refused (best effort,
// see Database::file_in_use). Thread-safety: the functions keep no state.
#pragma once

#include <optional>
#include <string>

#include "core/status.h"

namespace mcpmem {

struct RestoreTarget {
  std::string path;    // the database file to (re)create
  bool force = false;  // replace an existing database (kept as previous_kept_as)
};

struct RestoreReport {
  std::string path;
  int64_t memories = 0;                    // alive memories restored
  std::optional<double> newest_memory_at;  // the newest one's creation time (Unix seconds)
  bool integrity_checked = true;           // false: a sqlite-vec table could not be checked
  bool decrypted = false;                  // the source was an encrypted backup
  // With force: the database that was at the path, still whole under this name ("" if none).
  std::string previous_kept_as;
};

// Fails before any work is done when the target must not be written: it exists and !force
// (AlreadyExists), or another process has it open (FailedPrecondition: stop the server).
Status check_restore_target(const RestoreTarget& target);

// A fresh name beside target.path for a source to write its candidate to (same file system, so
// the final rename is atomic).
std::string restore_candidate_path(const RestoreTarget& target);

// Checks `candidate` and renames it over target.path (see the top of this file). Errors:
// Corruption (not a database, no memories table, integrity check failed), FailedPrecondition
// (written by a newer mcp-memory; the target is open elsewhere), AlreadyExists, IoError. The
// candidate is gone afterwards either way.
Result<RestoreReport> install_restored_database(const std::string& candidate,
                                                const RestoreTarget& target);

// Restores `backup_file` (one of ours: a database file, or an encrypted one, told apart by its
// first bytes, not its name) to the target. `passphrase` is needed only for an encrypted one
// (FailedPrecondition without it). A wrong passphrase or a damaged file fails with the
// message of decrypt_stream ("wrong passphrase or damaged file", "damaged file: ...").
Result<RestoreReport> restore_from_backup(const std::string& backup_file,
                                          const RestoreTarget& target,
                                          const std::optional<std::string>& passphrase);

}  // namespace mcpmem
