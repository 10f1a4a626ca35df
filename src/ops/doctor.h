// `mcp-memory doctor`: checks one node's database and surroundings, and with fix set repairs
// what is safe to repair while servers and Litestream may be running:
//   database     the file opens and is a memory database
//   wal_mode     journal_mode is WAL (fix: switch it; needs nobody else to hold the file)
//   integrity    PRAGMA integrity_check is "ok" (Litestream's _litestream_* tables are expected)
//   wal_backlog  the -wal file is not growing without checkpoints (fix: a PASSIVE checkpoint)
//   disk_space   the database's file system has room for it to grow and checkpoint
//   file_modes   data files 0600, data directories 0700 (fix: remove group and other bits)
//   replication  with a Litestream configuration: Litestream is found, each file replica of
//                this database has a generation
//   index        every alive memory has a vector (what the search index is built from) and no
//                vector is left without its memory
// Each check ends ok, warn or fail; `doctor` exits 1 when one fails.
// Thread-safety: one thread.
#pragma once

#include <string>
#include <vector>

#include "core/config.h"

namespace mcpmem {

// A WAL past this means checkpoints are not keeping up (ours start at 8000 pages, ~64 MiB).
inline constexpr int64_t kWalBacklogWarnBytes = 256ll << 20;
// Less free space than this, or than the database's own size, and a checkpoint or VACUUM may
// fail for lack of room.
inline constexpr int64_t kMinFreeDiskBytes = 256ll << 20;
inline constexpr double kWarnFreeDiskFraction = 0.05;

enum class CheckOutcome { kOk, kWarn, kFail };
// "ok", "warn", "fail".
const char* check_outcome_name(CheckOutcome outcome);

struct DoctorCheck {
  std::string name;  // "wal_mode", ...
  CheckOutcome outcome = CheckOutcome::kOk;
  std::string detail;  // one line: what was found, and what to do when not ok
  bool fixed = false;  // --fix changed something
};

struct DoctorOptions {
  bool fix = false;
  // A litestream.yml to check replicas of; "" looks for the one `replicate --replica`
  // writes (<base_dir>/litestream.yml) and skips the check when there is none.
  std::string litestream_config;
};

// Runs every check in the order above. A database that cannot be opened fails `database`
// and skips the checks that read it.
std::vector<DoctorCheck> run_doctor(const Config& config, const DoctorOptions& options);

}  // namespace mcpmem
