// Who may read our files. The database (and its -wal and -shm), backups, exports and keys hold
// every memory or a secret: they are their owner's alone (0600), and so are the directories
// we keep them in (0700). New files get that from the process umask, set first thing in main;
// files made before (by an older version, or another program) are tightened when opened.
#pragma once

#include <optional>
#include <string>

#include "core/status.h"

namespace mcpmem {

// Sets the process umask to 077: every file and directory created afterwards, by us, SQLite or a
// library, is owner-only. Process-wide: call once, at start, before any file is created.
void make_new_files_private();

// create_directories, and every directory it created gets mode 0700 whatever the umask.
Status create_private_directories(const std::string& dir);

// Removes every group and other permission of an existing file or directory (0644 -> 0600,
// 0755 -> 0700). Returns "tightened mode of <path> from 0644 to 0600" when it changed the mode,
// for the caller to log; nullopt when `path` does not exist, was private already, or could not
// be changed (not ours: the error that matters comes when it is opened).
std::optional<std::string> tighten_to_owner(const std::string& path);

}  // namespace mcpmem
