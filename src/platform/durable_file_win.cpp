// Durable files on Windows. FlushFileBuffers is fsync. A rename is MoveFileExW with
// MOVEFILE_WRITE_THROUGH, which returns once the new name is on disk (NTFS journals its
// metadata), so there is no directory to sync. CreateHardLinkW fails with ERROR_ALREADY_EXISTS
// instead of replacing, as link(2) does.
#include <algorithm>
#include <filesystem>

#include "platform/durable_file.h"
#include "platform/windows_text.h"

namespace mcpmem {

Status sync_file(const std::string& path) {
  // FlushFileBuffers needs write access; sharing everything lets the writer keep its handle.
  UniqueHandle file(CreateFileW(widen(path).c_str(), GENERIC_WRITE,
                                FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr,
                                OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr));
  if (!file.valid()) {
    return Status::io_error("opening file " + path + " to sync it: " + windows_error_text());
  }
  if (!FlushFileBuffers(file.get())) {
    return Status::io_error("syncing " + path + ": " + windows_error_text());
  }
  return Status::ok();
}

Status sync_directory(const std::string&) { return Status::ok(); }

Status replace_file(const std::string& temporary, const std::string& path) {
  MCP_RETURN_IF_ERROR(sync_file(temporary));
  const std::wstring from = widen(temporary), to = widen(path);
  constexpr DWORD kFlags = MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH;
  DWORD err = 0;
  // Up to about 2 s in all: an antivirus scanner or the indexer holds a file that long.
  for (int attempt = 1; attempt <= 20; ++attempt) {
    if (MoveFileExW(from.c_str(), to.c_str(), kFlags)) return Status::ok();
    err = GetLastError();
    if (err != ERROR_ACCESS_DENIED && err != ERROR_SHARING_VIOLATION) break;
    // Windows will not replace a file that is mapped (a reader's vector index), but it renames
    // one that was opened sharing delete. So: the old file aside under a temporary's name (its
    // readers keep their view; remove_abandoned_temporaries deletes it once we are gone if
    // Windows cannot now), then the new one into place. Between the two renames the name is
    // missing for a moment: a reader then finds no file and rebuilds, as with a damaged one.
    // Another writer doing the same, or a scanner holding the file, is why it tries again.
    const std::wstring aside = widen(temporary_path_beside(path));
    if (MoveFileExW(to.c_str(), aside.c_str(), MOVEFILE_WRITE_THROUGH)) {
      const bool placed = MoveFileExW(from.c_str(), to.c_str(), kFlags);
      if (!placed) err = GetLastError();
      if (placed || !MoveFileExW(aside.c_str(), to.c_str(), MOVEFILE_WRITE_THROUGH)) {
        DeleteFileW(aside.c_str());
      }
      if (placed) return Status::ok();
    }
    Sleep(std::min(10 * attempt, 150));
  }
  return Status::io_error("renaming " + temporary + " to " + path + ": " + windows_error_text(err));
}

Status link_file(const std::string& existing, const std::string& link_path) {
  if (CreateHardLinkW(widen(link_path).c_str(), widen(existing).c_str(), nullptr)) {
    return Status::ok();
  }
  const DWORD err = GetLastError();
  if (err == ERROR_ALREADY_EXISTS || err == ERROR_FILE_EXISTS) {
    return Status::already_exists(link_path + " already exists");
  }
  return Status::io_error("naming " + existing + " also " + link_path + ": " +
                          windows_error_text(err));
}

}  // namespace mcpmem
