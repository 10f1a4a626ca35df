// Who may read our files, on Windows (see file_modes.h): there is no umask; a directory we make
// gets an owner-only DACL that what is made inside inherits, so the database, its WAL, backups
// and keys in it are owner-only as they are created. An existing file or directory that others
// can read gets that DACL instead of its own.
#include <filesystem>
#include <vector>

#include "platform/file_modes.h"
#include "platform/windows_security.h"

namespace mcpmem {

void make_new_files_private() {}

Status create_private_directories(const std::string& dir) {
  namespace fs = std::filesystem;
  std::vector<fs::path> missing;  // the levels this call creates, deepest first
  std::error_code ec;
  for (fs::path p = fs::path(widen(dir)); !p.empty() && !fs::exists(p, ec); p = p.parent_path()) {
    missing.push_back(p);
    if (p == p.parent_path()) break;
  }
  fs::create_directories(fs::path(widen(dir)), ec);
  if (ec) return Status::io_error("cannot create directory " + dir + ": " + ec.message());
  const OwnerOnlySecurity security(true);
  for (const fs::path& p : missing) {
    MCP_RETURN_IF_ERROR(security.apply(narrow(p.native())));
  }
  return Status::ok();
}

std::optional<std::string> tighten_to_owner(const std::string& path) {
  std::error_code ec;
  const std::filesystem::path wide(widen(path));
  if (!std::filesystem::exists(wide, ec) || !readable_by_others(path)) return std::nullopt;
  const OwnerOnlySecurity security(std::filesystem::is_directory(wide, ec));
  if (!security.apply(path).is_ok()) return std::nullopt;
  return "restricted access to " + path + " to its owner (it was readable by other users)";
}

}  // namespace mcpmem
