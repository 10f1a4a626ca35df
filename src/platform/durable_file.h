// Files that appear whole or not at all, and stay after a power cut: written under a temporary
// name beside their final one, fsynced, then given the final name by one rename (or link) and
// the directory fsynced. Readers of the final name see the old file or the complete new one,
// never a torn one. Used for backups and restored databases, which hold every memory.
// Thread-safety: the functions are safe from many threads (each works on the names it is given).
#pragma once

#include <string>

#include "core/status.h"

namespace mcpmem {

// A name beside `path` for a temporary file: "<path>.partial-<pid>-<n>", unique among this
// machine's processes and this process's calls (two backups racing never share one).
std::string temporary_path_beside(const std::string& path);

// Removes the temporary files beside `path` (temporary_path_beside's) whose writer process is
// gone: a writer killed mid-way leaves one, and an index file's can be gigabytes.
void remove_abandoned_temporaries(const std::string& path);

// Flushes a file's contents to the disk (fsync). IoError naming the file when it fails.
Status sync_file(const std::string& path);
// Flushes a directory, so names created, renamed or removed in it survive a power cut.
Status sync_directory(const std::string& dir);

// Gives the complete file `temporary` the name `path` only when no file has that name:
// AlreadyExists then (nothing changed, `temporary` stays for the caller to remove). `temporary`
// is fsynced first, the directory after. Both names must be on one file system (same directory).
Status publish_new_file(const std::string& temporary, const std::string& path);

// Like publish_new_file, but an existing `path` is replaced in the same atomic step (rename).
Status replace_file(const std::string& temporary, const std::string& path);

// Gives the existing file `existing` a second name `link_path` (a hard link; AlreadyExists when
// `link_path` exists). The data is shared, not copied: a later replace of `existing` leaves it.
Status link_file(const std::string& existing, const std::string& link_path);

}  // namespace mcpmem
